import type Database from 'better-sqlite3';
import { AppError } from '../../core/errors.js';
import type { StoreTransaction } from '../../core/storage/store.js';
import { translateSqliteError } from './sqlite-errors.js';

/**
 * A FIFO async lock. `locked` stays true while anyone holds or waits for it
 * (release hands the lock straight to the next waiter), so "not locked" means
 * the writer connection has no open transaction and nobody is queued.
 */
export class Mutex {
  locked = false;
  private readonly waiters: (() => void)[] = [];

  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.locked) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.locked = true;
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next === undefined) this.locked = false;
      else next();
    }
  }
}

/** How many queued transactions share one commit at most. */
const MAX_GROUP = 64;

interface PendingTransaction {
  readonly fn: (tx: StoreTransaction) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  readonly writer: Database.Database;
  /** Held while a batch runs: single statements and reads that need the writer wait for it. */
  readonly mutex: Mutex;
  readonly isClosed: () => boolean;
  /**
   * The repositories one transaction works with: they must refuse work once
   * `isActive()` is false, and call `wrote()` before any statement that
   * changes the database (DDL included).
   */
  readonly repositories: (isActive: () => boolean, wrote: () => void) => StoreTransaction;
  /** Called in the tick each batch's COMMIT (or its failure) happens. */
  readonly ended: () => void;
}

/**
 * Group commit. Transactions that queue up while the writer is busy run
 * together in one database transaction and are answered only after its single
 * COMMIT: one commit (one WAL append of the touched pages) then serves many
 * writes, which is most of a write's cost. Each transaction still succeeds or
 * fails alone:
 *
 * - One that fails before writing anything (a 404, a failed validation, a
 *   refused duplicate) is simply answered with its error.
 * - One that fails after writing makes the batch start over: everything is
 *   rolled back and the batch's transactions run again, each inside its own
 *   savepoint, so the failing one is rolled back to its savepoint alone.
 *   (`Store.transaction` already requires `fn` to be safe to run again.)
 *
 * Savepoints are kept for that rare second pass because they are not free:
 * a SAVEPOINT and RELEASE around every write cost ~15 % of the throughput of
 * record creation (measured with `npm run bench`). SQLite transactions are
 * serial whatever isolation was asked for.
 */
export function createGroupCommit(opts: GroupCommitOptions) {
  const { writer, mutex } = opts;
  const begin = writer.prepare('BEGIN IMMEDIATE');
  const commit = writer.prepare('COMMIT');
  const rollback = writer.prepare('ROLLBACK');
  const savepoint = writer.prepare('SAVEPOINT grouped');
  const release = writer.prepare('RELEASE grouped');
  const rollbackTo = writer.prepare('ROLLBACK TO grouped');
  const pending: PendingTransaction[] = [];
  let batchScheduled = false;

  function schedule(): void {
    if (batchScheduled || pending.length === 0) return;
    batchScheduled = true;
    // One turn of the event loop first: requests already received get parsed
    // and join this batch, instead of each paying for a commit of its own.
    setImmediate(() => {
      void mutex
        .run(async () => {
          batchScheduled = false;
          await runBatch(pending.splice(0, MAX_GROUP));
        })
        .finally(schedule);
    });
  }

  /** BEGIN; false (every item rejected) when that fails. */
  function started(batch: readonly PendingTransaction[]): boolean {
    try {
      begin.run();
      return true;
    } catch (error) {
      for (const item of batch) item.reject(translateSqliteError(error));
      return false;
    }
  }

  /** COMMIT, then answer `done`; if the commit fails, all of them fail. */
  function finish(done: readonly { item: PendingTransaction; value: unknown }[]): void {
    try {
      commit.run();
    } catch (error) {
      if (writer.inTransaction) rollback.run();
      opts.ended();
      for (const { item } of done) item.reject(translateSqliteError(error));
      return;
    }
    opts.ended();
    for (const { item, value } of done) item.resolve(value);
  }

  async function runBatch(batch: PendingTransaction[]): Promise<void> {
    if (opts.isClosed()) {
      for (const item of batch) item.reject(new AppError('unavailable', 'The store is closed.'));
      return;
    }
    if (!started(batch)) return;
    const done: { item: PendingTransaction; value: unknown }[] = [];
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      let active = true;
      let wrote = false;
      try {
        done.push({ item, value: await item.fn(opts.repositories(() => active, () => (wrote = true))) });
      } catch (error) {
        if (!wrote && writer.inTransaction) {
          item.reject(error);
          continue;
        }
        // It changed something before failing: start over, one savepoint per transaction.
        if (writer.inTransaction) rollback.run();
        opts.ended();
        await runWithSavepoints([...done.map((d) => d.item), ...batch.slice(i)]);
        return;
      } finally {
        active = false;
      }
    }
    finish(done);
  }

  /** The careful pass: each transaction inside its own savepoint, rolled back alone if it fails. */
  async function runWithSavepoints(batch: PendingTransaction[]): Promise<void> {
    if (!started(batch)) return;
    const done: { item: PendingTransaction; value: unknown }[] = [];
    for (const item of batch) {
      savepoint.run();
      let active = true;
      try {
        const value = await item.fn(opts.repositories(() => active, () => undefined));
        release.run();
        done.push({ item, value });
      } catch (error) {
        if (writer.inTransaction) {
          rollbackTo.run();
          release.run();
        }
        item.reject(error);
      } finally {
        active = false;
      }
    }
    finish(done);
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
