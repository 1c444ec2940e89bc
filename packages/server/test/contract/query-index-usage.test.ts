/**
 * The compilers promise that an index built on `sqliteIndexExpression` /
 * `postgresIndexExpression` serves equality and range filters on that field
 * (the storage adapter creates indexes with exactly those expressions). The
 * planners only match an index when the query uses the same expression, so
 * this asks each database's planner directly.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compilePostgresQuery, postgresIndexExpression } from '../../src/adapters/postgres/postgres-query.js';
import { compileSqliteQuery, sqliteIndexExpression } from '../../src/adapters/sqlite/sqlite-query.js';
import { cursorPositionOf } from '../../src/core/records/query/cursor.js';
import { parseFilter } from '../../src/core/records/query/filter.js';
import type { FieldRef, RecordQuery } from '../../src/core/records/query/query-types.js';
import { parseSort } from '../../src/core/records/query/sort.js';
import type { RecordRow } from '../../src/core/records/record.js';
import { createTestDatabaseUrl, type TestDatabase } from '../helpers/stores.js';

const COLUMNS = 'id, owner, version, created_at, updated_at, data';
const PRIORITY: FieldRef = { kind: 'data', path: ['priority'] };
const CREATED_AT: FieldRef = { kind: 'system', name: 'createdAt' };
const ID: FieldRef = { kind: 'system', name: 'id' };

/** 2,000 rows; priority takes 200 values (some rows have a string, a boolean or none, to keep the type checks honest). */
const ROWS: RecordRow[] = Array.from({ length: 2000 }, (_, i): RecordRow => ({
  id: `r${String(i).padStart(5, '0')}`,
  owner: i % 3 === 0 ? null : `u${i % 7}`,
  version: 1 + (i % 4),
  createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  updatedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  data: i % 50 === 0 ? { title: `t${i}` } : { title: `t${i}`, priority: i % 97 === 0 ? String(i % 200) : i % 89 === 0 || i % 200 },
}));

function query(filter: string, sort?: string, after: RecordQuery['after'] = null): RecordQuery {
  return { filter: parseFilter(filter), sort: parseSort(sort), after, limit: 21 };
}

const EQUALITY = '{"priority": 42}';
const RANGE = '{"priority": {"$gte": 10, "$lt": 12}}';
const IN = '{"priority": {"$in": [3, 4, "5"]}}';
const STRING_RANGE = '{"priority": {"$gte": "1", "$lt": "2"}}';

describe('SQLite uses indexes built on sqliteIndexExpression', () => {
  const db = new Database(':memory:');

  beforeAll(() => {
    db.exec(`CREATE TABLE "c_x" (id TEXT PRIMARY KEY, owner TEXT NULL, version INTEGER NOT NULL,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL, data TEXT NOT NULL)`);
    db.exec(`CREATE INDEX "ix_priority" ON "c_x" (${sqliteIndexExpression(PRIORITY)})`);
    db.exec(`CREATE INDEX "ix_created" ON "c_x" (${sqliteIndexExpression(CREATED_AT)}, ${sqliteIndexExpression(ID)})`);
    const insert = db.prepare('INSERT INTO "c_x" VALUES (?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const r of ROWS) insert.run(r.id, r.owner, r.version, r.createdAt, r.updatedAt, JSON.stringify(r.data));
    })();
    db.exec('ANALYZE');
  });
  afterAll(() => db.close());

  function plan(q: RecordQuery): { plan: string; count: number } {
    const { where, orderBy, params } = compileSqliteQuery(q);
    const sql = `SELECT ${COLUMNS} FROM "c_x" WHERE ${where} ORDER BY ${orderBy} LIMIT ?`;
    const rows = db.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`).all(...params, q.limit);
    return { plan: rows.map((r) => r.detail).join('\n'), count: db.prepare(sql).all(...params, 1000).length };
  }

  it.each([['equality', EQUALITY], ['numeric range', RANGE], ['$in', IN], ['string range', STRING_RANGE]])('%s on a data field', (_name, filter) => {
    const { plan: text, count } = plan(query(filter));
    expect(text).toMatch(/USING INDEX ix_priority/);
    expect(count).toBeGreaterThan(0);
  });

  it('the default sort with a cursor seeks the (created_at, id) index instead of sorting', () => {
    const after = cursorPositionOf(ROWS[1000]!, parseSort(undefined));
    const { plan: text, count } = plan(query('{}', undefined, after));
    expect(text).toMatch(/USING INDEX ix_created/);
    expect(text).not.toMatch(/TEMP B-TREE/);
    expect(count).toBe(999);
  });
});

describe('PostgreSQL uses indexes built on postgresIndexExpression', () => {
  const adminUrl = inject('pgAdminUrl');
  if (adminUrl === null) process.stderr.write(`\n!! query-index-usage: SKIPPING POSTGRESQL: ${inject('pgSkipReason') ?? 'unavailable'}\n\n`);
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    if (adminUrl === null) return;
    db = await createTestDatabaseUrl('postgres');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`CREATE TABLE "c_x" (id text PRIMARY KEY, owner text NULL, version integer NOT NULL,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, data jsonb NOT NULL)`);
    await client.query(`CREATE INDEX "ix_priority" ON "c_x" (${postgresIndexExpression(PRIORITY)})`);
    await client.query(`CREATE INDEX "ix_created" ON "c_x" (${postgresIndexExpression(CREATED_AT)}, ${postgresIndexExpression(ID)})`);
    await client.query(`INSERT INTO "c_x" SELECT x.id, x.owner, x.version, x."createdAt", x."updatedAt", x.data
      FROM jsonb_to_recordset($1::jsonb) AS x(id text, owner text, version integer, "createdAt" timestamptz, "updatedAt" timestamptz, data jsonb)`,
    [JSON.stringify(ROWS)]);
    await client.query('ANALYZE "c_x"');
    // 2,000 rows fit in a few pages, where a sequential scan is honestly cheaper; we ask whether the index CAN serve.
    await client.query('SET enable_seqscan = off');
  });
  afterAll(async () => {
    if (adminUrl === null) return;
    await client.end();
    await db.dispose();
  });

  async function plan(q: RecordQuery): Promise<{ plan: string; count: number }> {
    const { where, orderBy, params } = compilePostgresQuery(q);
    const sql = `SELECT ${COLUMNS} FROM "c_x" WHERE ${where} ORDER BY ${orderBy} LIMIT $${params.length + 1}`;
    const explained = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [...params, q.limit]);
    const result = await client.query(sql, [...params, 1000]);
    return { plan: explained.rows.map((r) => r['QUERY PLAN']).join('\n'), count: result.rowCount ?? 0 };
  }

  it.skipIf(adminUrl === null).each([['equality', EQUALITY], ['numeric range', RANGE], ['$in', IN]])('%s on a data field', async (_name, filter) => {
    const { plan: text, count } = await plan(query(filter));
    expect(text).toMatch(/(Index Scan|Bitmap Index Scan|Index Only Scan) (Backward )?using ix_priority|Bitmap Index Scan on ix_priority/);
    expect(count).toBeGreaterThan(0);
  });

  it.skipIf(adminUrl === null)('the default sort with a cursor scans the (created_at, id COLLATE "C") index instead of sorting', async () => {
    const after = cursorPositionOf(ROWS[1000]!, parseSort(undefined));
    const { plan: text, count } = await plan(query('{}', undefined, after));
    expect(text).toMatch(/Index Scan using ix_created/);
    expect(text).not.toMatch(/Sort/);
    expect(count).toBe(999);
  });
});
