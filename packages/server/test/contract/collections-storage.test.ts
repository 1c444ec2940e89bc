/**
 * The CollectionRepository contract (core/storage/store.ts) on every backend:
 * collections as rows, one records table each, indexes kept equal to
 * `Collection.indexes`.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresIndexColumns } from '../../src/adapters/postgres/postgres-query.js';
import { sqliteIndexColumns } from '../../src/adapters/sqlite/sqlite-query.js';
import { DEFAULT_RULES, type Collection } from '../../src/core/collections/collection.js';
import { AppError } from '../../src/core/errors.js';
import type { Store } from '../../src/core/storage/store.js';
import { STORES, type OpenedStore, freshStoreEachTest } from '../helpers/stores.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const isAppError = (code: string) => (error: unknown): boolean => error instanceof AppError && error.code === code;

function collection(name: string, overrides: Partial<Collection> = {}): Collection {
  return {
    id: `c_${name}`,
    name,
    // Key order on purpose not alphabetical: it must survive the round trip.
    schema: { type: 'object', properties: { title: { type: 'string' }, done: { type: 'boolean' }, priority: { type: 'integer' } } },
    rules: DEFAULT_RULES,
    indexes: [],
    schemaVersion: 1,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

/** Runs catalog queries against the store's database directly. */
async function inspect<T>(opened: OpenedStore, fn: (query: (sqlite: string, postgres: string, params?: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  if (opened.url.startsWith('sqlite:')) {
    const db = new Database(opened.url.slice('sqlite:'.length), { readonly: true });
    try {
      return await fn(async (sql, _pg, params = []) => db.prepare(sql).all(...params) as Record<string, unknown>[]);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: opened.url });
  await client.connect();
  try {
    return await fn(async (_sql, text, params = []) => (await client.query(text, params)).rows as Record<string, unknown>[]);
  } finally {
    await client.end();
  }
}

/** Index name → definition, for the records table of `name` (the primary key's own index left out). */
async function indexesOf(opened: OpenedStore, name: string): Promise<Map<string, string>> {
  const rows = await inspect(opened, (q) => q(
    `SELECT name, sql AS def FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`,
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = $1 AND indexname <> $1 || '_pkey'`,
    [`c_${name}`],
  ));
  return new Map(rows.map((r) => [String(r['name']), String(r['def'])]));
}

async function tableExists(opened: OpenedStore, name: string): Promise<boolean> {
  const rows = await inspect(opened, (q) => q(
    `SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?`,
    `SELECT tablename AS name FROM pg_tables WHERE tablename = $1`,
    [`c_${name}`],
  ));
  return rows.length === 1;
}

/**
 * Whether the database orders `name`'s records by a data field by walking
 * one of our indexes (rather than sorting): the proof an index exists on
 * exactly the expressions the query compiler sorts by.
 */
async function indexServesOrderBy(opened: OpenedStore, name: string, field: string): Promise<boolean> {
  const ref = { kind: 'data', path: [field] } as const;
  if (opened.url.startsWith('sqlite:')) {
    const rows = await inspect(opened, (q) => q(`EXPLAIN QUERY PLAN SELECT id FROM "c_${name}" ORDER BY ${sqliteIndexColumns(ref).join(', ')} LIMIT 1`, ''));
    const plan = rows.map((r) => String(r['detail'])).join('\n');
    return /USING (COVERING )?INDEX ix_/.test(plan) && !/TEMP B-TREE/.test(plan);
  }
  const client = new pg.Client({ connectionString: opened.url });
  await client.connect();
  try {
    await client.query('SET enable_seqscan = off');
    const result = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM "c_${name}" ORDER BY ${postgresIndexColumns(ref).join(', ')} LIMIT 1`);
    const plan = result.rows.map((r) => r['QUERY PLAN']).join('\n');
    return /Index (Only )?Scan.* using ix_/.test(plan) && !/Sort/.test(plan);
  } finally {
    await client.end();
  }
}

describe.each(STORES)('collections storage: $name', (factory) => {
  const skip = factory.skipReason !== null;
  let opened: OpenedStore;
  let store: Store;

  freshStoreEachTest(factory, async (o) => {
    opened = o;
    store = o.store;
  });

  describe.skipIf(skip)(skip ? `SKIPPED: ${factory.skipReason}` : 'collections', () => {
    it('creates, finds and lists collections by name', async () => {
      const tasks = collection('tasks', { indexes: [['done', 'priority']], rules: { ...DEFAULT_RULES, list: 'public' } });
      await store.collections.insertCollection(tasks);
      await store.collections.insertCollection(collection('notes'));
      await store.collections.insertCollection(collection('a_1'));
      const found = await store.collections.findCollection('tasks');
      expect(found).toEqual(tasks);
      expect(Object.keys(found!.schema['properties'] as object)).toEqual(['title', 'done', 'priority']);
      expect((await store.collections.listCollections()).map((c) => c.name)).toEqual(['a_1', 'notes', 'tasks']);
      expect(await store.collections.findCollection('nope')).toBeNull();
      expect(await store.collections.findSchemaStamp('tasks')).toEqual({ id: 'c_tasks', schemaVersion: 1 });
      expect(await store.collections.findSchemaStamp('nope')).toBeNull();
      expect(await tableExists(opened, 'tasks')).toBe(true);
    });

    it('rejects a duplicate name with conflict and leaves the first untouched', async () => {
      await store.collections.insertCollection(collection('tasks'));
      await expect(store.collections.insertCollection(collection('tasks', { schemaVersion: 9 })))
        .rejects.toSatisfy(isAppError('conflict'));
      expect((await store.collections.findCollection('tasks'))?.schemaVersion).toBe(1);
      // Concurrent creates of one name: exactly one wins.
      const results = await Promise.allSettled([0, 1, 2].map(() => store.collections.insertCollection(collection('race'))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toSatisfy(isAppError('conflict'));
    });

    it('creates a collection inside a transaction, or not at all when it rolls back', async () => {
      await store.transaction(async (tx) => tx.collections.insertCollection(collection('kept')));
      await expect(store.transaction(async (tx) => {
        await tx.collections.insertCollection(collection('gone'));
        throw new Error('rollback');
      })).rejects.toThrow('rollback');
      expect(await store.collections.findCollection('kept')).not.toBeNull();
      expect(await store.collections.findCollection('gone')).toBeNull();
      expect(await tableExists(opened, 'gone')).toBe(false);
    });

    it('indexes the default sort and owner, plus each declared index', async () => {
      await store.collections.insertCollection(collection('tasks', { indexes: [['done', 'priority'], ['owner']] }));
      const defs = [...(await indexesOf(opened, 'tasks')).values()];
      // (created_at, id), (owner, id) (declared too: one index), (done, priority, id): id always last.
      expect(defs).toHaveLength(3);
      expect(defs.some((d) => /\(created_at, id\)/.test(d))).toBe(true);
      expect(defs.some((d) => /\(owner( NULLS FIRST)?, id\)/.test(d))).toBe(true);
      expect(defs.some((d) => d.includes('done') && d.includes('priority') && /, id\)$/.test(d))).toBe(true);
    });

    it('updates a collection and creates or drops only the indexes that changed', async () => {
      const before = collection('tasks', { indexes: [['done', 'priority'], ['title']] });
      await store.collections.insertCollection(before);
      const first = await indexesOf(opened, 'tasks');
      expect(await indexServesOrderBy(opened, 'tasks', 'title')).toBe(true);
      expect(await indexServesOrderBy(opened, 'tasks', 'priority')).toBe(false);

      const after = collection('tasks', {
        schema: { type: 'object', properties: { title: { type: 'string' } } },
        rules: { ...DEFAULT_RULES, delete: 'admin' },
        indexes: [['priority'], ['title'], ['createdAt']],
        schemaVersion: 2,
        updatedAt: at(60),
      });
      expect(await store.transaction(async (tx) => {
        await tx.collections.lockCollection('tasks');
        return tx.collections.updateCollection(after);
      })).toBe(true);
      expect(await store.collections.findCollection('tasks')).toEqual(after);
      expect(await store.collections.findSchemaStamp('tasks')).toEqual({ id: 'c_tasks', schemaVersion: 2 });

      const second = await indexesOf(opened, 'tasks');
      const dropped = [...first.keys()].filter((n) => !second.has(n));
      const created = [...second.keys()].filter((n) => !first.has(n));
      expect(dropped.map((n) => first.get(n))).toEqual([expect.stringContaining('done')]);
      // (priority, id); (createdAt) is (created_at, id), the default sort's index, already there.
      expect(created).toHaveLength(1);
      // Unchanged ones are the very same indexes, not rebuilt copies.
      expect(second.size).toBe(first.size);
      expect(await indexServesOrderBy(opened, 'tasks', 'priority')).toBe(true);
      expect(await indexServesOrderBy(opened, 'tasks', 'title')).toBe(true);

      // Same indexes again: nothing changes.
      expect(await store.collections.updateCollection({ ...after, updatedAt: at(120) })).toBe(true);
      expect([...(await indexesOf(opened, 'tasks')).keys()].sort()).toEqual([...second.keys()].sort());
      expect(await store.collections.updateCollection(collection('nope'))).toBe(false);
    });

    it('deletes a collection with its table; a second delete finds nothing', async () => {
      await store.collections.insertCollection(collection('tasks', { indexes: [['done']] }));
      await store.records.insertRecord('tasks', { id: 'r1', owner: null, version: 1, createdAt: at(0), updatedAt: at(0), data: {} });
      expect(await store.collections.deleteCollection('tasks')).toBe(true);
      expect(await store.collections.findCollection('tasks')).toBeNull();
      expect(await tableExists(opened, 'tasks')).toBe(false);
      expect(await indexesOf(opened, 'tasks')).toEqual(new Map());
      expect(await store.collections.deleteCollection('tasks')).toBe(false);
      await expect(store.records.findRecord('tasks', 'r1')).rejects.toSatisfy(isAppError('not_found'));
      // The name is free again, with an empty table.
      await store.collections.insertCollection(collection('tasks'));
      expect(await store.records.findRecord('tasks', 'r1')).toBeNull();
      await store.records.insertRecord('tasks', { id: 'r1', owner: null, version: 1, createdAt: at(0), updatedAt: at(0), data: { again: true } });
      expect((await store.records.findRecord('tasks', 'r1'))?.data).toEqual({ again: true });
    });

    it('lockCollection holds record writes to that collection until the transaction ends, not reads', async () => {
      await store.collections.insertCollection(collection('tasks'));
      await store.collections.insertCollection(collection('other'));
      await store.records.insertRecord('tasks', { id: 'r0', owner: null, version: 1, createdAt: at(0), updatedAt: at(0), data: {} });
      const record = (id: string) => ({ id, owner: null, version: 1, createdAt: at(1), updatedAt: at(1), data: {} });
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked = (): void => undefined;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const events: string[] = [];
      const holder = store.transaction(async (tx) => {
        await tx.collections.lockCollection('tasks');
        locked();
        await released;
        events.push('unlock');
      });
      await lockTaken;
      const insert = store.transaction(async (tx) => tx.records.insertRecord('tasks', record('r1')), { isolation: 'read committed' })
        .then(() => events.push('insert'));
      // Reads go on meanwhile (SQLite: the reader connection; PostgreSQL: SHARE ROW EXCLUSIVE allows them).
      expect((await store.records.findRecord('tasks', 'r0'))?.id).toBe('r0');
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(events).toEqual([]);
      release();
      await Promise.all([holder, insert]);
      expect(events).toEqual(['unlock', 'insert']);
      expect(await store.records.findRecord('tasks', 'r1')).not.toBeNull();
    });

    it('reports a lock on a missing collection as not_found', async () => {
      const attempt = store.transaction(async (tx) => {
        await tx.collections.lockCollection('ghost');
        return tx.collections.findCollection('ghost');
      });
      // SQLite has nothing to lock, so nothing fails; PostgreSQL finds no table.
      if (factory.name === 'postgres') await expect(attempt).rejects.toSatisfy(isAppError('not_found'));
      else expect(await attempt).toBeNull();
    });
  });
});
