/**
 * The compilers promise that an index built on `sqliteIndexColumns` /
 * `postgresIndexColumns` (plus `id` last, as the storage adapters build them)
 * serves filters on that field, and sorts too: an equality or a range is an
 * index search on (rank, value), and the rows come out of the index already
 * in order, with no sort step, so `LIMIT 21` reads about 21 index entries.
 * The planners only match an index when the query uses the same expressions,
 * so this asks each database's planner directly, and checks the answers
 * against the JavaScript evaluator while at it.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compilePostgresQuery, postgresIndexColumns } from '../../src/adapters/postgres/postgres-query.js';
import { compileSqliteQuery, sqliteIndexColumns } from '../../src/adapters/sqlite/sqlite-query.js';
import { cursorPositionOf } from '../../src/core/records/query/cursor.js';
import { compareRecords, matchesFilter } from '../../src/core/records/query/evaluate.js';
import { parseFilter } from '../../src/core/records/query/filter.js';
import type { FieldRef, RecordQuery } from '../../src/core/records/query/query-types.js';
import { parseSort } from '../../src/core/records/query/sort.js';
import type { RecordRow } from '../../src/core/records/record.js';
import { createTestDatabaseUrl, type TestDatabase } from '../helpers/stores.js';

const COLUMNS = 'id, owner, version, created_at, updated_at, data';
const PRIORITY: FieldRef = { kind: 'data', path: ['priority'] };
const CREATED_AT: FieldRef = { kind: 'system', name: 'createdAt' };
const ID: FieldRef = { kind: 'system', name: 'id' };

/** The indexes, as the storage adapters build them for `indexes: [['priority'], ['priority', 'createdAt']]` (`id` always last). */
const INDEXES: Record<string, FieldRef[]> = {
  ix_priority: [PRIORITY, ID],
  ix_priority_created: [PRIORITY, CREATED_AT, ID],
  ix_created: [CREATED_AT, ID],
};

/** 2,000 rows; priority takes 200 values (some rows have a string, a boolean or none, to keep the type checks honest). */
const ROWS: RecordRow[] = Array.from({ length: 2000 }, (_, i): RecordRow => ({
  id: `r${String(i).padStart(5, '0')}`,
  owner: i % 3 === 0 ? null : `u${i % 7}`,
  version: 1 + (i % 4),
  createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  updatedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  data: i % 50 === 0 ? { title: `t${i}` } : { title: `t${i}`, priority: i % 97 === 0 ? String(i % 200) : i % 89 === 0 || i % 200 },
}));

function query(filter: string, sort?: string, after: RecordQuery['after'] = null, limit = 21): RecordQuery {
  return { filter: parseFilter(filter), sort: parseSort(sort), after, limit };
}

/**
 * The query's first page, then the page after it (a cursor from the first
 * page's last row). Pages of 4: each priority value has only ~10 rows here.
 */
function pages(filter: string, sort?: string): [string, RecordQuery][] {
  const first = query(filter, sort, null, 4);
  const last = expected(first).at(-1)!;
  return [['page 1', first], ['page 2', query(filter, sort, cursorPositionOf(ROWS.find((r) => r.id === last)!, first.sort), 4)]];
}

/** What the JavaScript evaluator answers: the reference. */
function expected(q: RecordQuery): string[] {
  const after = q.after === null ? null : ROWS.find((r) => JSON.stringify(cursorPositionOf(r, q.sort)) === JSON.stringify(q.after))!;
  return ROWS.filter((r) => matchesFilter(q.filter, r))
    .sort((a, b) => compareRecords(a, b, q.sort))
    .filter((r) => after === null || compareRecords(r, after, q.sort) > 0)
    .slice(0, q.limit)
    .map((r) => r.id);
}

const EQUALITY = '{"priority": 42}';
const RANGE = '{"priority": {"$gte": 10, "$lt": 12}}';
const IN = '{"priority": {"$in": [3, 4, "5"]}}';
const STRING_RANGE = '{"priority": {"$gte": "1", "$lt": "2"}}';

/** Filters and sorts that an index reads in order: [name, filter, sort, index]. */
const SERVED: [string, string, string | undefined, string][] = [
  // (a) equality, default sort: (rank, value) = (3, 42), then created_at, id from the composite index.
  ['(a) equality', EQUALITY, undefined, 'ix_priority_created'],
  ['(a) equality on a boolean', '{"priority": true}', '-createdAt', 'ix_priority_created'],
  // (b) a numeric range, sorted by the field: rank = 3 AND value in range, read in (value, id) order.
  ['(b) numeric range', RANGE, 'priority', 'ix_priority'],
  ['(b) numeric range, descending', '{"priority": {"$gte": 100}}', '-priority', 'ix_priority'],
  ['(b) string range', STRING_RANGE, '-priority', 'ix_priority'],
  // (c) the list the benchmark asks for: filter on one column of a composite index, sort on the next.
  ['(c) equality + sort on a composite index', EQUALITY, '-createdAt', 'ix_priority_created'],
  ['(c) equality + sort, with more keys', '{"priority": 7}', 'createdAt,id', 'ix_priority_created'],
];

describe('SQLite uses indexes built on sqliteIndexColumns', () => {
  const db = new Database(':memory:');

  beforeAll(() => {
    db.exec(`CREATE TABLE "c_x" (id TEXT PRIMARY KEY, owner TEXT NULL, version INTEGER NOT NULL,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL, data TEXT NOT NULL) STRICT`);
    for (const [name, fields] of Object.entries(INDEXES)) {
      db.exec(`CREATE INDEX "${name}" ON "c_x" (${fields.flatMap(sqliteIndexColumns).join(', ')})`);
    }
    const insert = db.prepare('INSERT INTO "c_x" VALUES (?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const r of ROWS) insert.run(r.id, r.owner, r.version, r.createdAt, r.updatedAt, JSON.stringify(r.data));
    })();
    db.exec('ANALYZE');
  });
  afterAll(() => db.close());

  function run(q: RecordQuery): { plan: string; ids: string[] } {
    const { where, orderBy, params } = compileSqliteQuery(q);
    const sql = `SELECT ${COLUMNS} FROM "c_x" WHERE ${where} ORDER BY ${orderBy} LIMIT ?`;
    const rows = db.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`).all(...params, q.limit);
    return { plan: rows.map((r) => r.detail).join('\n'), ids: db.prepare(sql).pluck().all(...params, q.limit) as string[] };
  }

  describe.each(SERVED)('%s', (_name, filter, sort, index) => {
    it.each(pages(filter, sort))('%s: searches the index, no sort step', (_page, q) => {
      const { plan, ids } = run(q);
      expect(plan).toMatch(new RegExp(`SEARCH c_x USING INDEX ${index} \\(<expr>=\\? AND <expr>`));
      expect(plan).not.toMatch(/TEMP B-TREE/);
      expect(ids).toEqual(expected(q));
      expect(ids.length).toBeGreaterThan(0);
    });
  });

  it('a page after the first of (c) seeks to the cursor in the index', () => {
    const [, second] = pages(EQUALITY, '-createdAt')[1]!;
    expect(run(second).plan).toMatch(/USING INDEX ix_priority_created \(<expr>=\? AND <expr>=\? AND \(created_at,id\)<\(\?,\?\)\)/);
  });

  it.each([['$in', IN], ['string range', STRING_RANGE]])('%s with the default sort searches the index', (_name, filter) => {
    const q = query(filter);
    const { plan, ids } = run(q);
    expect(plan).toMatch(/USING INDEX ix_priority/);
    expect(ids).toEqual(expected(q));
    expect(ids.length).toBeGreaterThan(0);
  });

  it('sorting on the field alone reads the index in order', () => {
    const q = query('{}', '-priority');
    const { plan, ids } = run(q);
    expect(plan).toMatch(/SCAN c_x USING INDEX ix_priority\b/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
    expect(ids).toEqual(expected(q));
  });

  it('the default sort with a cursor seeks the (created_at, id) index instead of sorting', () => {
    const after = cursorPositionOf(ROWS[1000]!, parseSort(undefined));
    const q = { ...query('{}', undefined, after), limit: 1000 };
    const { plan, ids } = run(q);
    expect(plan).toMatch(/USING INDEX ix_created/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
    expect(ids).toHaveLength(999);
  });
});

describe('PostgreSQL uses indexes built on postgresIndexColumns', () => {
  const adminUrl = inject('pgAdminUrl');
  if (adminUrl === null) process.stderr.write(`\n!! query-index-usage: SKIPPING POSTGRESQL: ${inject('pgSkipReason') ?? 'unavailable'}\n\n`);
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    if (adminUrl === null) return;
    db = await createTestDatabaseUrl('postgres');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`CREATE TABLE "c_x" (id text COLLATE "C" PRIMARY KEY, owner text COLLATE "C" NULL, version integer NOT NULL,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, data jsonb NOT NULL)`);
    for (const [name, fields] of Object.entries(INDEXES)) {
      await client.query(`CREATE INDEX "${name}" ON "c_x" (${fields.flatMap(postgresIndexColumns).join(', ')})`);
    }
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

  /** The plan as run (EXPLAIN ANALYZE: actual row counts), and the answer. */
  async function run(q: RecordQuery): Promise<{ plan: string; ids: string[] }> {
    const { where, orderBy, params } = compilePostgresQuery(q);
    const sql = `SELECT ${COLUMNS} FROM "c_x" WHERE ${where} ORDER BY ${orderBy} LIMIT $${params.length + 1}`;
    const explained = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`, [...params, q.limit]);
    const result = await client.query<{ id: string }>(sql, [...params, q.limit]);
    return { plan: explained.rows.map((r) => r['QUERY PLAN']).join('\n'), ids: result.rows.map((r) => r.id) };
  }

  describe.skipIf(adminUrl === null).each(SERVED)('%s', (_name, filter, sort, index) => {
    it.each(pages(filter, sort))('%s: scans the index in order, no Sort node, ~limit rows read', async (_page, q) => {
      const { plan, ids } = await run(q);
      expect(plan).toMatch(new RegExp(`Index Scan (Backward )?using ${index} on c_x \\(actual rows=(\\d+) loops=1\\)`));
      expect(plan).not.toMatch(/Sort/);
      // The index hands over only rows that match, in order: the scan stops at the limit.
      const read = Number(/Index Scan[^\n]*actual rows=(\d+)/.exec(plan)![1]);
      expect(read).toBeLessThanOrEqual(q.limit);
      expect(ids).toEqual(expected(q));
      expect(ids.length).toBeGreaterThan(0);
    });
  });

  it.skipIf(adminUrl === null).each([['$in', IN], ['string range', STRING_RANGE]])('%s with the default sort searches the index', async (_name, filter) => {
    const q = query(filter);
    const { plan, ids } = await run(q);
    expect(plan).toMatch(/(Index Scan|Bitmap Index Scan|Index Only Scan) (Backward )?(using|on) ix_priority/);
    expect(ids).toEqual(expected(q));
    expect(ids.length).toBeGreaterThan(0);
  });

  it.skipIf(adminUrl === null)('sorting on the field alone reads the index in order', async () => {
    const q = query('{}', '-priority');
    const { plan, ids } = await run(q);
    expect(plan).toMatch(/Index Scan Backward using ix_priority on c_x/);
    expect(plan).not.toMatch(/Sort/);
    expect(ids).toEqual(expected(q));
  });

  it.skipIf(adminUrl === null)('the default sort with a cursor scans the (created_at, id COLLATE "C") index instead of sorting', async () => {
    const after = cursorPositionOf(ROWS[1000]!, parseSort(undefined));
    const q = { ...query('{}', undefined, after), limit: 1000 };
    const { plan, ids } = await run(q);
    expect(plan).toMatch(/Index Scan using ix_created/);
    expect(plan).not.toMatch(/Sort/);
    expect(ids).toHaveLength(999);
  });
});
