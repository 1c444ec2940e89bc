import type Database from 'better-sqlite3';
import type { StoredRecord } from '../../core/records/record.js';
import { LruMap, answerBytes, deepFreeze, recordBytes, recordKey, type ListAnswer } from '../cached-answers.js';

export { listCacheKey, type ListAnswer } from '../cached-answers.js';

/** How often the cache asks SQLite whether another process changed the file. */
const FOREIGN_CHECK_MS = 1000;

/**
 * Record reads answered from memory while the data they came from is unchanged.
 *
 * Sigil on SQLite is one process, so its writer knows every change: record
 * writes report their key (`touched`), and when the transaction ends
 * (`writeEnded`, in the same tick as the COMMIT, so no read can see new data
 * while the cache still holds the old) those records and every list answer
 * are dropped. A change of a collection's table drops everything. Writes by
 * another process (an operator's `sqlite3` shell) are caught by
 * `PRAGMA data_version`, asked at most once a second: it costs a read
 * transaction (~10 µs here), as much as a whole cached answer.
 *
 * Answers are frozen and a hit returns the same object as the miss that
 * filled it, so the layers above can remember what they derived from it.
 */
export class ReadCache {
  private readonly lists: LruMap<ListAnswer>;
  private readonly records: LruMap<StoredRecord>;
  private readonly dataVersion: Database.Statement<[], number>;
  private touchedKeys: string[] = [];
  private touchedTables = false;
  private version = -1;
  private checkedAt = -Infinity;

  /**
   * `db`: the read connection (data_version moves on other connections'
   * commits). `budgetBytes`: a quarter for list answers, the rest for records.
   */
  constructor(db: Database.Database, budgetBytes: number) {
    this.lists = new LruMap(1024, budgetBytes / 4);
    this.records = new LruMap(1_000_000, budgetBytes - budgetBytes / 4);
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** The cached list answer for `key`, else `load()`'s. */
  list(key: string, load: () => ListAnswer): ListAnswer {
    this.checkForeign();
    return this.lists.get(key) ?? this.lists.keep(key, deepFreeze(load()), answerBytes);
  }

  /** The cached record, else `load()`'s (absent records are not kept). */
  record(collection: string, id: string, load: () => StoredRecord | null): StoredRecord | null {
    this.checkForeign();
    const key = recordKey(collection, id);
    const hit = this.records.get(key);
    if (hit !== undefined) return hit;
    const row = load();
    return row === null ? null : this.records.keep(key, Object.freeze(row), recordBytes);
  }

  /** A write statement changed this record; it is dropped when the transaction ends. */
  touched(collection: string, id: string): void {
    this.touchedKeys.push(recordKey(collection, id));
  }

  /** A collection's table is being created, changed or dropped: everything goes when the transaction ends. */
  touchedTable(): void {
    this.touchedTables = true;
  }

  /** A write (or a transaction) ended, committed or not: what it touched, and every list answer, go. */
  writeEnded(): void {
    if (this.touchedTables) {
      this.clear();
      return;
    }
    this.lists.clear();
    for (const key of this.touchedKeys) this.records.delete(key);
    this.touchedKeys = [];
  }

  private clear(): void {
    this.lists.clear();
    this.records.clear();
    this.touchedKeys = [];
    this.touchedTables = false;
  }

  private checkForeign(): void {
    const now = Date.now();
    if (now - this.checkedAt < FOREIGN_CHECK_MS) return;
    this.checkedAt = now;
    const version = this.dataVersion.get()!;
    // Also moves on this process's own commits: a needless clear at most once a second.
    if (version !== this.version) {
      this.version = version;
      this.clear();
    }
  }
}
