import type Database from 'better-sqlite3';
import type { StoredRecord } from '../../core/records/record.js';

export interface ListAnswer {
  readonly rows: StoredRecord[];
  readonly seq: number;
}

/** Entries kept; the least recently used goes first. */
const MAX_ENTRIES = 512;
/** Total size of the stored JSON kept, and the largest single answer kept. */
const MAX_BYTES = 32 * 1024 * 1024;
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** How often the cache asks SQLite whether another process changed the file. */
const FOREIGN_CHECK_MS = 1000;

/**
 * Answers of list queries on the read connection, kept until the data changes.
 * Sigil on SQLite is one process: its writer tells the cache about every
 * commit (`changed()`, called in the same tick as the COMMIT, so no read can
 * see the new data while the cache still holds the old). Writes by another
 * process (an operator's `sqlite3` shell) are caught by `PRAGMA data_version`,
 * asked at most once a second — it costs a read transaction (~10 µs here), as
 * much as the rest of a cached answer. Any change empties the whole cache:
 * coarse, but free of per-collection bookkeeping; read-mostly data, the common
 * case for lists, is then answered from memory.
 *
 * A hit returns the same frozen object as the miss that filled it, so the
 * layers above can remember what they derived from it (see `record-service`).
 */
export class ListCache {
  private readonly entries = new Map<string, { answer: ListAnswer; bytes: number }>();
  private readonly dataVersion: Database.Statement<[], number>;
  private version = -1;
  private checkedAt = -Infinity;
  private generation = 0;
  private entriesGeneration = 0;
  private bytes = 0;

  constructor(db: Database.Database) {
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** This process committed a change: every answer may be out of date. */
  changed(): void {
    this.generation++;
  }

  /** The cached answer to `key`, else `load()`'s (kept when small enough). */
  answer(key: string, load: () => ListAnswer): ListAnswer {
    const now = Date.now();
    if (now - this.checkedAt >= FOREIGN_CHECK_MS) {
      const version = this.dataVersion.get()!;
      this.checkedAt = now;
      if (version !== this.version) {
        this.version = version;
        this.generation++;
      }
    }
    if (this.entriesGeneration !== this.generation) {
      this.entries.clear();
      this.bytes = 0;
      this.entriesGeneration = this.generation;
    }
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.answer;
    }
    const answer = Object.freeze(load());
    Object.freeze(answer.rows);
    let bytes = key.length;
    for (const row of answer.rows) bytes += row.dataJson.length + 128;
    if (bytes <= MAX_ANSWER_BYTES) {
      this.entries.set(key, { answer, bytes });
      this.bytes += bytes;
      for (const [oldest, entry] of this.entries) {
        if (this.entries.size <= MAX_ENTRIES && this.bytes <= MAX_BYTES) break;
        this.entries.delete(oldest);
        this.bytes -= entry.bytes;
      }
    }
    return answer;
  }
}

/** A cache key for `sql` run with `params` (scalars; bigint included, which JSON cannot write). */
export function listCacheKey(sql: string, params: readonly unknown[]): string {
  let key = sql;
  for (const p of params) key += `\u0000${typeof p}:${String(p)}`;
  return key;
}
