import type Database from 'better-sqlite3';
import type { JsonObject } from '../../core/collections/collection.js';
import type { RecordRow } from '../../core/records/record.js';
import type { RecordRepository } from '../../core/storage/store.js';
import { recordsTable } from '../collection-tables.js';
import { compileSqliteQuery } from './sqlite-query.js';
import type { Exec } from './sqlite-store.js';

type Db = Database.Database;
type Statement = Database.Statement<unknown[], RecordRecord>;

interface RecordRecord { id: string; owner: string | null; version: number; created_at: string; updated_at: string; data: string }

const COLUMNS = 'id, owner, version, created_at, updated_at, data';
/** Distinct list queries kept prepared per collection; the oldest is dropped beyond this. */
const MAX_STATEMENTS_PER_COLLECTION = 64;

function toRecord(r: RecordRecord): RecordRow {
  return { id: r.id, owner: r.owner, version: r.version, createdAt: r.created_at, updatedAt: r.updated_at, data: JSON.parse(r.data) as JsonObject };
}

const iso = (time: string): string => new Date(time).toISOString();

/**
 * The prepared statements of one connection for the records tables, prepared
 * on first use and cached per collection (preparing costs more than running a
 * point lookup). `forget` drops a collection's statements when its table is
 * changed or dropped; SQLite would re-prepare them anyway, but a deleted
 * collection's statements should not linger.
 */
export class SqliteRecordStatements {
  private readonly cache = new Map<string, Map<string, Statement>>();
  private readonly seqStatement: Database.Statement<[], number>;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;

  constructor(readonly db: Db) {
    this.seqStatement = db.prepare<[], number>('SELECT last FROM change_counter WHERE id = 1').pluck();
    this.begin = db.prepare('BEGIN');
    this.commit = db.prepare('COMMIT');
  }

  /** A statement on `collection`'s table (whose name `sql` already holds). */
  statement(collection: string, sql: string): Statement {
    let statements = this.cache.get(collection);
    if (statements === undefined) {
      statements = new Map();
      this.cache.set(collection, statements);
    }
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], RecordRecord>(sql);
      if (statements.size >= MAX_STATEMENTS_PER_COLLECTION) statements.delete(statements.keys().next().value!);
      statements.set(sql, statement);
    }
    return statement;
  }

  forget(collection: string): void {
    this.cache.delete(collection);
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

export function makeSqliteRecordRepository(read: Exec<SqliteRecordStatements>, write: Exec<SqliteRecordStatements>): RecordRepository {
  return {
    async insertRecord(collection, r) {
      const sql = `INSERT INTO ${recordsTable(collection)} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`;
      await write((s) => s.statement(collection, sql)
        .run(r.id, r.owner, r.version, iso(r.createdAt), iso(r.updatedAt), JSON.stringify(r.data)));
    },
    async findRecord(collection, id) {
      const sql = `SELECT ${COLUMNS} FROM ${recordsTable(collection)} WHERE id = ?`;
      const row = await read((s) => s.statement(collection, sql).get(id));
      return row === undefined ? null : toRecord(row);
    },
    async updateRecord(collection, r, expectedVersion) {
      // Compare-and-set on version: a writer that read an older version changes nothing.
      const sql = `UPDATE ${recordsTable(collection)} SET data = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?`;
      const result = await write((s) => s.statement(collection, sql).run(JSON.stringify(r.data), iso(r.updatedAt), r.version, r.id, expectedVersion));
      return result.changes === 1;
    },
    async deleteRecord(collection, id, expectedVersion) {
      const sql = `DELETE FROM ${recordsTable(collection)} WHERE id = ? AND version = ?`;
      const result = await write((s) => s.statement(collection, sql).run(id, expectedVersion));
      return result.changes === 1;
    },
    async scanRecords(collection, afterId, limit) {
      const from = `SELECT ${COLUMNS} FROM ${recordsTable(collection)}`;
      const rows = await read((s) => afterId === undefined
        ? s.statement(collection, `${from} ORDER BY id LIMIT ?`).all(limit)
        : s.statement(collection, `${from} WHERE id > ? ORDER BY id LIMIT ?`).all(afterId, limit));
      return rows.map(toRecord);
    },
    async queryRecords(collection, query) {
      const { where, orderBy, params } = compileSqliteQuery(query);
      const sql = `SELECT ${COLUMNS} FROM ${recordsTable(collection)} WHERE ${where} ORDER BY ${orderBy} LIMIT ?`;
      // The rows and the seq from one snapshot: every change up to seq is in the rows, none after.
      const result = await read((s) => s.snapshot(() => ({
        seq: s.seq(),
        rows: s.statement(collection, sql).all(...params, query.limit),
      })));
      return { seq: result.seq, rows: result.rows.map(toRecord) };
    },
  };
}
