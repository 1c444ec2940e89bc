import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Collection, CollectionRules, JsonObject } from '../../core/collections/collection.js';
import { recordsTable } from '../collection-tables.js';
import { recordsTableDdl } from '../postgres/postgres-collections.js';
import { openPostgresStore } from '../postgres/postgres-store.js';
import { assertNotInUse, SnapshotError } from '../sqlite/sqlite-backup.js';
import { openSqliteStore } from '../sqlite/sqlite-store.js';

/** What a move copied, table by table (rows), for the command's report. */
export interface MoveSummary {
  readonly tables: ReadonlyMap<string, number>;
  readonly collections: number;
  readonly records: number;
  readonly latestSeq: number;
}

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters for any of Sigil's tables. */
const BATCH_ROWS = 500;

/** Columns PostgreSQL has and SQLite does not, and how each is computed from the row. */
const DERIVED: Readonly<Record<string, Readonly<Record<string, (row: Record<string, unknown>) => unknown>>>> = {
  // The users a record references, as a foreign key PostgreSQL checks (postgres-relations.ts).
  record_refs: { target_user: (row) => (row['target'] === 'users' ? row['target_id'] : null) },
};

/** Tables a move does not copy row by row: the target has its own migrations; collections are made with their tables. */
const NOT_COPIED = new Set(['schema_migrations', 'collections']);

interface Column {
  readonly name: string;
  readonly type: string;
}

/**
 * Copies a whole Sigil app from the SQLite file `source` into the empty
 * PostgreSQL database `targetUrl`: users, sessions and refresh tokens (so
 * signed-in clients stay signed in), collections with their tables and
 * indexes, records, relation references, the change log with its seqs and
 * counter (so realtime clients resume with `since` across the move), and
 * every other table both schemas have. Sigil must be stopped (refused
 * otherwise), so that nothing is written to the source meanwhile.
 *
 * All in one PostgreSQL transaction, verified row by row against the
 * source before it commits: on any difference or error nothing is left in
 * the target.
 */
export async function moveSqliteToPostgres(source: string, targetUrl: string): Promise<MoveSummary> {
  // Bring both to this version's schema: the source (if an older Sigil wrote it) and the empty target.
  await (await openSqliteStore({ filename: source })).close();
  assertNotInUse(source, 'move it');
  await (await openPostgresStore({ url: targetUrl, max: 1 })).close();

  const sqlite = new Database(source, { readonly: true, fileMustExist: true });
  const client = new pg.Client({ connectionString: targetUrl });
  await client.connect();
  try {
    // One snapshot of the source for the whole copy and its check.
    sqlite.exec('BEGIN');
    await assertEmpty(client);
    const targetTables = await columnsOf(client);
    const sourceTables = sqliteTables(sqlite);
    const collections = sqlite.prepare('SELECT id, name, schema, rules, indexes, schema_version, created_at, updated_at FROM collections ORDER BY name').all() as Record<string, string | number>[];
    const recordTables = new Set(collections.map((c) => recordsTable(String(c['name'])).slice(1, -1)));
    for (const table of sourceTables) {
      if (!targetTables.has(table) && !recordTables.has(table)) throw new SnapshotError(`the SQLite database has a table "${table}" that PostgreSQL does not: is the target a database of this Sigil version?`);
    }

    await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    try {
      const tables = new Map<string, number>();
      let records = 0;
      for (const row of collections) {
        const collection = collectionOf(row);
        await client.query(
          'INSERT INTO collections (id, name, schema, rules, indexes, schema_version, created_at, updated_at) VALUES ($1, $2, $3::json, $4::jsonb, $5::jsonb, $6, $7, $8)',
          [collection.id, collection.name, JSON.stringify(collection.schema), JSON.stringify(collection.rules), JSON.stringify(collection.indexes), collection.schemaVersion, collection.createdAt, collection.updatedAt],
        );
        await client.query(recordsTableDdl(collection));
        targetTables.set(recordsTable(collection.name).slice(1, -1), await tableColumns(client, recordsTable(collection.name).slice(1, -1)));
      }
      tables.set('collections', collections.length);
      // Parents before children (users before sessions before refresh_tokens…).
      const order = await foreignKeyOrder(client, [...sourceTables].filter((t) => !NOT_COPIED.has(t)));
      for (const table of order) {
        const count = table === 'change_counter' ? await copyCounter(sqlite, client) : await copyTable(sqlite, client, table, targetTables.get(table)!);
        tables.set(table, count);
        if (recordTables.has(table)) records += count;
      }
      for (const table of ['collections', ...order]) await verifyTable(sqlite, client, table, targetTables.get(table)!);
      await client.query('COMMIT');
      const latestSeq = (sqlite.prepare('SELECT last FROM change_counter WHERE id = 1').pluck().get() as number | undefined) ?? 0;
      return { tables, collections: collections.length, records, latestSeq };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
    sqlite.close();
    await client.end();
  }
}

async function assertEmpty(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ users: number; collections: number; seq: string }>(
    `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM collections) AS collections,
            (SELECT last FROM change_counter WHERE id = 1) AS seq`,
  );
  const row = rows[0]!;
  if (row.users > 0 || row.collections > 0 || Number(row.seq) > 0) {
    throw new SnapshotError(`the PostgreSQL database is not empty (${row.users} users, ${row.collections} collections, change log at seq ${row.seq}): move into a new database`);
  }
}

function sqliteTables(db: Database.Database): Set<string> {
  const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  return new Set(names);
}

async function tableColumns(client: pg.Client, table: string): Promise<Column[]> {
  const { rows } = await client.query<{ name: string; type: string }>(
    "SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    [table],
  );
  return rows;
}

async function columnsOf(client: pg.Client): Promise<Map<string, Column[]>> {
  const { rows } = await client.query<{ table: string; name: string; type: string }>(
    "SELECT table_name AS table, column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
  );
  const tables = new Map<string, Column[]>();
  for (const row of rows) tables.set(row.table, [...(tables.get(row.table) ?? []), { name: row.name, type: row.type }]);
  return tables;
}

/** `tables` ordered so that every table comes after those its foreign keys point to. */
async function foreignKeyOrder(client: pg.Client, tables: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(
    `SELECT DISTINCT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
       FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`,
  );
  const unquote = (name: string): string => name.replace(/^"|"$/g, '');
  const parents = new Map<string, Set<string>>(tables.map((t) => [t, new Set<string>()]));
  for (const { child, parent } of rows) if (unquote(child) !== unquote(parent)) parents.get(unquote(child))?.add(unquote(parent));
  const ordered: string[] = [];
  const placed = new Set<string>();
  const visit = (table: string): void => {
    if (placed.has(table)) return;
    placed.add(table);
    for (const parent of parents.get(table) ?? []) if (parents.has(parent)) visit(parent);
    ordered.push(table);
  };
  for (const table of [...tables].sort()) visit(table);
  return ordered;
}

function collectionOf(row: Record<string, string | number>): Collection {
  return {
    id: String(row['id']),
    name: String(row['name']),
    schema: JSON.parse(String(row['schema'])) as JsonObject,
    rules: JSON.parse(String(row['rules'])) as CollectionRules,
    indexes: JSON.parse(String(row['indexes'])) as string[][],
    schemaVersion: Number(row['schema_version']),
    createdAt: String(row['created_at']),
    updatedAt: String(row['updated_at']),
  };
}

/** A SQLite value as the PostgreSQL column of `type` takes it. */
function toPostgres(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'boolean') return value === 1 || value === 1n || value === true;
  return value;
}

/** A value read from either side, in one comparable form. */
function comparable(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'boolean') return value === true || value === 1 || value === 1n;
  if (type.startsWith('timestamp')) return value instanceof Date ? value.getTime() : Date.parse(value as string);
  if (type === 'json' || type === 'jsonb') return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  if (type === 'bigint' || type === 'integer' || type === 'smallint') return Number(value);
  return value;
}

/**
 * An order both engines sort the same way: the key when there is one, else
 * every column; text in byte order (SQLite's BINARY, PostgreSQL's "C").
 */
function primaryOrder(columns: readonly Column[], dialect: 'sqlite' | 'postgres'): string {
  const key = columns.find((c) => c.name === 'seq') ?? columns.find((c) => c.name === 'id');
  const sorted = key ? [key] : columns.filter((c) => c.type !== 'json' && c.type !== 'jsonb');
  return sorted.map((c) => (dialect === 'postgres' && c.type === 'text' ? `${quoted(c.name)} COLLATE "C"` : quoted(c.name))).join(', ');
}

function quoted(table: string): string {
  return `"${table.replace(/"/g, '""')}"`;
}

async function copyTable(sqlite: Database.Database, client: pg.Client, table: string, target: readonly Column[]): Promise<number> {
  const sourceColumns = new Set((sqlite.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]));
  const derived = DERIVED[table] ?? {};
  for (const column of target) {
    if (!sourceColumns.has(column.name) && derived[column.name] === undefined) {
      throw new SnapshotError(`PostgreSQL's ${table}.${column.name} has no counterpart in the SQLite database: is the target a database of this Sigil version?`);
    }
  }
  const names = target.map((c) => c.name);
  const statement = sqlite.prepare(`SELECT ${[...sourceColumns].map((c) => quoted(c)).join(', ')} FROM ${quoted(table)} ORDER BY ${primaryOrder(target.filter((c) => sourceColumns.has(c.name)), 'sqlite')}`);
  let count = 0;
  let batch: unknown[][] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const values = batch.flat();
    const tuples = batch.map((_, r) => `(${names.map((_n, c) => `$${r * names.length + c + 1}`).join(', ')})`);
    await client.query(`INSERT INTO ${quoted(table)} (${names.map(quoted).join(', ')}) VALUES ${tuples.join(', ')}`, values);
    count += batch.length;
    batch = [];
  };
  for (const row of statement.iterate() as Iterable<Record<string, unknown>>) {
    batch.push(target.map((c) => toPostgres(derived[c.name] ? derived[c.name]!(row) : row[c.name], c.type)));
    if (batch.length >= BATCH_ROWS) await flush();
  }
  await flush();
  return count;
}

async function copyCounter(sqlite: Database.Database, client: pg.Client): Promise<number> {
  const last = (sqlite.prepare('SELECT last FROM change_counter WHERE id = 1').pluck().get() as number | undefined) ?? 0;
  await client.query('UPDATE change_counter SET last = $1 WHERE id = 1', [last]);
  return 1;
}

/** Reads both sides in the same order and compares every row, column by column. */
async function verifyTable(sqlite: Database.Database, client: pg.Client, table: string, target: readonly Column[]): Promise<void> {
  const sourceColumns = new Set((sqlite.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]));
  const columns = target.filter((c) => sourceColumns.has(c.name));
  const list = columns.map((c) => quoted(c.name)).join(', ');
  const mine = sqlite.prepare(`SELECT ${list} FROM ${quoted(table)} ORDER BY ${primaryOrder(columns, 'sqlite')}`).all() as Record<string, unknown>[];
  const theirs = (await client.query<Record<string, unknown>>(`SELECT ${list} FROM ${quoted(table)} ORDER BY ${primaryOrder(columns, 'postgres')}`)).rows;
  if (mine.length !== theirs.length) throw new SnapshotError(`verification failed: ${table} has ${mine.length} rows in SQLite and ${theirs.length} in PostgreSQL`);
  for (let i = 0; i < mine.length; i++) {
    for (const column of columns) {
      const a = comparable(mine[i]![column.name], column.type);
      const b = comparable(theirs[i]![column.name], column.type);
      if (!isDeepStrictEqual(a, b)) throw new SnapshotError(`verification failed: ${table} row ${i + 1}, column ${column.name} differs`);
    }
  }
}
