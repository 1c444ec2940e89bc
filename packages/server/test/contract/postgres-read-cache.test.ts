/**
 * The read cache on PostgreSQL: each instance answers repeated record reads
 * and list pages from memory, and is never stale. Before a cached answer is
 * used, one query (shared by every read that arrived before it started)
 * asks the database which records changed since the cache was last current;
 * so a read that starts after a write was acknowledged, on any instance,
 * sees that write.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, type Collection } from '../../src/core/collections/collection.js';
import type { RecordQuery } from '../../src/core/records/query/query-types.js';
import type { RecordRow } from '../../src/core/records/record.js';
import type { Store } from '../../src/core/storage/store.js';
import { openStore } from '../../src/adapters/open-store.js';
import { POSTGRES_MIGRATIONS, migratePostgres } from '../../src/adapters/postgres/postgres-migrations.js';
import { POSTGRES_SKIP_REASON, TEST_READ_CACHE_BYTES, announceSkip, createTestDatabaseUrl, type TestDatabase } from '../helpers/stores.js';

const at = new Date('2025-01-01T00:00:00.000Z').toISOString();
const collection = (name: string, id = `c_${name}`): Collection => ({
  id, name, schema: { type: 'object' }, rules: DEFAULT_RULES, indexes: [], schemaVersion: 1, createdAt: at, updatedAt: at,
});
const row = (id: string, data: RecordRow['data'], version = 1): RecordRow => ({ id, owner: null, version, createdAt: at, updatedAt: at, data });
const page: RecordQuery = { filter: null, sort: [{ field: { kind: 'system', name: 'id' }, direction: 'asc' }], after: null, limit: 50 };
const readCommitted = { isolation: 'read committed' } as const;

if (POSTGRES_SKIP_REASON !== null) announceSkip('the read cache on PostgreSQL', POSTGRES_SKIP_REASON);

describe.skipIf(POSTGRES_SKIP_REASON !== null)('the read cache on PostgreSQL, with two instances', () => {
  let db: TestDatabase | undefined;
  /** reader caches; writer is another instance. */
  let reader: Store;
  let writer: Store;
  let readerSql: string[] = [];

  beforeEach(async () => {
    db = await createTestDatabaseUrl('postgres');
    readerSql = [];
    reader = await openStore({ databaseUrl: db.url, dataDir: '/nonexistent', readCacheBytes: TEST_READ_CACHE_BYTES, onStatement: (sql) => readerSql.push(sql) });
    writer = await openStore({ databaseUrl: db.url, dataDir: '/nonexistent', readCacheBytes: TEST_READ_CACHE_BYTES });
    await writer.collections.insertCollection(collection('tasks'));
  });
  afterEach(async () => {
    await Promise.all([reader.close(), writer.close()]);
    await db?.dispose();
  });

  /** A record write as the record service makes it: the row and its change, in one transaction. */
  async function put(store: Store, record: RecordRow, name = 'tasks'): Promise<void> {
    await store.transaction(async (tx) => {
      if (record.version === 1) await tx.records.insertRecord(name, record);
      else expect(await tx.records.updateRecord(name, record, record.version - 1)).toBe(true);
      await tx.changes.appendChange({
        collection: name, collectionId: `c_${name}`, recordId: record.id, op: record.version === 1 ? 'create' : 'update', record, previous: null, createdAt: at, txEnd: true,
      });
    }, readCommitted);
  }
  const recordReads = (): number => readerSql.filter((sql) => /FROM "c_tasks"/.test(sql)).length;

  it('a repeated read is answered from memory: the second runs no query on the records', async () => {
    await put(writer, row('r1', { n: 1 }));
    expect((await reader.records.readRecord('tasks', 'r1'))?.dataJson).toBe('{"n": 1}');
    expect((await reader.records.queryRecords('tasks', page)).rows.map((r) => r.id)).toEqual(['r1']);
    const before = recordReads();
    expect((await reader.records.readRecord('tasks', 'r1'))?.dataJson).toBe('{"n": 1}');
    expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 1 });
    expect((await reader.records.queryRecords('tasks', page)).rows.map((r) => r.id)).toEqual(['r1']);
    expect(recordReads()).toBe(before);
  });

  it('concurrent reads share one check of the change log', async () => {
    await put(writer, row('r1', { n: 1 }));
    await reader.records.readRecord('tasks', 'r1');
    readerSql.length = 0;
    await Promise.all(Array.from({ length: 50 }, () => reader.records.readRecord('tasks', 'r1')));
    expect(readerSql.length).toBeGreaterThanOrEqual(1);
    expect(readerSql.length).toBeLessThanOrEqual(2);
  });

  it('a write acknowledged on another instance is seen by the next read, by id and in lists', async () => {
    await put(writer, row('r1', { n: 0 }));
    for (let n = 1; n <= 30; n++) {
      // Fill the cache, then write elsewhere, then read at once.
      await reader.records.readRecord('tasks', 'r1');
      await reader.records.queryRecords('tasks', page);
      await put(writer, row('r1', { n }, n + 1));
      await put(writer, row(`new${n}`, { n }));
      expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n });
      const listed = await reader.records.queryRecords('tasks', page);
      expect(listed.rows).toHaveLength(n + 1);
      expect(listed.rows.find((r) => r.id === 'r1')?.dataJson).toBe(JSON.stringify({ n }).replace(':', ': '));
    }
  });

  it('a collection deleted and created again elsewhere: the old records are gone', async () => {
    await put(writer, row('r1', { old: true }));
    expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ old: true });
    expect((await reader.records.queryRecords('tasks', page)).rows).toHaveLength(1);
    expect(await writer.collections.deleteCollection('tasks')).toBe(true);
    await writer.collections.insertCollection(collection('tasks', 'c_tasks_again'));
    expect(await reader.records.findRecord('tasks', 'r1')).toBeNull();
    expect((await reader.records.queryRecords('tasks', page)).rows).toEqual([]);
  });

  it('under concurrent writes elsewhere, no read is older than the last write acknowledged before it started', { timeout: 60_000 }, async () => {
    await put(writer, row('hot', { n: 0 }));
    let acknowledged = 0;
    let writing = true;
    const writes = (async () => {
      for (let n = 1; writing && n <= 400; n++) {
        await put(writer, row('hot', { n }, n + 1));
        acknowledged = n;
      }
    })();
    const stale: string[] = [];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 150; i++) {
        const floor = acknowledged;
        const [byId, listed] = await Promise.all([reader.records.findRecord('tasks', 'hot'), reader.records.queryRecords('tasks', page)]);
        const n = byId?.data['n'] as number;
        const m = JSON.parse(listed.rows[0]!.dataJson) as { n: number };
        if (n < floor || m.n < floor) stale.push(`read ${n}/${m.n} after ${floor} was acknowledged`);
        if (i % 10 === 0) await sleep(0);
      }
    }));
    writing = false;
    await writes;
    expect(stale).toEqual([]);
    expect(acknowledged).toBeGreaterThan(10);
  });

  it('a write made outside Sigil (another client, no change log) is seen by the next read', async () => {
    await put(writer, row('r1', { n: 1 }));
    await put(writer, row('r2', { n: 1 }));
    expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 1 });
    expect((await reader.records.queryRecords('tasks', page)).rows).toHaveLength(2);
    const psql = new pg.Client({ connectionString: db!.url });
    await psql.connect();
    try {
      await psql.query(`UPDATE c_tasks SET data = '{"n": 99}' WHERE id = 'r1'`);
      expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 99 });
      await psql.query(`DELETE FROM c_tasks WHERE id = 'r2'`);
      expect((await reader.records.queryRecords('tasks', page)).rows.map((r) => r.id)).toEqual(['r1']);
      await psql.query('TRUNCATE c_tasks');
      expect(await reader.records.findRecord('tasks', 'r1')).toBeNull();
    } finally {
      await psql.end();
    }
  });

  it('writes of another instance without their changes (one statement, or a transaction that appends none) are seen by the next read', async () => {
    await put(writer, row('r1', { n: 1 }));
    expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 1 });
    expect(await writer.records.updateRecord('tasks', row('r1', { n: 2 }, 2), 1)).toBe(true);
    expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 2 });
    await writer.transaction((tx) => tx.records.updateRecord('tasks', row('r1', { n: 3 }, 3), 2), readCommitted);
    expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 3 });
    await writer.transaction((tx) => tx.records.updateRecord('tasks', row('r1', { n: 4 }, 4), 3));
    expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 4 });
  });

  it('migration 12 puts the trigger on the records tables of an older database', async () => {
    const old = await createTestDatabaseUrl('postgres');
    const client = new pg.Client({ connectionString: old.url });
    await client.connect();
    try {
      await migratePostgres(client, POSTGRES_MIGRATIONS.filter((m) => m.version <= 11));
      // A collection as Sigil 11 made it: the row and a table without the trigger.
      await client.query(`INSERT INTO collections (id, name, schema, rules, indexes, schema_version, created_at, updated_at)
        VALUES ('c_old', 'old', '{"type":"object"}', '{}', '[]', 1, now(), now())`);
      await client.query('CREATE TABLE c_old (id text PRIMARY KEY, owner text, version integer NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, data jsonb NOT NULL)');
      expect(await migratePostgres(client)).toEqual([12]);
      const triggers = await client.query<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'c_old'::regclass AND NOT tgisinternal`);
      expect(triggers.rows.map((r) => r.tgname)).toEqual(['sigil_write_outside_log']);
      await client.query(`INSERT INTO c_old VALUES ('x', NULL, 1, now(), now(), '{}')`);
      expect((await client.query<{ n: string }>('SELECT n FROM writes_outside_log')).rows[0]!.n).toBe('1');
    } finally {
      await client.end();
      await old.dispose();
    }
  });

  it('reads inside a transaction are never cached: they see its own writes', async () => {
    await put(writer, row('r1', { n: 1 }));
    await reader.records.findRecord('tasks', 'r1');
    await reader.transaction(async (tx) => {
      expect(await tx.records.updateRecord('tasks', row('r1', { n: 2 }, 2), 1)).toBe(true);
      expect((await tx.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 2 });
      await tx.changes.appendChange({ collection: 'tasks', collectionId: 'c_tasks', recordId: 'r1', op: 'update', record: row('r1', { n: 2 }, 2), previous: null, createdAt: at, txEnd: true });
    }, readCommitted);
    expect((await reader.records.findRecord('tasks', 'r1'))?.data).toEqual({ n: 2 });
  });

  it('READ_CACHE_MB=0: every read queries the database', async () => {
    const plainSql: string[] = [];
    const plain = await openStore({ databaseUrl: db!.url, dataDir: '/nonexistent', readCacheBytes: 0, onStatement: (sql) => plainSql.push(sql) });
    try {
      await put(writer, row('r1', { n: 1 }));
      for (let i = 0; i < 3; i++) await plain.records.readRecord('tasks', 'r1');
      expect(plainSql.filter((sql) => /FROM "c_tasks"/.test(sql))).toHaveLength(3);
      expect(plainSql.filter((sql) => /change_counter/.test(sql))).toHaveLength(0);
    } finally {
      await plain.close();
    }
  });
});
