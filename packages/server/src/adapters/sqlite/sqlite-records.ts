import type Database from 'better-sqlite3';
import type { RecordQuery } from '../../core/records/query/query-types.js';
import { parseStoredRecord, type StoredRecord } from '../../core/records/record.js';
import type { ReadBound, RecordRepository } from '../../core/storage/store.js';
import { recordsTable } from '../collection-tables.js';
import { limitClause } from './sqlite-limit.js';
import { listCacheKey, type ListAnswer, type ReadCache } from './sqlite-read-cache.js';
import { compileSqliteQuery } from './sqlite-query.js';
import type { Exec } from './sqlite-store.js';
import { isoText } from './sqlite-time.js';

type Db = Database.Database;
/** Statements that return rows return them as arrays (`raw`), in `COLUMNS` order: no object per row. */
type Statement = Database.Statement<unknown[], unknown[]>;
type StoredColumns = [id: string, owner: string | null, version: number, createdAt: string, updatedAt: string, data: string];

const COLUMNS = 'id, owner, version, created_at, updated_at, data';
/** The change-log position, as one more column of a list query: read in the rows' snapshot. */
const SEQ_COLUMN = '(SELECT last FROM change_counter WHERE id = 1)';
/** Distinct list queries kept prepared per collection; the oldest is dropped beyond this. */
const MAX_STATEMENTS_PER_COLLECTION = 64;

function toStored(r: unknown[]): StoredRecord {
  const [id, owner, version, createdAt, updatedAt, dataJson] = r as StoredColumns;
  return { id, owner, version, createdAt, updatedAt, dataJson };
}


/**
 * The prepared statements of one connection for the records tables, prepared
 * on first use and cached per collection (preparing costs more than running a
 * point lookup). `forget` drops a collection's statements when its table is
 * changed or dropped; SQLite would re-prepare them anyway, but a deleted
 * collection's statements should not linger.
 */
export class SqliteRecordStatements {
  private readonly statements = new Map<string, Map<string, Statement>>();
  private readonly seqStatement: Database.Statement<[], number>;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;

  /**
   * `cache`: the store's read cache, if it has one. The read connection
   * answers from it (outside transactions); the writer reports to it what
   * its statements change.
   */
  constructor(readonly db: Db, private readonly cache: { readonly cache: ReadCache; readonly serveReads: boolean } | undefined) {
    this.seqStatement = db.prepare<[], number>('SELECT last FROM change_counter WHERE id = 1').pluck();
    this.begin = db.prepare('BEGIN');
    this.commit = db.prepare('COMMIT');
  }

  /** A statement on `collection`'s table (whose name `sql` already holds). */
  statement(collection: string, sql: string): Statement {
    let statements = this.statements.get(collection);
    if (statements === undefined) {
      statements = new Map();
      this.statements.set(collection, statements);
    }
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], unknown[]>(sql);
      if (statement.reader) statement.raw(true);
      if (statements.size >= MAX_STATEMENTS_PER_COLLECTION) statements.delete(statements.keys().next().value!);
      statements.set(sql, statement);
    }
    return statement;
  }

  /** `load()`'s answer, or the same answer cached (under `key`, see `listCacheKey`) while the data has not changed. */
  listAnswer(key: string, load: () => ListAnswer): ListAnswer {
    return this.cachedReads() ? this.cache!.cache.list(key, load) : load();
  }

  /** `load()`'s record, or the same record cached while it has not changed. */
  recordAnswer(collection: string, id: string, load: () => StoredRecord | null): StoredRecord | null {
    return this.cachedReads() ? this.cache!.cache.record(collection, id, load) : load();
  }

  /** A statement is changing this record (see `ReadCache.touched`). */
  touched(collection: string, id: string): void {
    this.cache?.cache.touched(collection, id);
  }

  private cachedReads(): boolean {
    return this.cache !== undefined && this.cache.serveReads && !this.db.inTransaction;
  }

  /** The collection's table is being changed or dropped: its statements go, and every cached answer when the change ends. */
  forget(collection: string): void {
    this.statements.delete(collection);
    this.cache?.cache.touchedTable();
  }

  /** The last seq handed out (`change_counter`). */
  seq(): number {
    return this.seqStatement.get() ?? 0;
  }

  /**
   * Runs `fn` in one read snapshot. Outside a transaction, each statement
   * would see the latest commit at its own start (another process may write
   * the file in between), so `fn` gets a read transaction; inside one (the
   * writer's), it already has a consistent view.
   */
  snapshot<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.begin.run();
    try {
      return fn();
    } finally {
      this.commit.run();
    }
  }
}

interface PointSql {
  readonly select: string;
  readonly insert: string;
  readonly update: string;
  readonly delete: string;
}

/**
 * The one-record statements' SQL of each collection, built once: the same
 * string object every time also makes the prepared-statement lookup cheap
 * (a string's hash is computed once and kept with it).
 */
const pointSqls = new Map<string, PointSql>();

function pointSql(collection: string): PointSql {
  let sql = pointSqls.get(collection);
  if (sql === undefined) {
    const table = recordsTable(collection);
    sql = {
      select: `SELECT ${COLUMNS} FROM ${table} WHERE id = ?`,
      insert: `INSERT INTO ${table} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
      // Compare-and-set on version: a writer that read an older version changes nothing.
      update: `UPDATE ${table} SET data = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?`,
      delete: `DELETE FROM ${table} WHERE id = ? AND version = ?`,
    };
    if (pointSqls.size >= 10_000) pointSqls.clear();
    pointSqls.set(collection, sql);
  }
  return sql;
}

interface CompiledList {
  readonly collection: string;
  readonly sql: string;
  readonly params: unknown[];
  /** `listCacheKey(sql, params)`, with the page budget (it changes the answer too). */
  readonly cacheKey: string;
}

/** Compiled list statements by the (immutable) query they came from: a repeated query compiles once. */
const compiledLists = new WeakMap<RecordQuery, CompiledList>();

function compiledList(collection: string, query: RecordQuery): CompiledList {
  const known = compiledLists.get(query);
  if (known !== undefined && known.collection === collection) return known;
  const { where, orderBy, params } = compileSqliteQuery(query);
  const sql = `SELECT ${COLUMNS}, ${SEQ_COLUMN} FROM ${recordsTable(collection)} WHERE ${where} ORDER BY ${orderBy} ${limitClause(query.limit)}`;
  const compiled = { collection, sql, params, cacheKey: `${query.maxChars ?? ''}\u0000${listCacheKey(sql, params)}` };
  if (Object.isFrozen(query)) compiledLists.set(query, compiled);
  return compiled;
}

/**
 * Rows until the `ReadBound` is passed: more than `bound.rows` of them, or
 * their column `dataColumn` (the user fields' JSON) reaching `bound.chars`
 * characters. The rest is never read.
 */
export function boundedRows(rows: IterableIterator<unknown[]>, bound: ReadBound, dataColumn: number): unknown[][] {
  const out: unknown[][] = [];
  let chars = 0;
  for (const row of rows) {
    out.push(row);
    chars += (row[dataColumn] as string).length;
    if (out.length > bound.rows || chars >= bound.chars) {
      rows.return?.();
      break;
    }
  }
  return out;
}

export function makeSqliteRecordRepository(read: Exec<SqliteRecordStatements>, write: Exec<SqliteRecordStatements>): RecordRepository {
  async function readRecord(collection: string, id: string): Promise<StoredRecord | null> {
    const sql = pointSql(collection).select;
    return read((s) => s.recordAnswer(collection, id, () => {
      const row = s.statement(collection, sql).get(id);
      return row === undefined ? null : toStored(row);
    }));
  }

  return {
    async insertRecord(collection, r) {
      const sql = pointSql(collection).insert;
      await write((s) => {
        s.touched(collection, r.id);
        s.statement(collection, sql).run(r.id, r.owner, r.version, isoText(r.createdAt), isoText(r.updatedAt), JSON.stringify(r.data));
      });
    },
    async findRecord(collection, id) {
      const row = await readRecord(collection, id);
      return row === null ? null : parseStoredRecord(row);
    },
    // One writer at a time: a change's read cannot be raced.
    async findRecordToChange(collection, id) {
      const row = await readRecord(collection, id);
      return row === null ? null : parseStoredRecord(row);
    },
    readRecord,
    async updateRecord(collection, r, expectedVersion) {
      const sql = pointSql(collection).update;
      const result = await write((s) => {
        s.touched(collection, r.id);
        return s.statement(collection, sql).run(JSON.stringify(r.data), isoText(r.updatedAt), r.version, r.id, expectedVersion);
      });
      return result.changes === 1;
    },
    async deleteRecord(collection, id, expectedVersion) {
      const sql = pointSql(collection).delete;
      const result = await write((s) => {
        s.touched(collection, id);
        return s.statement(collection, sql).run(id, expectedVersion);
      });
      return result.changes === 1;
    },
    async readRecords(collection, ids, bound) {
      if (ids.length === 0) return [];
      const sql = `SELECT ${COLUMNS} FROM ${recordsTable(collection)} WHERE id IN (SELECT value FROM json_each(?))`;
      const rows = await read((s) => {
        const statement = s.statement(collection, sql);
        return bound === undefined ? statement.all(JSON.stringify(ids)) : boundedRows(statement.iterate(JSON.stringify(ids)), bound, 5);
      });
      return rows.map(toStored);
    },
    async scanRecords(collection, afterId, limit) {
      const from = `SELECT ${COLUMNS} FROM ${recordsTable(collection)}`;
      const rows = await read((s) => afterId === undefined
        ? s.statement(collection, `${from} ORDER BY id ${limitClause(limit)}`).all()
        : s.statement(collection, `${from} WHERE id > ? ORDER BY id ${limitClause(limit)}`).all(afterId));
      return rows.map((r) => parseStoredRecord(toStored(r)));
    },
    async countRecords(collection) {
      const row = await read((s) => s.statement(collection, `SELECT count(*) FROM ${recordsTable(collection)}`).get());
      return Number(row![0]);
    },
    async queryRecords(collection, query) {
      const { sql, params, cacheKey } = compiledList(collection, query);
      return read((s) => s.listAnswer(cacheKey, () => {
        let truncated = false;
        // Row by row, so a page of large records stops at its budget without reading (or holding) the rest.
        const run = (): unknown[][] => {
          const out: unknown[][] = [];
          let chars = 0;
          const budget = query.maxChars ?? Infinity;
          const rows = s.statement(collection, sql).iterate(...params);
          for (const row of rows) {
            out.push(row);
            chars += (row[5] as string).length;
            if (chars >= budget && out.length < query.limit) {
              truncated = rows.next().done !== true;
              rows.return?.();
              break;
            }
          }
          return out;
        };
        // One statement is one snapshot: the rows and the seq column agree
        // (every change up to seq is in the rows, none after). With no row
        // there is no seq column, so then both are read in one transaction.
        let rows = run();
        let seq: number;
        if (rows.length > 0) seq = (rows[0]![6] as number | null) ?? 0;
        else [seq, rows] = s.snapshot(() => [s.seq(), run()] as const);
        return { seq, rows: rows.map(toStored), truncated };
      }));
    },
  };
}
