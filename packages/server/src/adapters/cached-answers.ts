import type { StoredRecord } from '../core/records/record.js';
import type { RecordPage } from '../core/storage/store.js';

/**
 * What the read caches of both engines share (sqlite/sqlite-read-cache.ts,
 * postgres/postgres-read-cache.ts): keys, sizes, frozen answers and an LRU
 * map under a byte budget.
 */
export type ListAnswer = RecordPage;

/** A cache key for `sql` run with `params` (scalars; bigint included, which JSON cannot write). */
export function listCacheKey(sql: string, params: readonly unknown[]): string {
  let key = sql;
  for (const p of params) key += `\u0000${typeof p}:${String(p)}`;
  return key;
}

export const recordKey = (collection: string, id: string): string => `${collection}\u0000${id}`;
export const recordBytes = (r: StoredRecord): number => r.dataJson.length + 160;
export const answerBytes = (a: ListAnswer): number => a.rows.reduce((sum, r) => sum + recordBytes(r), 64);

export function deepFreeze(answer: ListAnswer): ListAnswer {
  for (const row of answer.rows) Object.freeze(row);
  Object.freeze(answer.rows);
  return Object.freeze(answer);
}

/** A Map kept under a count and a byte budget by dropping the least recently used. */
export class LruMap<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  get(key: string): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
    this.map.delete(key);
    this.map.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` unless it alone is over a tenth of the budget; returns it. */
  keep(key: string, value: V, size: (v: V) => number): V {
    const bytes = key.length + size(value);
    if (bytes > this.maxBytes / 10) return value;
    this.delete(key);
    this.map.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.map.delete(oldest);
      this.bytes -= entry.bytes;
    }
    return value;
  }

  delete(key: string): void {
    const entry = this.map.get(key);
    if (entry === undefined) return;
    this.map.delete(key);
    this.bytes -= entry.bytes;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
