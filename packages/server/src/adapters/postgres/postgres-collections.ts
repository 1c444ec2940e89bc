import { type Collection, type CollectionRules, type JsonObject } from '../../core/collections/collection.js';
import type { CollectionRepository, SchemaStamp } from '../../core/storage/store.js';
import { recordsTable, wantedIndexes as indexesFor } from '../collection-tables.js';
import { writesOutsideLogTrigger } from './postgres-migrations.js';
import { postgresIndexColumns } from './postgres-query.js';
import type { Atomic, Run } from './postgres-store.js';

interface CollectionRecord {
  id: string; name: string; schema: JsonObject; rules: CollectionRules; indexes: string[][];
  schema_version: number; created_at: Date; updated_at: Date;
}

const COLUMNS = 'id, name, schema, rules, indexes, schema_version, created_at, updated_at';
function toCollection(r: CollectionRecord): Collection {
  return {
    id: r.id, name: r.name, schema: r.schema, rules: r.rules, indexes: r.indexes, schemaVersion: r.schema_version,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}

/**
 * A records table made or dropped is something the change log does not
 * describe: counted with the writes outside it (migration 12), so every
 * instance's read cache drops what it holds.
 */
const COUNT_TABLE_CHANGE = 'UPDATE writes_outside_log SET n = n + 1 WHERE id = 1';

/**
 * The records table of a collection and its indexes, as one script.
 * COLLATE "C" on ids: keyset pagination compares bytes, as on SQLite,
 * whatever the database's locale.
 */
export function recordsTableDdl(c: Collection): string {
  return [
    `CREATE TABLE ${recordsTable(c.name)} (
       id         text COLLATE "C" PRIMARY KEY,
       owner      text COLLATE "C",
       version    integer NOT NULL,
       created_at timestamptz NOT NULL,
       updated_at timestamptz NOT NULL,
       data       jsonb NOT NULL
     )`,
    ...indexesFor(c, postgresIndexColumns).values(),
    writesOutsideLogTrigger(recordsTable(c.name)),
  ].join(';\n');
}

/**
 * Collections as rows of `collections` plus one table per collection.
 * `atomic` runs a multi-statement change in a transaction of its own; null
 * when `run` already is inside one.
 */
export function makePostgresCollectionRepository(run: Run, atomic: Atomic | null): CollectionRepository {
  const atomically: Atomic = atomic ?? ((fn) => fn(run));
  return {
    async listCollections() {
      const result = await run<CollectionRecord>('sigil_collections', `SELECT ${COLUMNS} FROM collections ORDER BY name`, []);
      return result.rows.map(toCollection);
    },
    async findCollection(name) {
      const result = await run<CollectionRecord>('sigil_collection', `SELECT ${COLUMNS} FROM collections WHERE name = $1`, [name]);
      const row = result.rows[0];
      return row === undefined ? null : toCollection(row);
    },
    async findSchemaStamp(name) {
      const read = async (): Promise<SchemaStamp | null> => {
        const result = await run<{ id: string; schema_version: number }>('sigil_collection_stamp',
          'SELECT id, schema_version FROM collections WHERE name = $1', [name]);
        const row = result.rows[0];
        return row === undefined ? null : { id: row.id, schemaVersion: row.schema_version };
      };
      const stamp = await read();
      if (stamp === null || atomic !== null) return stamp;
      // In a transaction the answer must hold until it ends. The lock a record write
      // takes (ROW EXCLUSIVE) makes a schema change wait (lockCollection, DROP TABLE);
      // unlike a row lock it queues fairly, so a stream of writes cannot starve the
      // change. Then read again: the change may have committed before the lock.
      await run(undefined, `LOCK TABLE ${recordsTable(name)} IN ROW EXCLUSIVE MODE`, []);
      return read();
    },
    async insertCollection(c) {
      await atomically(async (tx) => {
        await tx('sigil_insert_collection',
          `INSERT INTO collections (${COLUMNS}) VALUES ($1, $2, $3::json, $4::jsonb, $5::jsonb, $6, $7, $8)`,
          [c.id, c.name, JSON.stringify(c.schema), JSON.stringify(c.rules), JSON.stringify(c.indexes), c.schemaVersion, c.createdAt, c.updatedAt]);
        // One round trip for the table and its indexes (simple protocol: several statements, no parameters),
        // and for telling read caches that a table came (postgres-read-cache.ts).
        await tx(undefined, `${recordsTableDdl(c)};\n${COUNT_TABLE_CHANGE}`, []);
      });
    },
    async updateCollection(c) {
      const table = recordsTable(c.name);
      return atomically(async (tx) => {
        const updated = await tx('sigil_update_collection',
          `UPDATE collections SET schema = $2::json, rules = $3::jsonb, indexes = $4::jsonb, schema_version = $5, updated_at = $6
            WHERE name = $1`,
          [c.name, JSON.stringify(c.schema), JSON.stringify(c.rules), JSON.stringify(c.indexes), c.schemaVersion, c.updatedAt]);
        if (updated.rowCount !== 1) return false;
        const existing = await tx<{ indexname: string }>('sigil_collection_indexes',
          `SELECT indexname FROM pg_indexes
            WHERE schemaname = current_schema() AND tablename = $1 AND indexname LIKE 'ix\\_%'`,
          [table.slice(1, -1)]);
        const have = new Set(existing.rows.map((r) => r.indexname));
        const wanted = indexesFor(c, postgresIndexColumns);
        const ddl = [
          ...[...have].filter((name) => !wanted.has(name)).map((name) => `DROP INDEX "${name}"`),
          ...[...wanted].filter(([name]) => !have.has(name)).map(([, create]) => create),
        ];
        if (ddl.length > 0) await tx(undefined, ddl.join(';\n'), []);
        return true;
      });
    },
    async deleteCollection(name) {
      const table = recordsTable(name);
      return atomically(async (tx) => {
        const deleted = await tx('sigil_delete_collection', 'DELETE FROM collections WHERE name = $1', [name]);
        if (deleted.rowCount !== 1) return false;
        // Waits for transactions still writing to the table, then takes its indexes along.
        await tx(undefined, `DROP TABLE IF EXISTS ${table};\n${COUNT_TABLE_CHANGE}`, []);
        return true;
      });
    },
    async lockCollection(name) {
      // Outside a transaction a lock would end with its statement: nothing to hold.
      if (atomic !== null) return;
      // SHARE ROW EXCLUSIVE conflicts with the ROW EXCLUSIVE lock every INSERT,
      // UPDATE and DELETE takes (and with itself), but not with plain reads:
      // record writes wait until this transaction ends; lists and gets go on.
      await run(undefined, `LOCK TABLE ${recordsTable(name)} IN SHARE ROW EXCLUSIVE MODE`, []);
    },
  };
}
