/**
 * The ChangeRepository contract (core/storage/store.ts) on every backend: the
 * change log is written in the record's transaction (transactional outbox),
 * seqs are gap-free in commit order, and tailing `seq > last` never skips a
 * change even when many writers commit concurrently (SPEC §5, last paragraph).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, type Collection } from '../../src/core/collections/collection.js';
import type { ChangeRow, NewChange, RecordRow } from '../../src/core/records/record.js';
import type { Store, StoreTransaction } from '../../src/core/storage/store.js';
import { tailChanges } from '../helpers/change-tailer.js';
import { STORES, freshStoreEachTest } from '../helpers/stores.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const TASKS: Collection = {
  id: 'c_tasks', name: 'tasks', schema: { type: 'object' }, rules: DEFAULT_RULES, indexes: [], schemaVersion: 1, createdAt: at(0), updatedAt: at(0),
};

function row(id: string, overrides: Partial<RecordRow> = {}): RecordRow {
  return { id, owner: 'u_1', version: 1, createdAt: at(0), updatedAt: at(0), data: { title: id }, ...overrides };
}

function change(record: RecordRow, overrides: Partial<NewChange> = {}): NewChange {
  return { collection: 'tasks', collectionId: 'c_tasks', recordId: record.id, op: 'create', record, previous: null, createdAt: at(0), txEnd: true, ...overrides };
}

/** Inserts a record and appends its change in the given transaction, as the record service does. */
async function create(tx: StoreTransaction, record: RecordRow, createdAt = at(0)): Promise<number> {
  await tx.records.insertRecord('tasks', record);
  return tx.changes.appendChange(change(record, { createdAt }));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(STORES)('change log storage: $name', (factory) => {
  const skip = factory.skipReason !== null;
  let store: Store;

  freshStoreEachTest(factory, async (o) => {
    store = o.store;
    await store.collections.insertCollection(TASKS);
  });

  describe.skipIf(skip)(skip ? `SKIPPED: ${factory.skipReason}` : 'appending and reading', () => {
    it('starts empty', async () => {
      expect(await store.changes.latestSeq()).toBe(0);
      expect(await store.changes.oldestSeq()).toBeNull();
      expect(await store.changes.readChanges(0, 10)).toEqual([]);
    });

    it('reads one collection\'s changes by its identity, bounded in count and size (at least one)', async () => {
      const append = (id: string, collectionId: string): Promise<number> =>
        store.transaction((tx) => tx.changes.appendChange(change(row(id, { data: { blob: 'b'.repeat(500) } }), { collectionId })));
      await append('a1', 'c_tasks');
      await append('o1', 'c_old');
      await append('a2', 'c_tasks');
      await append('a3', 'c_tasks');
      const ids = async (...args: [string, number, number, number]): Promise<string[]> =>
        (await store.changes.readCollectionChanges(...args)).map((c) => c.recordId);
      expect(await ids('c_tasks', 0, 10, 1e9)).toEqual(['a1', 'a2', 'a3']);
      expect(await ids('c_old', 0, 10, 1e9)).toEqual(['o1']);
      expect(await ids('c_tasks', 1, 10, 1e9)).toEqual(['a2', 'a3']);
      expect(await ids('c_tasks', 0, 2, 1e9)).toEqual(['a1', 'a2']);
      // Stops after the change that passes the budget; one always comes.
      expect(await ids('c_tasks', 0, 10, 700)).toEqual(['a1', 'a2']);
      expect(await ids('c_tasks', 0, 10, 1)).toEqual(['a1']);
      expect(await ids('c_tasks', 4, 10, 1e9)).toEqual([]);
      expect((await store.changes.readCollectionChanges('c_tasks', 0, 1, 1e9))[0]).toMatchObject({ seq: 1, collection: 'tasks', collectionId: 'c_tasks', op: 'create' });
    });

    it('appends changes with seqs 1, 2, 3… and reads them back whole', async () => {
      const v1 = row('r1');
      const v2 = { ...v1, version: 2, updatedAt: at(5), data: { title: 'new', nested: { list: [1, 'two', null] } } };
      const seqs = [
        await store.transaction((tx) => tx.changes.appendChange(change(v1, { createdAt: at(1) }))),
        await store.transaction((tx) => tx.changes.appendChange(change(v2, { op: 'update', previous: v1, createdAt: at(5) }))),
        // Outside a transaction the append is its own.
        await store.changes.appendChange(change(v2, { op: 'delete', createdAt: at(9) })),
      ];
      expect(seqs).toEqual([1, 2, 3]);
      const expected: ChangeRow[] = [
        { seq: 1, collection: 'tasks', collectionId: 'c_tasks', recordId: 'r1', op: 'create', record: v1, previous: null, createdAt: at(1), txEnd: true },
        { seq: 2, collection: 'tasks', collectionId: 'c_tasks', recordId: 'r1', op: 'update', record: v2, previous: v1, createdAt: at(5), txEnd: true },
        { seq: 3, collection: 'tasks', collectionId: 'c_tasks', recordId: 'r1', op: 'delete', record: v2, previous: null, createdAt: at(9), txEnd: true },
      ];
      expect(await store.changes.readChanges(0, 10)).toEqual(expected);
      expect(await store.changes.readChanges(1, 1)).toEqual([expected[1]]);
      expect(await store.changes.readChanges(3, 10)).toEqual([]);
      expect(await store.changes.latestSeq()).toBe(3);
      expect(await store.changes.oldestSeq()).toBe(1);
    });

    it('keeps which change ends its transaction, and finds the end of a transaction from any of its changes', async () => {
      await store.transaction((tx) => tx.changes.appendChange(change(row('s1'))));
      await store.transaction(async (tx) => {
        await tx.changes.appendChange(change(row('b1'), { txEnd: false }));
        await tx.changes.appendChange(change(row('b2'), { txEnd: false, collectionId: 'c_other' }));
        await tx.changes.appendChange(change(row('b3'), { txEnd: true, collectionId: 'c_other' }));
      });
      await store.transaction((tx) => tx.changes.appendChange(change(row('s2'))));
      expect((await store.changes.readChanges(0, 10)).map((c) => [c.seq, c.txEnd])).toEqual([[1, true], [2, false], [3, false], [4, true], [5, true]]);
      expect((await store.changes.readCollectionChanges('c_tasks', 0, 10, 1e9)).map((c) => c.txEnd)).toEqual([true, false, true]);
      expect(await store.changes.findTransactionEnd(1)).toBe(1);
      expect(await store.changes.findTransactionEnd(2)).toBe(4);
      expect(await store.changes.findTransactionEnd(3)).toBe(4);
      expect(await store.changes.findTransactionEnd(4)).toBe(4);
      expect(await store.changes.findTransactionEnd(6)).toBeNull();
    });

    it('appends several changes at once with consecutive seqs, in order, and rolls them back with their transaction', async () => {
      await store.transaction((tx) => tx.changes.appendChange(change(row('a0'))));
      const seqs = await store.transaction((tx) => tx.changes.appendChanges([
        change(row('a1'), { txEnd: false }),
        change(row('a2'), { txEnd: false, collectionId: 'c_other', op: 'update', previous: row('a2', { version: 0 }) }),
        change(row('a3'), { txEnd: true, createdAt: at(3) }),
      ]));
      expect(seqs).toEqual([2, 3, 4]);
      const read = await store.changes.readChanges(1, 10);
      expect(read.map((c) => [c.seq, c.recordId, c.collectionId, c.op, c.txEnd])).toEqual([
        [2, 'a1', 'c_tasks', 'create', false], [3, 'a2', 'c_other', 'update', false], [4, 'a3', 'c_tasks', 'create', true],
      ]);
      expect(read[1]!.previous).toEqual(row('a2', { version: 0 }));
      expect(read[0]!.previous).toBeNull();
      expect(read[2]!.createdAt).toBe(at(3));
      expect(read[0]!.record).toEqual(row('a1'));
      await expect(store.transaction(async (tx) => {
        await tx.changes.appendChanges([change(row('x1'), { txEnd: false }), change(row('x2'))]);
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await store.changes.latestSeq()).toBe(4);
      expect(await store.transaction((tx) => tx.changes.appendChange(change(row('a5'))))).toBe(5);
    });

    it('keeps neither the record nor its change when the transaction throws, and the counter does not move', async () => {
      await store.transaction((tx) => create(tx, row('r0')));
      const boom = new Error('boom');
      await expect(store.transaction(async (tx) => {
        expect(await create(tx, row('r1'))).toBe(2);
        throw boom;
      }, { isolation: 'read committed' })).rejects.toBe(boom);
      expect(await store.records.findRecord('tasks', 'r1')).toBeNull();
      expect(await store.changes.readChanges(0, 10)).toHaveLength(1);
      expect(await store.changes.latestSeq()).toBe(1);
      // The rolled-back seq is handed out again: no gap.
      expect(await store.transaction((tx) => create(tx, row('r2')))).toBe(2);
    });

    it('hides a change until its transaction commits', async () => {
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let appended = (): void => undefined;
      const appendedP = new Promise<void>((resolve) => (appended = resolve));
      const tx = store.transaction(async (t) => {
        await create(t, row('r1'));
        appended();
        await released;
      }, { isolation: 'read committed' });
      await appendedP;
      expect(await store.changes.readChanges(0, 10)).toEqual([]);
      expect(await store.changes.latestSeq()).toBe(0);
      release();
      await tx;
      expect((await store.changes.readChanges(0, 10)).map((c) => c.seq)).toEqual([1]);
    });

    it('prunes old changes as a prefix of the log, keeping the counter', async () => {
      // created_at comes from each writer's clock: seq 3 claims to be older than seq 2.
      const times = [at(10), at(30), at(20), at(40), at(50)];
      for (const [i, time] of times.entries()) await store.transaction((tx) => create(tx, row(`r${i}`), time));
      expect(await store.changes.pruneChanges(at(5))).toBe(0);
      // Before 25 s: seqs 1 and 3, but deleting 3 would leave a hole at 2 (newer): only 1 goes.
      expect(await store.changes.pruneChanges(at(25))).toBe(1);
      expect(await store.changes.oldestSeq()).toBe(2);
      expect(await store.changes.pruneChanges(at(35))).toBe(2);
      expect((await store.changes.readChanges(0, 10)).map((c) => c.seq)).toEqual([4, 5]);
      expect(await store.changes.pruneChanges(at(3600))).toBe(2);
      expect(await store.changes.oldestSeq()).toBeNull();
      // The log is empty, but seqs never go back.
      expect(await store.changes.latestSeq()).toBe(5);
      expect(await store.transaction((tx) => create(tx, row('r9')))).toBe(6);
      expect(await store.changes.oldestSeq()).toBe(6);
    });

    it('gives concurrent SERIALIZABLE (default) writers gap-free seqs too', async () => {
      const seqs = await Promise.all(range(1, 6).map((i) => store.transaction((tx) => create(tx, row(`s${i}`)))));
      expect([...seqs].sort((a, b) => a - b)).toEqual(range(1, 6));
    });
  });

  describe.skipIf(skip)('ordering under concurrent writers', () => {
    it('8 writers × 200 READ COMMITTED transactions: seqs 1..N, and a tailer sees each once, in order', { timeout: 120_000 }, async () => {
      const WRITERS = 8;
      const PER_WRITER = 200;
      const N = WRITERS * PER_WRITER;
      let writing = true;

      // Each writer is its own loop of transactions, each on its own pool client
      // (PostgreSQL). Random pauses before and after the append make commits
      // interleave in every order a scheduler could produce.
      const writers = range(1, WRITERS).map(async (w) => {
        for (let i = 0; i < PER_WRITER; i++) {
          await store.transaction(async (tx) => {
            await tx.records.insertRecord('tasks', row(`w${w}_${i}`));
            if (Math.random() < 0.3) await sleep(Math.random() * 2);
            await tx.changes.appendChange(change(row(`w${w}_${i}`)));
            if (Math.random() < 0.1) await sleep(Math.random() * 2);
          }, { isolation: 'read committed' });
        }
      });

      // The tailer: exactly what the realtime change feed does.
      const tailed: number[] = [];
      const tailer = tailChanges(store, () => writing, (c) => tailed.push(c.seq));

      await Promise.all(writers);
      writing = false;
      const { polls, pollsWhileWriting } = await tailer;

      expect(tailed).toEqual(range(1, N)); // every seq, once, in order: nothing skipped
      const all = await store.changes.readChanges(0, N + 10);
      expect(all.map((c) => c.seq)).toEqual(range(1, N));
      expect(await store.changes.latestSeq()).toBe(N);
      expect(new Set(all.map((c) => c.recordId)).size).toBe(N);
      expect(pollsWhileWriting).toBeGreaterThan(5); // it really did tail while writes were committing
      expect(polls).toBeGreaterThan(pollsWhileWriting);
      const { rows, seq } = await store.records.queryRecords('tasks', {
        filter: null, after: null, limit: 200,
        sort: [{ field: { kind: 'system', name: 'createdAt' }, direction: 'asc' }, { field: { kind: 'system', name: 'id' }, direction: 'asc' }],
      });
      expect(rows).toHaveLength(200);
      expect(seq).toBe(N);
    });
  });
});
