import type { StoredRecord } from '../../core/records/record.js';
import { LruMap, answerBytes, deepFreeze, recordBytes, recordKey, type ListAnswer } from '../cached-answers.js';
import type { Run } from './postgres-store.js';

/** More changes than this since the last check: everything is dropped rather than read one by one. */
const MAX_CHANGES_PER_CHECK = 500;
/**
 * Record reads and list pages answered from memory on PostgreSQL, never
 * stale, with several instances writing.
 *
 * Any instance may commit at any moment, so before a cached answer is used
 * the cache asks the database what changed since it was last current: one
 * statement reads the change counter, the records changed since (the change
 * log names each), and a count of what the log does not describe: record
 * writes made outside it (an operator's psql session: a trigger counts
 * them, migration 12) and records tables made or dropped
 * (postgres-collections.ts), which drop everything. Changed records and
 * every list page are dropped, the rest stays. That check starts after the
 * read arrived, so a read sees every write acknowledged before it began, on
 * any instance; and one check serves every read that arrived before it
 * started (at most one runs at a time, the next waits for it), so under
 * load it costs one small query per round trip, not one per read. A check
 * that cannot tell (the counter went back, the log was pruned past it, too
 * many changes) drops everything.
 *
 * A miss reads the database after a check and keeps the answer only if no
 * later check has moved the cache meanwhile: then nothing it read can have
 * changed unseen. This instance's own writes need nothing more: they too are
 * in the log, or counted outside it, so the next check sees them. (Notifications
 * would be cheaper but arrive late: a client could write on one instance
 * and read its old data on another.)
 */
export class PostgresReadCache {
  private readonly lists: LruMap<ListAnswer>;
  private readonly records: LruMap<StoredRecord>;
  /** The change counter as of the last check; -1 before the first. */
  private seq = -1;
  /** The count of changes the log does not describe, as of the last check. */
  private outside: string | null = null;
  /** Moves whenever the cache moves on: an answer loaded before that is not kept. */
  private generation = 0;
  private running: Promise<number> | null = null;
  private queued: Promise<number> | null = null;

  /** `run`: statements on the pool. `budgetBytes`: a quarter for list pages, the rest for records. */
  constructor(private readonly run: Run, budgetBytes: number) {
    this.lists = new LruMap(1024, budgetBytes / 4);
    this.records = new LruMap(1_000_000, budgetBytes - budgetBytes / 4);
  }

  /** The record, from memory while it has not changed, else `load()`'s (absent records are not kept). */
  record(collection: string, id: string, load: () => Promise<StoredRecord | null>): Promise<StoredRecord | null> {
    return this.answer(this.records, recordKey(collection, id), load, (row) => Object.freeze(row), recordBytes);
  }

  /** The list page for `key` (see `postgresListKey`), from memory while nothing has changed, else `load()`'s. */
  async list(key: string, load: () => Promise<ListAnswer>): Promise<ListAnswer> {
    return (await this.answer(this.lists, key, load, deepFreeze, answerBytes))!;
  }

  /** After a check: the answer kept under `key`, or `load()`'s, kept if no later check moved the cache meanwhile. */
  private async answer<V extends object>(map: LruMap<V>, key: string, load: () => Promise<V | null>, freeze: (v: V) => V, size: (v: V) => number): Promise<V | null> {
    const generation = await this.check();
    if (generation === undefined) return load();
    const hit = map.get(key);
    if (hit !== undefined) return hit;
    const value = await load();
    if (value === null || generation !== this.generation) return value;
    return map.keep(key, freeze(value), size);
  }

  /** Brings the cache up to date with a check that starts after this call; the generation then, or undefined if the check failed. */
  private check(): Promise<number | undefined> {
    const next = this.queued ?? (this.running === null ? this.start() : this.queueAfter(this.running));
    // A failed check is answered by a plain read, which reports the database's error if there is one.
    return next.catch(() => undefined);
  }

  private queueAfter(running: Promise<number>): Promise<number> {
    const queued = running.then(ignoreResult, ignoreResult).then(() => {
      this.queued = null;
      return this.start();
    });
    this.queued = queued;
    return queued;
  }

  private start(): Promise<number> {
    const running = this.catchUp().finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }

  private async catchUp(): Promise<number> {
    const first = this.seq < 0;
    let result;
    try {
      result = await this.run<{ last: string; outside: string | null; collection: string | null; record_id: string | null }>('sigil_cache_check',
        `WITH s AS (SELECT last FROM change_counter WHERE id = 1)
         SELECT s.last, (SELECT n FROM writes_outside_log WHERE id = 1)::text AS outside, c.collection, c.record_id
         FROM s LEFT JOIN LATERAL (
           SELECT collection, record_id FROM changes WHERE seq > $1 AND seq <= s.last ORDER BY seq LIMIT $2
         ) c ON true`,
        [this.seq, first ? 0 : MAX_CHANGES_PER_CHECK + 1]);
    } catch (error) {
      this.dropAll();
      throw error;
    }
    const last = Number(result.rows[0]?.last ?? 0);
    const outside = result.rows[0]?.outside ?? null;
    const changed = result.rows.filter((r) => r.record_id !== null);
    if (first || last < this.seq || outside !== this.outside || changed.length !== last - this.seq) {
      this.dropAll();
    } else if (changed.length > 0) {
      for (const r of changed) this.records.delete(recordKey(r.collection!, r.record_id!));
      this.lists.clear();
      this.generation += 1;
    }
    this.seq = last;
    this.outside = outside;
    return this.generation;
  }

  private dropAll(): void {
    this.lists.clear();
    this.records.clear();
    this.seq = -1;
    this.generation += 1;
  }
}

/**
 * A cache key for a list statement and its parameters, as JSON (arrays
 * included: `String(['a,b'])` would equal `String(['a', 'b'])`); undefined
 * for a parameter JSON cannot write, which is then not cached.
 */
export function postgresListKey(sql: string, params: readonly unknown[]): string | undefined {
  try {
    return `${sql}\u0000${JSON.stringify(params)}`;
  } catch {
    return undefined;
  }
}

const ignoreResult = (): void => undefined;
