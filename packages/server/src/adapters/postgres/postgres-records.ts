import { createHash } from 'node:crypto';
import { parseStoredRecord, type RecordRow, type StoredRecord } from '../../core/records/record.js';
import type { RecordPage, RecordRepository } from '../../core/storage/store.js';
import { recordsTable } from '../collection-tables.js';
import { compilePostgresQuery } from './postgres-query.js';
import { postgresListKey, type PostgresReadCache } from './postgres-read-cache.js';
import type { Run } from './postgres-store.js';

interface RecordRecord { id: string; owner: string | null; version: number; created_at: Date; updated_at: Date; data: string }

const COLUMNS = 'id, owner, version, created_at, updated_at, data';
/** `COLUMNS` with the user fields as JSON text: reads answer with it unparsed. */
const READ_COLUMNS = 'id, owner, version, created_at, updated_at, data::text AS data';

function toStored(r: RecordRecord): StoredRecord {
  return { id: r.id, owner: r.owner, version: r.version, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(), dataJson: r.data };
}

const hashes = new Map<string, string>();
/**
 * Name of a prepared statement on a collection's table. PostgreSQL truncates
 * statement names at 63 bytes, so two long collection names could collide:
 * a short hash of the name stands in for it.
 */
export function statementName(kind: string, collection: string): string {
  let hash = hashes.get(collection);
  if (hash === undefined) {
    hash = createHash('sha256').update(collection).digest('hex').slice(0, 16);
    if (hashes.size > 10_000) hashes.clear();
    hashes.set(collection, hash);
  }
  return `sigil_r${kind}_${hash}`;
}

/** Distinct list-query shapes that get a prepared statement; the rest run unnamed (planned each time). */
export const MAX_PREPARED_LIST_SHAPES = 256;
const listShapes = new Map<string, string>();

/**
 * Name of the prepared statement for one compiled list query, or undefined
 * once `MAX_PREPARED_LIST_SHAPES` shapes have names. A shape is the SQL
 * text: the filter's values are parameters, so one shape serves every
 * `{"priority": n}`, and PostgreSQL plans it a few times, then keeps a
 * generic plan instead of planning every request (planning cost about three
 * times the execution of a 20-row indexed page). Bounded because every
 * connection keeps each statement it prepared: clients inventing filter
 * shapes cannot make it hold more than this many plans.
 */
export function listStatementName(sql: string): string | undefined {
  const known = listShapes.get(sql);
  if (known !== undefined || listShapes.size >= MAX_PREPARED_LIST_SHAPES) return known;
  const name = `sigil_q_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
  listShapes.set(sql, name);
  return name;
}

/**
 * Inserts several new records of one collection in one statement (group
 * commit's deferred inserts, postgres-group-commit.ts): one round trip and
 * one prepared statement per collection, whatever their number.
 */
export async function insertRecordRows(run: Run, collection: string, rows: readonly RecordRow[]): Promise<void> {
  await run(statementName('insn', collection),
    `INSERT INTO ${recordsTable(collection)} (${COLUMNS})
     SELECT r.id, r.owner, r.version, r.created_at, r.updated_at, r.data::jsonb
     FROM unnest($1::text[], $2::text[], $3::integer[], $4::timestamptz[], $5::timestamptz[], $6::text[])
       WITH ORDINALITY AS r(id, owner, version, created_at, updated_at, data, ord)
     ORDER BY r.ord`,
    [rows.map((r) => r.id), rows.map((r) => r.owner), rows.map((r) => r.version), rows.map((r) => r.createdAt), rows.map((r) => r.updatedAt),
      rows.map((r) => JSON.stringify(r.data))]);
}

/**
 * Records of each collection in its own table. Fixed statements are named
 * per collection (prepared once per connection; PostgreSQL re-plans them
 * after DDL on the table, and reports 42P01, translated to `not_found`, once
 * the table is dropped).
 */
export function makePostgresRecordRepository(run: Run, cache?: PostgresReadCache): RecordRepository {
  async function loadRecord(collection: string, id: string): Promise<StoredRecord | null> {
    const result = await run<RecordRecord>(statementName('get', collection),
      `SELECT ${READ_COLUMNS} FROM ${recordsTable(collection)} WHERE id = $1`, [id]);
    const row = result.rows[0];
    return row === undefined ? null : toStored(row);
  }
  const readRecord = cache === undefined
    ? loadRecord
    : (collection: string, id: string): Promise<StoredRecord | null> => cache.record(collection, id, () => loadRecord(collection, id));

  return {
    async insertRecord(collection, r) {
      await run(statementName('ins', collection),
        `INSERT INTO ${recordsTable(collection)} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
        [r.id, r.owner, r.version, r.createdAt, r.updatedAt, JSON.stringify(r.data)]);
    },
    async findRecord(collection, id) {
      const row = await readRecord(collection, id);
      return row === null ? null : parseStoredRecord(row);
    },
    readRecord,
    async findRecordToChange(collection, id) {
      const result = await run<RecordRecord>(statementName('lck', collection),
        `SELECT ${READ_COLUMNS} FROM ${recordsTable(collection)} WHERE id = $1 FOR UPDATE`, [id]);
      const row = result.rows[0];
      return row === undefined ? null : parseStoredRecord(toStored(row));
    },
    async updateRecord(collection, r, expectedVersion) {
      // Compare-and-set on version. Under READ COMMITTED a concurrent writer of
      // the same row waits for our row lock, then re-checks `version` on the
      // row we committed and matches nothing.
      const result = await run(statementName('upd', collection),
        `UPDATE ${recordsTable(collection)} SET data = $2::jsonb, updated_at = $3, version = $4 WHERE id = $1 AND version = $5`,
        [r.id, JSON.stringify(r.data), r.updatedAt, r.version, expectedVersion]);
      return result.rowCount === 1;
    },
    async deleteRecord(collection, id, expectedVersion) {
      const result = await run(statementName('del', collection),
        `DELETE FROM ${recordsTable(collection)} WHERE id = $1 AND version = $2`, [id, expectedVersion]);
      return result.rowCount === 1;
    },
    async readRecords(collection, ids, bound) {
      if (ids.length === 0) return [];
      const table = recordsTable(collection);
      if (bound === undefined) {
        const result = await run<RecordRecord>(statementName('many', collection), `SELECT ${READ_COLUMNS} FROM ${table} WHERE id = ANY($1::text[])`, [ids]);
        return result.rows.map(toStored);
      }
      // The bound in SQL (see ReadBound): at most rows + 1 records, and none after the one whose JSON reaches `chars`.
      const result = await run<RecordRecord>(statementName('manyb', collection),
        `SELECT id, owner, version, created_at, updated_at, data FROM (
           SELECT r.*, coalesce(sum(length(r.data)) OVER (ORDER BY r.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
             FROM (SELECT ${READ_COLUMNS} FROM ${table} WHERE id = ANY($1::text[]) ORDER BY id LIMIT $2) r
         ) b WHERE before < $3`,
        [ids, bound.rows + 1, bound.chars]);
      return result.rows.map(toStored);
    },
    async scanRecords(collection, afterId, limit) {
      const from = `SELECT ${READ_COLUMNS} FROM ${recordsTable(collection)}`;
      const result = afterId === undefined
        ? await run<RecordRecord>(statementName('scan0', collection), `${from} ORDER BY id LIMIT $1`, [limit])
        : await run<RecordRecord>(statementName('scan', collection), `${from} WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
      return result.rows.map((r) => parseStoredRecord(toStored(r)));
    },
    async countRecords(collection) {
      const result = await run<{ n: number }>(statementName('count', collection), `SELECT count(*)::int AS n FROM ${recordsTable(collection)}`, []);
      return result.rows[0]?.n ?? 0;
    },
    async queryRecords(collection, query) {
      const table = recordsTable(collection);
      const { where, orderBy, params } = compilePostgresQuery(query);
      // One statement, so one snapshot: the counter and the rows agree (every
      // change up to `seq` is in the rows, none after). The LEFT JOIN keeps the
      // counter's row when no record matches; the outer ORDER BY repeats the
      // inner one, which names only the columns the subquery returns (`data`
      // stays jsonb for it; the answer takes the text). `before` sums the
      // JSON of the rows ahead of each one: past the page's budget a row is
      // sent without its data, only to tell that more follow.
      const sql = `WITH s AS (SELECT last FROM change_counter WHERE id = 1)
         SELECT s.last AS seq, r.id, r.owner, r.version, r.created_at, r.updated_at,
                CASE WHEN r.before < $${params.length + 2} THEN r.data_text END AS data FROM s LEFT JOIN LATERAL (
           SELECT page.*, coalesce(sum(octet_length(page.data_text)) OVER (ORDER BY ${orderBy} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
           FROM (SELECT ${COLUMNS}, data::text AS data_text FROM ${table} WHERE ${where} ORDER BY ${orderBy} LIMIT $${params.length + 1}) page
         ) r ON true
         ORDER BY ${orderBy}`;
      const values = [...params, query.limit, query.maxChars ?? Number.MAX_SAFE_INTEGER];
      const load = async (): Promise<RecordPage> => {
        const result = await run<Omit<RecordRecord, 'data'> & { seq: string; data: string | null }>(listStatementName(sql), sql, values);
        const rows: StoredRecord[] = [];
        let truncated = false;
        for (const r of result.rows) {
          if (r.id === null) continue;
          if (r.data === null) {
            truncated = true;
            break;
          }
          rows.push(toStored(r as RecordRecord));
        }
        return { seq: Number(result.rows[0]?.seq ?? 0), rows, truncated };
      };
      // A cached page keeps the seq it was read at: any change since would have dropped it.
      const key = cache === undefined ? undefined : postgresListKey(sql, values);
      return cache === undefined || key === undefined ? load() : cache.list(key, load);
    },
  };
}
