/**
 * Group commit on PostgreSQL with several instances on one database: each
 * instance (a Store of its own, with its own pool) lets its concurrent
 * READ COMMITTED transactions share one database transaction and one
 * change-counter increment, while the instances write concurrently. Every
 * guarantee of the change log still holds across them (SPEC §5): seqs are
 * gap-free in commit order, a tailer sees each change once and in order,
 * each transaction's changes are contiguous, and a transaction that fails is
 * answered alone and leaves nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, type Collection } from '../../src/core/collections/collection.js';
import { AppError } from '../../src/core/errors.js';
import type { NewChange, RecordRow } from '../../src/core/records/record.js';
import type { Store, StoreTransaction } from '../../src/core/storage/store.js';
import { openStore } from '../../src/adapters/open-store.js';
import { tailChanges } from '../helpers/change-tailer.js';
import { POSTGRES_SKIP_REASON, announceSkip, createTestDatabaseUrl, type TestDatabase } from '../helpers/stores.js';

const INSTANCES = 3;
const WRITERS = 8;
const PER_WRITER = 60;

const at = new Date('2025-01-01T00:00:00.000Z').toISOString();
const TASKS: Collection = {
  id: 'c_tasks', name: 'tasks', schema: { type: 'object' }, rules: DEFAULT_RULES, indexes: [], schemaVersion: 1, createdAt: at, updatedAt: at,
};
const row = (id: string, data: RecordRow['data'] = {}): RecordRow => ({ id, owner: null, version: 1, createdAt: at, updatedAt: at, data });
const change = (record: RecordRow, overrides: Partial<NewChange> = {}): NewChange => ({
  collection: 'tasks', collectionId: 'c_tasks', recordId: record.id, op: 'create', record, previous: null, createdAt: at, txEnd: true, ...overrides,
});
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const readCommitted = { isolation: 'read committed' } as const;

if (POSTGRES_SKIP_REASON !== null) announceSkip('group commit across instances', POSTGRES_SKIP_REASON);

describe.skipIf(POSTGRES_SKIP_REASON !== null)('group commit across PostgreSQL instances', () => {
  let db: TestDatabase | undefined;
  let stores: Store[] = [];
  /** The SQL each instance ran, in order. */
  let statements: string[][] = [];

  // Each test: a fresh database, and `INSTANCES` stores on it, each recording the SQL it runs.
  beforeEach(async () => {
    db = await createTestDatabaseUrl('postgres');
    statements = range(1, INSTANCES).map(() => []);
    stores = [];
    for (const sql of statements) stores.push(await openStore({ databaseUrl: db.url, dataDir: '/nonexistent', onStatement: (text) => sql.push(text) }));
    await stores[0]!.collections.insertCollection(TASKS);
    for (const sql of statements) sql.length = 0;
  });
  afterEach(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await db?.dispose();
  });

  it(`${INSTANCES} instances × ${WRITERS} writers and a tailer: seqs 1..N in commit order, each acknowledged write once, failures leave nothing`, { timeout: 180_000 }, async () => {
    const acknowledged = new Set<string>();
    const failedAfterWriting = new Set<string>();
    const refused = new Set<string>();
    let writing = true;

    const writers = stores.flatMap((store, s) => range(1, WRITERS).map(async (w) => {
      for (let i = 0; i < PER_WRITER; i++) {
        const id = `i${s}_w${w}_${i}`;
        const kind = Math.random();
        try {
          await store.transaction(async (tx) => {
            if (kind < 0.05) {
              await tx.records.findRecord('tasks', id); // reads, then refuses: nothing written
              throw new AppError('forbidden', 'refused before writing');
            }
            await tx.records.insertRecord('tasks', row(id));
            if (Math.random() < 0.3) await sleep(Math.random() * 2);
            // Two changes for some: a transaction's changes stay contiguous.
            if (kind > 0.9) await tx.changes.appendChanges([change(row(id), { txEnd: false }), change(row(`${id}_b`), { recordId: `${id}_b` })]);
            else await tx.changes.appendChange(change(row(id)));
            if (kind >= 0.05 && kind < 0.1) throw new Error('fails after writing');
          }, readCommitted);
          acknowledged.add(id);
        } catch (error) {
          if (kind < 0.05) refused.add(id);
          else if (kind < 0.1) failedAfterWriting.add(id);
          else throw error;
        }
      }
    }));

    const tailed: { seq: number; recordId: string; txEnd: boolean }[] = [];
    const tailing = tailChanges(stores[0]!, () => writing, (c) => tailed.push({ seq: c.seq, recordId: c.recordId, txEnd: c.txEnd }));

    await Promise.all(writers);
    writing = false;
    const { pollsWhileWriting } = await tailing;

    const twoChanges = [...acknowledged].filter((id) => tailed.some((c) => c.recordId === `${id}_b`)).length;
    const n = acknowledged.size + twoChanges;
    expect(refused.size + failedAfterWriting.size).toBeGreaterThan(0);
    expect(tailed.map((c) => c.seq)).toEqual(range(1, n)); // every seq once, in order: nothing skipped
    expect(new Set(tailed.map((c) => c.recordId).filter((id) => !id.endsWith('_b')))).toEqual(acknowledged);
    // A transaction's two changes are neighbours, the first not marked as its end.
    for (let k = 0; k < tailed.length; k++) {
      if (!tailed[k]!.recordId.endsWith('_b')) continue;
      expect(tailed[k - 1]!.recordId).toBe(tailed[k]!.recordId.slice(0, -2));
      expect(tailed[k - 1]!.txEnd).toBe(false);
    }
    expect(await stores[1]!.changes.latestSeq()).toBe(n);
    expect(await stores[2]!.records.countRecords('tasks')).toBe(acknowledged.size);
    for (const id of [...failedAfterWriting, ...refused]) expect(await stores[1]!.records.findRecord('tasks', id)).toBeNull();
    expect(pollsWhileWriting).toBeGreaterThan(5);
    // Writes were grouped: far fewer counter increments than transactions, on every instance.
    for (let s = 0; s < INSTANCES; s++) {
      const increments = statements[s]!.filter((sql) => /UPDATE change_counter/.test(sql)).length;
      expect(increments).toBeGreaterThan(0);
      expect(increments).toBeLessThan(WRITERS * PER_WRITER * 0.8);
    }
  });

  it('concurrent transactions of one instance share one commit and one counter increment', async () => {
    const seqs = await Promise.all(range(1, 40).map((i) => stores[0]!.transaction(async (tx) => {
      await tx.records.insertRecord('tasks', row(`one${i}`));
      return tx.changes.appendChange(change(row(`one${i}`)));
    }, readCommitted)));
    expect([...seqs].sort((a, b) => a - b)).toEqual(range(1, 40));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // seqs in the order the transactions were queued
    const increments = statements[0]!.filter((sql) => /UPDATE change_counter/.test(sql)).length;
    expect(increments).toBeLessThanOrEqual(2);
    expect(statements[0]!.filter((sql) => sql === 'COMMIT').length).toBeLessThanOrEqual(2);
  });

  it('new records of a batch go in together, and every later statement sees them', async () => {
    const found = await Promise.all(range(1, 30).map((i) => stores[0]!.transaction(async (tx) => {
      await tx.records.insertRecord('tasks', row(`n${i}`));
      // Every fifth reads its own record and the one queued just before it (same batch, not yet inserted alone).
      const seen = i % 5 === 0 ? [await tx.records.findRecord('tasks', `n${i}`), await tx.records.findRecord('tasks', `n${i - 1}`)] : [];
      await tx.changes.appendChange(change(row(`n${i}`)));
      return seen.map((r) => r?.id);
    }, readCommitted)));
    expect(found.filter((f) => f.length > 0)).toEqual(range(1, 6).map((k) => [`n${5 * k}`, `n${5 * k - 1}`]));
    const inserts = statements[0]!.filter((sql) => /INSERT INTO "?c_/.test(sql)).length;
    expect(inserts).toBeGreaterThanOrEqual(1);
    expect(inserts).toBeLessThanOrEqual(12); // at most one before each read, and one before the changes, per batch
    const log = await stores[1]!.changes.readChanges(0, 100);
    expect(log.map((c) => c.recordId).sort()).toEqual(range(1, 30).map((i) => `n${i}`).sort());
  });

  it('two transactions of one batch creating the same id: the later one alone fails, with conflict', async () => {
    const results = await Promise.allSettled(range(1, 10).map((i) => stores[0]!.transaction(async (tx) => {
      const record = row(i === 4 || i === 8 ? 'twin' : `t${i}`, { i });
      await tx.records.insertRecord('tasks', record);
      await tx.changes.appendChange(change(record));
      return i;
    }, readCommitted)));
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i: i + 1, code: (r.reason as AppError).code }] : []));
    expect(rejected).toEqual([{ i: 8, code: 'conflict' }]);
    expect((await stores[1]!.records.findRecord('tasks', 'twin'))!.data).toEqual({ i: 4 });
    expect((await stores[1]!.changes.readChanges(0, 100)).map((c) => c.seq)).toEqual(range(1, 9));
  });

  it('a batch reads a collection\'s schema stamp once: every transaction of it gets the same answer', async () => {
    const stamps = await Promise.all(range(1, 40).map((i) => stores[0]!.transaction(async (tx) => {
      await tx.records.insertRecord('tasks', row(`s${i}`));
      const stamp = await tx.collections.findSchemaStamp('tasks');
      await tx.changes.appendChange(change(row(`s${i}`)));
      return stamp;
    }, readCommitted)));
    expect(stamps.every((s) => s?.id === 'c_tasks' && s.schemaVersion === 1)).toBe(true);
    expect(statements[0]!.filter((sql) => /FROM collections/.test(sql)).length).toBeLessThanOrEqual(2);
  });

  it('a schema stamp read in a write holds until its commit: a schema change on another instance waits for it', { timeout: 60_000 }, async () => {
    // Instance 0 writes waves of changes, each carrying the schema version it read;
    // instance 1 bumps the version meanwhile, logging a marker in the same transaction.
    // In seq (commit) order, every write must carry the version then current.
    let bumping = true;
    const bumps = (async () => {
      for (let v = 2; bumping && v <= 40; v++) {
        await stores[1]!.transaction(async (tx) => {
          await tx.collections.lockCollection('tasks');
          const current = (await tx.collections.findCollection('tasks'))!;
          await tx.collections.updateCollection({ ...current, schemaVersion: v });
          await tx.changes.appendChange(change(row(`bump${v}`, { bumpedTo: v })));
        });
        await sleep(2);
      }
    })();
    for (let wave = 0; wave < 15; wave++) {
      await Promise.all(range(1, 30).map((i) => stores[0]!.transaction(async (tx) => {
        const stamp = (await tx.collections.findSchemaStamp('tasks'))!;
        await sleep(0);
        await tx.changes.appendChange(change(row(`w${wave}_${i}`, { read: stamp.schemaVersion })));
      }, readCommitted)));
    }
    bumping = false;
    await bumps;
    const log = await stores[2]!.changes.readChanges(0, 10_000);
    let version = 1;
    const stale: string[] = [];
    for (const c of log) {
      const data = c.record.data;
      if (typeof data['bumpedTo'] === 'number') version = data['bumpedTo'];
      else if (data['read'] !== version) stale.push(`seq ${c.seq}: read ${JSON.stringify(data['read'])}, current ${version}`);
    }
    expect(stale).toEqual([]);
    expect(version).toBeGreaterThan(2);
  });

  it('a statement that fails (a duplicate id) aborts nothing but its own transaction; the others commit once', async () => {
    await stores[0]!.transaction((tx) => tx.records.insertRecord('tasks', row('taken')), readCommitted);
    const results = await Promise.allSettled(range(1, 20).map((i) => stores[0]!.transaction(async (tx) => {
      const record = row(i === 7 ? 'taken' : `d${i}`);
      await tx.records.insertRecord('tasks', record);
      await tx.changes.appendChange(change(record));
      return i;
    }, readCommitted)));
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i: i + 1, error: r.reason as unknown }] : []));
    expect(rejected.map((r) => r.i)).toEqual([7]);
    expect(rejected[0]!.error).toBeInstanceOf(AppError);
    expect((rejected[0]!.error as AppError).code).toBe('conflict');
    const log = await stores[1]!.changes.readChanges(0, 100);
    expect(log.map((c) => c.seq)).toEqual(range(1, 19));
    expect(new Set(log.map((c) => c.recordId))).toEqual(new Set(range(1, 20).filter((i) => i !== 7).map((i) => `d${i}`)));
  });

  it(`${INSTANCES} instances × ${WRITERS} writers incrementing two shared records in either order: no lost update, deadlocks re-run`, { timeout: 120_000 }, async () => {
    await stores[0]!.transaction(async (tx) => {
      await tx.records.insertRecord('tasks', row('x', { n: 0 }));
      await tx.records.insertRecord('tasks', row('y', { n: 0 }));
    }, readCommitted);
    const PER = 10;
    const increment = async (tx: StoreTransaction, id: string): Promise<RecordRow> => {
      const current = (await tx.records.findRecordToChange('tasks', id))!;
      const next = { ...current, version: current.version + 1, data: { n: (current.data['n'] as number) + 1 } };
      if (!(await tx.records.updateRecord('tasks', next, current.version))) throw new Error('lost compare-and-set under a row lock');
      return next;
    };
    await Promise.all(stores.flatMap((store) => range(1, WRITERS).map(async (w) => {
      for (let i = 0; i < PER; i++) {
        const order = (w + i) % 2 === 0 ? ['x', 'y'] : ['y', 'x'];
        await store.transaction(async (tx) => {
          const changed: RecordRow[] = [];
          for (const id of order) changed.push(await increment(tx, id));
          await tx.changes.appendChanges(changed.map((r, k) => change(r, { op: 'update', txEnd: k === changed.length - 1 })));
        }, readCommitted);
      }
    })));
    const total = INSTANCES * WRITERS * PER;
    expect((await stores[1]!.records.findRecord('tasks', 'x'))!.data['n']).toBe(total);
    expect((await stores[2]!.records.findRecord('tasks', 'y'))!.data['n']).toBe(total);
    const log = await stores[0]!.changes.readChanges(0, 2 * total + 10);
    expect(log.map((c) => c.seq)).toEqual(range(1, 2 * total));
  });
});
