/**
 * The RecordRepository contract (core/storage/store.ts) on every backend:
 * point operations, compare-and-set, scans, and list queries with the
 * change-log position they reflect.
 */
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, type Collection, type JsonObject } from '../../src/core/collections/collection.js';
import { AppError } from '../../src/core/errors.js';
import { cursorPositionOf } from '../../src/core/records/query/cursor.js';
import type { FilterNode, RecordQuery, SortKey } from '../../src/core/records/query/query-types.js';
import { parseStoredRecord, type ChangeOp, type RecordRow } from '../../src/core/records/record.js';
import { recordJson, toRecordDto } from '../../src/core/records/record-dto.js';
import type { Store } from '../../src/core/storage/store.js';
import { openStore } from '../../src/adapters/open-store.js';
import { STORES, TEST_READ_CACHE_BYTES, freshStoreEachTest, type OpenedStore } from '../helpers/stores.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const isAppError = (code: string) => (error: unknown): boolean => error instanceof AppError && error.code === code;

const TASKS: Collection = {
  id: 'c_tasks',
  name: 'tasks',
  schema: { type: 'object' },
  rules: DEFAULT_RULES,
  indexes: [['done', 'priority']],
  schemaVersion: 1,
  createdAt: at(0),
  updatedAt: at(0),
};

function row(id: string, data: JsonObject = {}, overrides: Partial<RecordRow> = {}): RecordRow {
  return { id, owner: 'u_1', version: 1, createdAt: at(0), updatedAt: at(0), data, ...overrides };
}

const DEFAULT_SORT: readonly SortKey[] = [
  { field: { kind: 'system', name: 'createdAt' }, direction: 'asc' },
  { field: { kind: 'system', name: 'id' }, direction: 'asc' },
];

function query(overrides: Partial<RecordQuery> = {}): RecordQuery {
  return { filter: null, sort: DEFAULT_SORT, after: null, limit: 50, ...overrides };
}

describe.each(STORES)('records storage: $name', (factory) => {
  const skip = factory.skipReason !== null;
  let store: Store;

  /** Writes a record and its change in one transaction, as the record service does. */
  async function write(op: ChangeOp, record: RecordRow): Promise<number> {
    return store.transaction(async (tx) => {
      if (op === 'create') await tx.records.insertRecord('tasks', record);
      else if (op === 'update') expect(await tx.records.updateRecord('tasks', record, record.version - 1)).toBe(true);
      else expect(await tx.records.deleteRecord('tasks', record.id, record.version)).toBe(true);
      return tx.changes.appendChange({ collection: 'tasks', collectionId: 'c_tasks', recordId: record.id, op, record, previous: null, createdAt: at(0), txEnd: true });
    }, { isolation: 'read committed' });
  }

  let opened: OpenedStore;
  freshStoreEachTest(factory, async (o) => {
    opened = o;
    store = o.store;
    await store.collections.insertCollection(TASKS);
  });

  describe.skipIf(skip)(skip ? `SKIPPED: ${factory.skipReason}` : 'point operations', () => {
    it('inserts and finds a record, data and times unchanged', async () => {
      const record = row('r1', { title: 'Ünïcode ✓', nested: { list: [1, 2.5, 'x', null, true], deep: { a: {} } }, n: -0.125 }, {
        owner: null, createdAt: '2025-01-01T00:00:00.123Z', updatedAt: '2025-01-02T03:04:05.678Z',
      });
      await store.records.insertRecord('tasks', record);
      expect(await store.records.findRecord('tasks', 'r1')).toEqual(record);
      expect(await store.records.findRecord('tasks', 'missing')).toBeNull();
      expect(await store.transaction((tx) => tx.records.findRecordToChange('tasks', 'r1'))).toEqual(record);
      expect(await store.transaction((tx) => tx.records.findRecordToChange('tasks', 'missing'))).toBeNull();
    });

    it('reads a record with its data as stored JSON text that answers exactly like the parsed record', async () => {
      const cases: Array<[string, JsonObject]> = [
        ['plain', { title: 'Ünïcode ✓ "quoted" \\ </script>', n: -0.125, big: 1e21, tiny: 5e-324, list: [1, 'x', null, false, {}] }],
        ['empty', {}],
        ['nested', { a: { b: { c: [[], {}] } }, ' spaced key ': '\u2028' }],
      ];
      for (const [id, data] of cases) {
        const record = row(id, data, { owner: id === 'empty' ? null : 'u1' });
        await store.records.insertRecord('tasks', record);
        const stored = (await store.records.readRecord('tasks', id))!;
        expect(parseStoredRecord(stored)).toEqual(record);
        // The spliced answer is the same JSON as serializing the parsed record.
        const answered = JSON.parse(recordJson(stored)) as Record<string, unknown>;
        expect(answered).toEqual(toRecordDto(record));
        expect(Object.keys(answered).slice(0, 5)).toEqual(['id', 'createdAt', 'updatedAt', 'owner', 'version']);
      }
      expect(await store.records.readRecord('tasks', 'missing')).toBeNull();
      await expect(store.records.readRecord('ghost', 'r1')).rejects.toSatisfy(isAppError('not_found'));
    });

    it('rejects a duplicate id with conflict', async () => {
      await store.records.insertRecord('tasks', row('r1', { a: 1 }));
      await expect(store.records.insertRecord('tasks', row('r1', { a: 2 }))).rejects.toSatisfy(isAppError('conflict'));
      expect((await store.records.findRecord('tasks', 'r1'))?.data).toEqual({ a: 1 });
    });

    it('reports a missing collection as not_found', async () => {
      await expect(store.records.insertRecord('ghost', row('r1'))).rejects.toSatisfy(isAppError('not_found'));
      await expect(store.records.findRecord('ghost', 'r1')).rejects.toSatisfy(isAppError('not_found'));
      await expect(store.records.queryRecords('ghost', query())).rejects.toSatisfy(isAppError('not_found'));
      await expect(store.records.findRecord('Bad"Name', 'r1')).rejects.toSatisfy(isAppError('not_found'));
    });

    it('updates with compare-and-set on version', async () => {
      const v1 = row('r1', { title: 'a' });
      await store.records.insertRecord('tasks', v1);
      const v2 = { ...v1, version: 2, updatedAt: at(60), data: { title: 'b' } };
      expect(await store.records.updateRecord('tasks', v2, 1)).toBe(true);
      expect(await store.records.findRecord('tasks', 'r1')).toEqual(v2);
      // Stale expected version: nothing changes.
      expect(await store.records.updateRecord('tasks', { ...v2, version: 3, data: { title: 'stale' } }, 1)).toBe(false);
      expect(await store.records.findRecord('tasks', 'r1')).toEqual(v2);
      expect(await store.records.updateRecord('tasks', row('missing', {}, { version: 2 }), 1)).toBe(false);
    });

    it('deletes with compare-and-set on version', async () => {
      await store.records.insertRecord('tasks', row('r1', {}, { version: 3 }));
      expect(await store.records.deleteRecord('tasks', 'r1', 2)).toBe(false);
      expect(await store.records.findRecord('tasks', 'r1')).not.toBeNull();
      expect(await store.records.deleteRecord('tasks', 'r1', 3)).toBe(true);
      expect(await store.records.findRecord('tasks', 'r1')).toBeNull();
      expect(await store.records.deleteRecord('tasks', 'r1', 3)).toBe(false);
    });

    it('lets exactly one of concurrent read-committed updates of one version win', async () => {
      await store.records.insertRecord('tasks', row('r1', { n: 0 }));
      // PostgreSQL: five instances (one store each; one instance's
      // transactions share commits and run one after another), all reading
      // the same version before any writes. SQLite runs them one after
      // another, so each finds the newest version: all win.
      const concurrent = factory.name === 'postgres';
      const writers = concurrent ? await Promise.all(Array.from({ length: 5 }, () => openStore({ databaseUrl: opened.url, dataDir: tmpdir() }))) : [];
      try {
        for (let round = 0; round < 3; round++) {
          let reads = 0;
          const results = await Promise.all(Array.from({ length: 5 }, (_, i) => (writers[i] ?? store).transaction(async (tx) => {
            const current = (await tx.records.findRecord('tasks', 'r1'))!;
            reads += 1;
            while (concurrent && reads < 5) await sleep(1);
            return tx.records.updateRecord('tasks', { ...current, version: current.version + 1, data: { n: i } }, current.version);
          }, { isolation: 'read committed' })));
          expect(results.filter(Boolean)).toHaveLength(concurrent ? 1 : 5);
        }
      } finally {
        await Promise.all(writers.map((w) => w.close()));
      }
    });

    it('scans a whole collection in id order, a batch at a time', async () => {
      const ids = ['k', 'a', 'Z', 'b-2', 'b_1', '0', 'zz'];
      for (const id of ids) await store.records.insertRecord('tasks', row(id));
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const batch = await store.records.scanRecords('tasks', after, 3);
        seen.push(...batch.map((r) => r.id));
        if (batch.length < 3) break;
        after = batch.at(-1)!.id;
      }
      // Byte order, as JavaScript compares these ASCII ids.
      expect(seen).toEqual([...ids].sort());
    });

    it('reads its own uncommitted writes inside a transaction and hides them outside', async () => {
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let inserted = (): void => undefined;
      const insertedP = new Promise<void>((resolve) => (inserted = resolve));
      const tx = store.transaction(async (t) => {
        await t.records.insertRecord('tasks', row('r1'));
        expect(await t.records.findRecord('tasks', 'r1')).not.toBeNull();
        expect((await t.records.queryRecords('tasks', query())).rows).toHaveLength(1);
        inserted();
        await released;
      }, { isolation: 'read committed' });
      await insertedP;
      expect(await store.records.findRecord('tasks', 'r1')).toBeNull();
      expect((await store.records.queryRecords('tasks', query())).rows).toEqual([]);
      release();
      await tx;
      expect(await store.records.findRecord('tasks', 'r1')).not.toBeNull();
    });
  });

  describe.skipIf(skip)('queries', () => {
    const records = [
      row('a', { done: false, priority: 3, title: 'write spec' }, { createdAt: at(1) }),
      row('b', { done: true, priority: 5, title: 'ship' }, { createdAt: at(2), owner: 'u_2' }),
      row('c', { done: false, priority: 1, title: 'review' }, { createdAt: at(3) }),
      row('d', { done: false, priority: 3, title: 'test' }, { createdAt: at(4), owner: null }),
      row('e', { priority: 9 }, { createdAt: at(5) }),
    ];
    const notDone: FilterNode = { op: 'eq', field: { kind: 'data', path: ['done'] }, value: false };
    const byPriorityDesc: SortKey[] = [
      { field: { kind: 'data', path: ['priority'] }, direction: 'desc' },
      { field: { kind: 'system', name: 'id' }, direction: 'asc' },
    ];

    beforeEach(async () => {
      for (const r of records) await store.records.insertRecord('tasks', r);
    });

    it('lists every record in the default order', async () => {
      const { rows } = await store.records.queryRecords('tasks', query());
      expect(rows.map(parseStoredRecord)).toEqual(records);
    });

    it('filters and sorts', async () => {
      const { rows } = await store.records.queryRecords('tasks', query({ filter: notDone, sort: byPriorityDesc }));
      expect(rows.map((r) => r.id)).toEqual(['a', 'd', 'c']);
      const mine = await store.records.queryRecords('tasks', query({
        filter: { op: 'and', children: [{ op: 'eq', field: { kind: 'system', name: 'owner' }, value: 'u_1' }, { op: 'gte', field: { kind: 'data', path: ['priority'] }, value: 3 }] },
      }));
      expect(mine.rows.map((r) => r.id)).toEqual(['a', 'e']);
      expect((await store.records.queryRecords('tasks', query({ filter: { op: 'eq', field: { kind: 'data', path: ['title'] }, value: 'nope' } }))).rows).toEqual([]);
    });

    it('pages with limit and a keyset cursor', async () => {
      const sort = byPriorityDesc;
      const seen: string[] = [];
      let after: RecordQuery['after'] = null;
      for (let page = 0; page < 10; page++) {
        // One more than the page size, as the record service asks, to know whether more follow.
        const { rows } = await store.records.queryRecords('tasks', query({ sort, after, limit: 3 }));
        const pageRows = rows.slice(0, 2);
        seen.push(...pageRows.map((r) => r.id));
        if (rows.length <= 2) break;
        after = cursorPositionOf(parseStoredRecord(pageRows.at(-1)!), sort);
        // A record inserted behind the cursor meanwhile is not shown again; none is skipped.
        if (page === 0) await store.records.insertRecord('tasks', row('f', { priority: 99 }, { createdAt: at(6) }));
      }
      expect(seen).toEqual(['e', 'b', 'a', 'd', 'c']);
    });

    it('returns the seq of the change log the rows reflect', async () => {
      expect((await store.records.queryRecords('tasks', query())).seq).toBe(0);
      const s1 = await write('create', row('n1', { done: false }, { createdAt: at(10) }));
      const first = await store.records.queryRecords('tasks', query({ filter: notDone }));
      expect(first.seq).toBe(s1);
      expect(first.rows.map((r) => r.id)).toContain('n1');
      const s2 = await write('delete', row('n1', { done: false }, { createdAt: at(10) }));
      // Also when nothing matches: the seq comes with an empty page.
      const empty = await store.records.queryRecords('tasks', query({ filter: { op: 'eq', field: { kind: 'system', name: 'id' }, value: 'n1' } }));
      expect(empty).toEqual({ rows: [], seq: s2, truncated: false });
      expect(s2).toBe(s1 + 1);
    });

    it('stops a page after the row whose JSON passes maxChars, and says whether more would have followed', async () => {
      for (const [i, id] of ['m1', 'm2', 'm3', 'm4'].entries()) await store.records.insertRecord('tasks', row(id, { blob: 'b'.repeat(1000) }, { createdAt: at(20 + i) }));
      const only = { op: 'startsWith', field: { kind: 'system', name: 'id' }, value: 'm' } as const;
      const cut = await store.records.queryRecords('tasks', query({ filter: only, maxChars: 1500 }));
      expect(cut.rows.map((r) => r.id)).toEqual(['m1', 'm2']);
      expect(cut.truncated).toBe(true);
      // Passing the budget at the last row there is: nothing more to tell.
      const last = await store.records.queryRecords('tasks', query({ filter: only, maxChars: 3500 }));
      expect(last.rows.map((r) => r.id)).toEqual(['m1', 'm2', 'm3', 'm4']);
      expect(last.truncated).toBe(false);
      // One row is always sent, however large.
      expect((await store.records.queryRecords('tasks', query({ filter: only, maxChars: 1 }))).rows.map((r) => r.id)).toEqual(['m1']);
      const whole = await store.records.queryRecords('tasks', query({ filter: only }));
      expect(whole.rows).toHaveLength(4);
      expect(whole.truncated).toBe(false);
    });

    it('never returns a seq ahead of its rows while writers commit', async () => {
      // Each write adds a record and its change; a consistent read sees exactly seq records more than at the start.
      const base = (await store.records.queryRecords('tasks', query({ limit: 200 }))).rows.length;
      let stop = false;
      const writers = Array.from({ length: 3 }, async (_, w) => {
        for (let i = 0; !stop && i < 60; i++) await write('create', row(`w${w}_${i}`, {}, { createdAt: at(100 + i) }));
      });
      for (let i = 0; i < 40; i++) {
        const { rows, seq } = await store.records.queryRecords('tasks', query({ limit: 200 }));
        expect(rows.length - base).toBe(seq);
        await sleep(1);
      }
      stop = true;
      await Promise.all(writers);
    });
  });

  describe.skipIf(skip)('reads after writes', () => {
    it('reads a record as of the last commit: a read during an open transaction, then every kind of write', async () => {
      const dataOf = async (id: string): Promise<unknown> => {
        const stored = await store.records.readRecord('tasks', id);
        return stored && JSON.parse(stored.dataJson);
      };
      await write('create', row('r1', { n: 1 }));
      expect(await dataOf('r1')).toEqual({ n: 1 });
      expect(await dataOf('r1')).toEqual({ n: 1 });
      // Read while the update is written but not committed: the old data, and the new one right after the commit.
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let updated = (): void => undefined;
      const updatedP = new Promise<void>((resolve) => (updated = resolve));
      const tx = store.transaction(async (t) => {
        expect(await t.records.updateRecord('tasks', row('r1', { n: 2 }, { version: 2 }), 1)).toBe(true);
        updated();
        await released;
      }, { isolation: 'read committed' });
      await updatedP;
      expect(await dataOf('r1')).toEqual({ n: 1 });
      release();
      await tx;
      expect(await dataOf('r1')).toEqual({ n: 2 });
      expect((await store.records.findRecord('tasks', 'r1'))?.version).toBe(2);
      // A transaction that rolls back leaves the record as it was.
      await expect(store.transaction(async (t) => {
        await t.records.updateRecord('tasks', row('r1', { n: 3 }, { version: 3 }), 2);
        throw new Error('abort');
      })).rejects.toThrow('abort');
      expect(await dataOf('r1')).toEqual({ n: 2 });
      // One statement outside a transaction.
      expect(await store.records.updateRecord('tasks', row('r1', { n: 4 }, { version: 3 }), 2)).toBe(true);
      expect(await dataOf('r1')).toEqual({ n: 4 });
      expect(await store.records.deleteRecord('tasks', 'r1', 3)).toBe(true);
      expect(await dataOf('r1')).toBeNull();
      // Dropped and made again under the same name, with a record of the same id.
      await store.records.insertRecord('tasks', row('r1', { n: 5 }));
      expect(await dataOf('r1')).toEqual({ n: 5 });
      expect(await store.collections.deleteCollection('tasks')).toBe(true);
      await store.collections.insertCollection(TASKS);
      expect(await dataOf('r1')).toBeNull();
      await store.records.insertRecord('tasks', row('r1', { n: 6 }));
      expect(await dataOf('r1')).toEqual({ n: 6 });
    });


    it('answers a repeated list with every write committed since, at once (updates, deletes, collection changes)', async () => {
      const ids = async (): Promise<string[]> => (await store.records.queryRecords('tasks', query())).rows.map((r) => r.id);
      const dataOf = async (id: string): Promise<unknown> =>
        JSON.parse((await store.records.queryRecords('tasks', query())).rows.find((r) => r.id === id)!.dataJson);
      await write('create', row('a', { n: 1 }, { createdAt: at(1) }));
      expect(await ids()).toEqual(['a']);
      expect(await ids()).toEqual(['a']);
      await write('create', row('b', { n: 2 }, { createdAt: at(2) }));
      expect(await ids()).toEqual(['a', 'b']);
      await write('update', row('a', { n: 10 }, { createdAt: at(1), version: 2 }));
      expect(await dataOf('a')).toEqual({ n: 10 });
      // A write outside any transaction (one statement) counts too.
      await store.records.insertRecord('tasks', row('c', {}, { createdAt: at(3) }));
      expect(await ids()).toEqual(['a', 'b', 'c']);
      await write('delete', row('b', { n: 2 }, { createdAt: at(2), version: 1 }));
      expect(await ids()).toEqual(['a', 'c']);
      // The table dropped and made again under the same name.
      expect(await store.collections.deleteCollection('tasks')).toBe(true);
      await store.collections.insertCollection(TASKS);
      expect(await ids()).toEqual([]);
    });

    it('sees, within a second, the writes of another store on the same database (lists and records)', async () => {
      const other = await openStore({ databaseUrl: opened.url, dataDir: tmpdir(), readCacheBytes: TEST_READ_CACHE_BYTES });
      try {
        expect((await store.records.queryRecords('tasks', query())).rows).toEqual([]);
        await store.records.insertRecord('tasks', row('here', { n: 1 }));
        expect(JSON.parse((await store.records.readRecord('tasks', 'here'))!.dataJson)).toEqual({ n: 1 });
        await other.records.insertRecord('tasks', row('elsewhere'));
        expect(await other.records.updateRecord('tasks', row('here', { n: 2 }, { version: 2 }), 1)).toBe(true);
        const deadline = Date.now() + 1500;
        const look = async () => ({
          ids: (await store.records.queryRecords('tasks', query())).rows.map((r) => r.id),
          here: JSON.parse((await store.records.readRecord('tasks', 'here'))!.dataJson) as unknown,
        });
        let seen = await look();
        while ((seen.ids.length < 2 || seen.ids.length === 2 && JSON.stringify(seen.here) !== '{"n":2}') && Date.now() < deadline) {
          await sleep(20);
          seen = await look();
        }
        expect(seen.ids.sort()).toEqual(['elsewhere', 'here']);
        expect(seen.here).toEqual({ n: 2 });
      } finally {
        await other.close();
      }
    });
  });
});
