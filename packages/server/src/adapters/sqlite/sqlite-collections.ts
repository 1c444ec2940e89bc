import type Database from 'better-sqlite3';
import { type Collection, type CollectionRules, type JsonObject } from '../../core/collections/collection.js';
import type { CollectionRepository, SchemaStamp } from '../../core/storage/store.js';
import { recordsTable, wantedIndexes as indexesFor } from '../collection-tables.js';
import { sqliteIndexColumns } from './sqlite-query.js';
import type { Exec } from './sqlite-store.js';
import { isoText } from './sqlite-time.js';

type Db = Database.Database;

interface CollectionRecord {
  id: string; name: string; schema: string; rules: string; indexes: string;
  schema_version: number; created_at: string; updated_at: string;
}

const COLUMNS = 'id, name, schema, rules, indexes, schema_version, created_at, updated_at';
function toCollection(r: CollectionRecord): Collection {
  return {
    id: r.id,
    name: r.name,
    schema: JSON.parse(r.schema) as JsonObject,
    rules: JSON.parse(r.rules) as CollectionRules,
    indexes: JSON.parse(r.indexes) as string[][],
    schemaVersion: r.schema_version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}


export function prepareCollectionReads(db: Db) {
  return {
    all: db.prepare<[], CollectionRecord>(`SELECT ${COLUMNS} FROM collections ORDER BY name`),
    byName: db.prepare<[string], CollectionRecord>(`SELECT ${COLUMNS} FROM collections WHERE name = ?`),
    stamp: db.prepare<[string], SchemaStamp>('SELECT id, schema_version AS schemaVersion FROM collections WHERE name = ?'),
  };
}

export function prepareCollectionWrites(db: Db) {
  return {
    db,
    insert: db.prepare<[string, string, string, string, string, number, string, string]>(
      `INSERT INTO collections (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    update: db.prepare<[string, string, string, number, string, string]>(
      'UPDATE collections SET schema = ?, rules = ?, indexes = ?, schema_version = ?, updated_at = ? WHERE name = ?',
    ),
    delete: db.prepare<[string]>('DELETE FROM collections WHERE name = ?'),
    // Only ours: the primary key's automatic index is named sqlite_autoindex_…
    indexNames: db.prepare<[string], string>(
      `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND name LIKE 'ix\\_%' ESCAPE '\\'`,
    ).pluck(),
  };
}

export type CollectionReads = ReturnType<typeof prepareCollectionReads>;
export type CollectionWrites = ReturnType<typeof prepareCollectionWrites>;

/**
 * Runs `fn` atomically on the writer: its own transaction when none is open
 * (BEGIN IMMEDIATE), else a savepoint inside the caller's, so a failure
 * half-way leaves no table without its row or row without its table.
 */
function atomically<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/**
 * Collections as rows of `collections` plus one STRICT table per collection.
 * `forget` is told whenever a collection's table changes, so prepared record
 * statements for it are dropped (sqlite-records.ts).
 */
export function makeSqliteCollectionRepository(
  read: Exec<CollectionReads>,
  write: Exec<CollectionWrites>,
  forget: (name: string) => void,
): CollectionRepository {
  const changeTable = <T>(name: string, fn: (s: CollectionWrites) => T) => write((s) => {
    try {
      return atomically(s.db, () => fn(s));
    } finally {
      forget(name);
    }
  });

  return {
    async listCollections() {
      const rows = await read((s) => s.all.all());
      return rows.map(toCollection);
    },
    async findCollection(name) {
      const row = await read((s) => s.byName.get(name));
      return row === undefined ? null : toCollection(row);
    },
    async findSchemaStamp(name) {
      return (await read((s) => s.stamp.get(name))) ?? null;
    },
    async insertCollection(c) {
      const table = recordsTable(c.name);
      await changeTable(c.name, (s) => {
        s.insert.run(c.id, c.name, JSON.stringify(c.schema), JSON.stringify(c.rules), JSON.stringify(c.indexes),
          c.schemaVersion, isoText(c.createdAt), isoText(c.updatedAt));
        // STRICT: a wrong type is an error. Times are fixed-width ISO text, so text order is time order.
        s.db.exec(`CREATE TABLE ${table} (
          id         TEXT PRIMARY KEY,
          owner      TEXT,
          version    INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          data       TEXT NOT NULL
        ) STRICT`);
        for (const ddl of indexesFor(c, sqliteIndexColumns).values()) s.db.exec(ddl);
      });
    },
    async updateCollection(c) {
      const table = recordsTable(c.name);
      return changeTable(c.name, (s) => {
        const updated = s.update.run(JSON.stringify(c.schema), JSON.stringify(c.rules), JSON.stringify(c.indexes),
          c.schemaVersion, isoText(c.updatedAt), c.name).changes;
        if (updated === 0) return false;
        const wanted = indexesFor(c, sqliteIndexColumns);
        const existing = new Set(s.indexNames.all(table.slice(1, -1)));
        for (const name of existing) if (!wanted.has(name)) s.db.exec(`DROP INDEX "${name}"`);
        for (const [name, ddl] of wanted) if (!existing.has(name)) s.db.exec(ddl);
        return true;
      });
    },
    async deleteCollection(name) {
      const table = recordsTable(name);
      return changeTable(name, (s) => {
        if (s.delete.run(name).changes === 0) return false;
        s.db.exec(`DROP TABLE IF EXISTS ${table}`);
        return true;
      });
    },
    // The writer connection is exclusive: while a transaction is open, nobody else writes at all.
    async lockCollection() {},
  };
}
