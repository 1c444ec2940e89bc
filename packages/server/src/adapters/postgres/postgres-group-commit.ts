import type pg from 'pg';
import { AppError } from '../../core/errors.js';
import type { NewChange, RecordRow } from '../../core/records/record.js';
import type { SchemaStamp, StoreTransaction } from '../../core/storage/store.js';
import { LOGGED_WRITES } from './postgres-migrations.js';
import { insertRecordRows } from './postgres-records.js';
import type { Run } from './postgres-store.js';

/** How many queued transactions share one PostgreSQL transaction at most. */
const MAX_GROUP = 64;
/**
 * Batches of one instance in flight at once, each on its own connection.
 * Only one runs its transactions' statements at a time; the next starts
 * when that one reaches its change-log flush, so it runs while the other
 * waits for the change counter's lock and its COMMIT, and it gathers every
 * transaction queued meanwhile (starting it sooner made batches of one or
 * two: slower, `npm run bench`).
 */
const MAX_BATCHES_IN_FLIGHT = 2;

interface Pending {
  readonly fn: (tx: StoreTransaction) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Why a batch is run again: the careful pass (a savepoint each), or from the start after a deadlock. */
class BatchRestart extends Error {
  constructor(readonly careful: boolean, override readonly cause?: unknown) {
    super('batch restarts');
  }
}

/**
 * Whether a statement can change data. Row locks (FOR UPDATE, advisory
 * locks) do not count: a transaction that only took locks and then failed
 * leaves nothing behind but locks held a little longer, until the batch
 * commits.
 */
const WRITE_RE = /\b(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE)\b/i;
const LOCK_CLAUSE_RE = /\bFOR\s+(NO\s+KEY\s+)?UPDATE\b/gi;
const writes = (sql: string): boolean => WRITE_RE.test(sql.replace(LOCK_CLAUSE_RE, ''));

export interface PostgresGroupCommitOptions {
  readonly pool: pg.Pool;
  /** The repositories over one way of running statements (here: the batch's connection). */
  readonly repositories: (run: Run) => StoreTransaction;
  /** Worth running the batch again (a deadlock; a user reference that failed at commit). */
  readonly isRetryable: (error: unknown) => boolean;
  readonly translate: (error: unknown) => unknown;
  readonly isClosed: () => boolean;
  readonly maxAttempts: number;
  /** The wait before re-run number `attempt + 1` (the store's backoff). */
  readonly pause: (attempt: number) => Promise<void>;
  readonly onStatement: ((sql: string) => void) | undefined;
}

/**
 * Group commit on PostgreSQL, for READ COMMITTED transactions (record
 * writes). Transactions that queue up while a batch runs share the next one:
 * one BEGIN, their statements one transaction after another on one
 * connection, then all their change-log entries in one statement with one
 * increment of the change counter (postgres-changes.ts), then one COMMIT.
 * Each is answered only after that COMMIT. Several instances still write
 * concurrently: the counter's lock is taken by the batch's last statement
 * and held only until its commit, so seqs stay gap-free in commit order.
 *
 * `appendChange(s)` parks its transaction: the batch goes on with the next
 * one, and once every transaction has run up to its append (or ended), the
 * entries are written together, in queue order, each transaction's
 * contiguous. The parked ones then go on one at a time (record writes append
 * last, so there is rarely anything left for them to do).
 *
 * Each transaction still succeeds or fails alone, as on SQLite
 * (sqlite-group-commit.ts):
 * - one that fails before changing anything is answered with its error;
 * - one that fails after a change, or whose statement failed (which aborts a
 *   PostgreSQL transaction), or that appends twice, makes the batch start
 *   over in the careful pass: every transaction in a savepoint of its own,
 *   appending directly, so the failing one is rolled back alone;
 * - a deadlock (with another instance's batch) or a user reference failing
 *   at commit re-runs the whole batch after a jittered pause, up to
 *   `maxAttempts` times.
 * `Store.transaction` already requires `fn` to be safe to run again.
 */
export function createPostgresGroupCommit(opts: PostgresGroupCommitOptions) {
  const { pool, onStatement } = opts;
  const pending: Pending[] = [];
  let inFlight = 0;
  /** Whether a batch is still running its transactions' statements. */
  let running = false;
  let gathering = false;

  const canStart = (): boolean => pending.length > 0 && !running && inFlight < MAX_BATCHES_IN_FLIGHT;

  function schedule(): void {
    if (gathering || !canStart()) return;
    gathering = true;
    // One turn of the event loop first: requests already received join this batch.
    setImmediate(() => {
      gathering = false;
      if (!canStart()) return;
      inFlight += 1;
      running = true;
      let ran = false;
      /** Called once the batch is past its statements (flushing, committing or done). */
      const statementsDone = (): void => {
        if (ran) return;
        ran = true;
        running = false;
        schedule();
      };
      void runBatch(pending.splice(0, MAX_GROUP), statementsDone).finally(() => {
        inFlight -= 1;
        statementsDone();
        schedule();
      });
    });
  }

  async function runBatch(batch: readonly Pending[], statementsDone: () => void): Promise<void> {
    let careful = false;
    for (let attempt = 1; ; attempt++) {
      if (opts.isClosed()) {
        for (const item of batch) item.reject(new AppError('unavailable', 'The store is closed.'));
        return;
      }
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        for (const item of batch) item.reject(opts.translate(error));
        return;
      }
      client.on('error', ignore);
      let broken = false;
      try {
        const query = async (sql: string): Promise<void> => {
          onStatement?.(sql);
          await client.query(sql);
        };
        // Every record write of a batch goes into the change log: it says so, for the
        // read caches (migration 12), and counts those of its transactions that did not.
        await query(`BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL ${LOGGED_WRITES} = 'on'`);
        const { answers, unlogged } = careful ? await carefulPass(client, batch) : await groupedPass(client, batch, statementsDone);
        statementsDone();
        if (unlogged) await query('UPDATE writes_outside_log SET n = n + 1 WHERE id = 1');
        await query('COMMIT');
        for (const [item, outcome] of answers) {
          if (outcome.ok) item.resolve(outcome.value);
          else item.reject(outcome.error);
        }
        return;
      } catch (error) {
        // After a failed COMMIT PostgreSQL has already rolled back; ROLLBACK then only warns.
        await client.query('ROLLBACK').catch(() => { broken = true; });
        const restart = error instanceof BatchRestart ? error : opts.isRetryable(error) ? new BatchRestart(false, error) : null;
        if (restart === null) {
          for (const item of batch) item.reject(opts.translate(error));
          return;
        }
        if (restart.careful) {
          careful = true;
          attempt -= 1; // the careful pass is not a retry of a conflict
          continue;
        }
        if (attempt >= opts.maxAttempts) {
          for (const item of batch) item.reject(opts.translate(restart.cause));
          return;
        }
        await opts.pause(attempt);
      } finally {
        client.off('error', ignore);
        client.release(broken);
      }
    }
  }

  type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

  /** How one transaction of a batch runs its statements, and what it did; `before` runs ahead of each statement. */
  function statementsOf(client: pg.PoolClient, before?: () => Promise<void>) {
    const state = { active: true, wrote: false, failed: false, retry: undefined as unknown };
    const run: Run = async (name, text, values) => {
      if (!state.active) throw new Error('This transaction has already finished.');
      if (before !== undefined) await before();
      onStatement?.(text);
      if (writes(text)) state.wrote = true;
      try {
        return await client.query({ name, text, values });
      } catch (error) {
        state.failed = true;
        if (opts.isRetryable(error)) state.retry ??= error;
        throw opts.translate(error);
      }
    };
    return { state, run };
  }

  /** What a pass did: each transaction's outcome, and whether one of those that succeeded wrote without appending changes. */
  interface PassResult { readonly answers: Map<Pending, Outcome>; readonly unlogged: boolean }

  /** The grouped pass: appends parked and written together; any failure after a change restarts the batch carefully. */
  async function groupedPass(client: pg.PoolClient, batch: readonly Pending[], statementsDone: () => void): Promise<PassResult> {
    const answers = new Map<Pending, Outcome>();
    let unlogged = false;
    interface Parked {
      readonly item: Pending;
      readonly entries: readonly NewChange[];
      readonly settle: { resolve: (seqs: number[]) => void; reject: (error: unknown) => void };
      readonly done: Promise<Outcome>;
      readonly state: { active: boolean; retry: unknown };
    }
    const parked: Parked[] = [];
    const abandon = (): void => {
      for (const p of parked) {
        p.state.active = false;
        p.settle.reject(new BatchRestart(true));
      }
    };
    let flushed = false;
    let appendedTwice = false;
    // Schema stamps read in this pass: one holds until the COMMIT (findSchemaStamp
    // takes a lock, and nothing is rolled back in this pass), so it serves them all.
    const stamps = new Map<string, SchemaStamp>();
    // New records wait here and go in together, one statement per collection,
    // before the next statement of any transaction (which may read them) and
    // before the changes: nothing else can tell. If that statement fails (a
    // duplicate id), the careful pass finds whose insert it was.
    const deferred: { readonly collection: string; readonly row: RecordRow }[] = [];
    let insertFailure: BatchRestart | undefined;
    const insertDeferred = async (): Promise<void> => {
      while (insertFailure === undefined && deferred.length > 0) {
        const { collection } = deferred[0]!;
        let n = 1;
        while (n < deferred.length && deferred[n]!.collection === collection) n += 1;
        const rows = deferred.splice(0, n).map((d) => d.row);
        try {
          await insertRecordRows(async (name, text, values) => {
            onStatement?.(text);
            return client.query({ name, text, values });
          }, collection, rows);
        } catch (error) {
          insertFailure = new BatchRestart(!opts.isRetryable(error), error);
        }
      }
      if (insertFailure !== undefined) throw insertFailure;
    };

    try {
      for (const item of batch) {
        const { state, run } = statementsOf(client, insertDeferred);
        const base = opts.repositories(run);
        let park: ((p: Omit<Parked, 'item' | 'done' | 'state'>) => void) | undefined;
        const parkedHere = new Promise<Omit<Parked, 'item' | 'done' | 'state'>>((resolve) => (park = resolve));
        let appends = 0;
        const append = (entries: readonly NewChange[]): Promise<number[]> => {
          if (!state.active) return Promise.reject(new Error('This transaction has already finished.'));
          state.wrote = true;
          appends += 1;
          if (appends > 1 || flushed) {
            appendedTwice = true;
            return Promise.reject(new BatchRestart(true));
          }
          return new Promise<number[]>((resolve, reject) => park!({ entries, settle: { resolve, reject } }));
        };
        const tx: StoreTransaction = {
          ...base,
          records: {
            ...base.records,
            insertRecord: async (collection, row) => {
              if (!state.active) throw new Error('This transaction has already finished.');
              state.wrote = true;
              deferred.push({ collection, row });
            },
          },
          collections: {
            ...base.collections,
            findSchemaStamp: async (name) => {
              const known = stamps.get(name);
              if (known !== undefined) return known;
              const stamp = await base.collections.findSchemaStamp(name);
              if (stamp !== null) stamps.set(name, stamp);
              return stamp;
            },
          },
          changes: {
            ...base.changes,
            appendChange: async (change) => (await append([change]))[0]!,
            appendChanges: (list) => append(list),
          },
        };
        const done: Promise<Outcome> = item.fn(tx).then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
        const first = await Promise.race([done, parkedHere.then((p) => ({ parked: p }))]);
        if ('parked' in first) {
          parked.push({ item, done, state, ...first.parked });
          continue;
        }
        state.active = false;
        if (state.retry !== undefined) throw new BatchRestart(false, state.retry);
        if (insertFailure !== undefined) throw insertFailure;
        if (first.ok) unlogged ||= state.wrote;
        if (first.ok) answers.set(item, first);
        else if (state.wrote || state.failed || appendedTwice) throw new BatchRestart(true);
        else answers.set(item, first);
      }

      // The next batch may start its statements meanwhile.
      statementsDone();
      await insertDeferred();
      if (parked.length > 0) {
        // All the batch's changes in one statement: one counter increment, held until the COMMIT.
        const { run, state } = statementsOf(client);
        const seqs = await opts.repositories(run).changes.appendChanges(parked.flatMap((p) => p.entries))
          .catch((error: unknown) => {
            throw state.retry !== undefined ? new BatchRestart(false, state.retry) : error;
          });
        flushed = true;
        let next = 0;
        for (const p of parked) {
          p.settle.resolve(seqs.slice(next, next + p.entries.length));
          next += p.entries.length;
          const outcome = await p.done;
          p.state.active = false;
          if (p.state.retry !== undefined) throw new BatchRestart(false, p.state.retry);
          if (insertFailure !== undefined) throw insertFailure;
          if (!outcome.ok || appendedTwice) throw new BatchRestart(true);
          answers.set(p.item, outcome);
        }
      }
      return { answers, unlogged };
    } catch (error) {
      abandon();
      throw error;
    }
  }

  /** The careful pass: one transaction after another, each in its own savepoint, appending directly. */
  async function carefulPass(client: pg.PoolClient, batch: readonly Pending[]): Promise<PassResult> {
    const answers = new Map<Pending, Outcome>();
    let unlogged = false;
    for (const item of batch) {
      await client.query('SAVEPOINT grouped');
      const { state, run } = statementsOf(client);
      const base = opts.repositories(run);
      let appended = false;
      const changes = {
        ...base.changes,
        appendChange: (c: NewChange) => ((appended = true), base.changes.appendChange(c)),
        appendChanges: (list: readonly NewChange[]) => ((appended = true), base.changes.appendChanges(list)),
      };
      try {
        const value = await item.fn({ ...base, changes });
        await client.query('RELEASE grouped');
        unlogged ||= state.wrote && !appended;
        answers.set(item, { ok: true, value });
      } catch (error) {
        if (state.retry !== undefined) throw new BatchRestart(false, state.retry);
        await client.query('ROLLBACK TO grouped');
        await client.query('RELEASE grouped');
        answers.set(item, { ok: false, error });
      } finally {
        state.active = false;
      }
    }
    return { answers, unlogged };
  }

  return {
    /** Runs `fn` in the next batch; settles after that batch's COMMIT. */
    enqueue<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        pending.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
  };
}

const ignore = (): void => undefined;
