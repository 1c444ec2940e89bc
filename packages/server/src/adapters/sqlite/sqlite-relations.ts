import type Database from 'better-sqlite3';
import type { StoredRecord } from '../../core/records/record.js';
import type { RecordRef, RelationRepository } from '../../core/storage/store.js';
import { recordsTable } from '../collection-tables.js';
import { compileSqliteQuery } from './sqlite-query.js';
import { boundedRows, type SqliteRecordStatements } from './sqlite-records.js';
import type { Exec } from './sqlite-store.js';

type Db = Database.Database;

interface RefRecord { source: string; source_id: string; field: string; target: string; target_id: string }
type ReferringColumns = [id: string, owner: string | null, version: number, createdAt: string, updatedAt: string, data: string, parent: string];

const REF = 'source, source_id, field, target, target_id';
const toRef = (r: RefRecord): RecordRef => ({ source: r.source, sourceId: r.source_id, field: r.field, target: r.target, targetId: r.target_id });
/** A list of ids as one parameter: `IN (SELECT value FROM json_each(?))` keeps one prepared statement for any count. */
const idList = (ids: readonly string[]): string => JSON.stringify(ids);
const USER_TARGET = '@users';

export function prepareRelationStatements(db: Db) {
  return {
    db,
    existingUsers: db.prepare<[string], string>('SELECT id FROM users WHERE id IN (SELECT value FROM json_each(?))').pluck(),
    userNames: db.prepare<[string], { id: string; username: string }>('SELECT id, username FROM users WHERE id IN (SELECT value FROM json_each(?))'),
    referrers: db.prepare<[string, string, number], RefRecord>(
      `SELECT ${REF} FROM record_refs WHERE target = ? AND target_id = ? ORDER BY source, source_id, field LIMIT ?`,
    ),
    deleteOfRecord: db.prepare<[string, string]>('DELETE FROM record_refs WHERE source = ? AND source_id = ?'),
    insert: db.prepare<[string, string, string, string, string]>(`INSERT OR IGNORE INTO record_refs (${REF}) VALUES (?, ?, ?, ?, ?)`),
    dropAll: db.prepare<[string]>('DELETE FROM record_refs WHERE source = ?'),
    dropField: db.prepare<[string, string]>('DELETE FROM record_refs WHERE source = ? AND field = ?'),
  };
}

export type RelationStatements = ReturnType<typeof prepareRelationStatements>;

/**
 * `record_refs` on SQLite. The writer is exclusive, so `lockTargets` needs no
 * lock: no other transaction can delete a target before this one commits.
 * Statements on a collection's table are kept with its record statements
 * (dropped when the table changes).
 */
export function makeSqliteRelationRepository(
  read: Exec<{ readonly relations: RelationStatements; readonly records: SqliteRecordStatements }>,
  write: Exec<{ readonly relations: RelationStatements }>,
): RelationRepository {
  return {
    async lockTargets(target, ids) {
      if (ids.length === 0) return new Set();
      const found = await read((s) => target === USER_TARGET
        ? s.relations.existingUsers.all(idList(ids))
        : (s.records.statement(target, `SELECT id FROM ${recordsTable(target)} WHERE id IN (SELECT value FROM json_each(?))`).all(idList(ids))).map((r) => r[0] as string));
      return new Set(found);
    },
    async replaceRefs(source, sourceId, refs) {
      await write((s) => {
        s.relations.deleteOfRecord.run(source, sourceId);
        for (const ref of refs) s.relations.insert.run(source, sourceId, ref.field, ref.target, ref.targetId);
      });
    },
    async findReferrers(target, targetId, limit) {
      return (await read((s) => s.relations.referrers.all(target, targetId, limit))).map(toRef);
    },
    async dropRefs(source, field) {
      await write((s) => (field === undefined ? s.relations.dropAll.run(source) : s.relations.dropField.run(source, field)));
    },
    async findUserNames(ids) {
      if (ids.length === 0) return [];
      return read((s) => s.relations.userNames.all(idList(ids)));
    },
    async findReferringRecords(source, field, target, parents, scope, perParent, bound) {
      if (parents.length === 0) return [];
      const { where, params } = compileSqliteQuery({ filter: scope, sort: [], after: null, limit: perParent });
      // The scope is compiled for the records table's own columns; record_refs names none of them.
      const sql = `SELECT id, owner, version, created_at, updated_at, data, parent FROM (
          SELECT t.id, t.owner, t.version, t.created_at, t.updated_at, t.data, x.target_id AS parent,
                 row_number() OVER (PARTITION BY x.target_id ORDER BY t.created_at DESC, t.id DESC) AS n
            FROM record_refs x JOIN ${recordsTable(source)} t ON t.id = x.source_id
           WHERE x.target = ? AND x.target_id IN (SELECT value FROM json_each(?)) AND x.source = ? AND x.field = ? AND (${where})
        ) WHERE n <= ? ORDER BY parent, created_at DESC, id DESC`;
      const rows = await read((s) => {
        const statement = s.records.statement(source, sql);
        const values = [target, idList(parents), source, field, ...params, perParent];
        return bound === undefined ? statement.all(...values) : boundedRows(statement.iterate(...values), bound, 5);
      });
      return rows.map((r) => {
        const [id, owner, version, createdAt, updatedAt, dataJson, parent] = r as ReferringColumns;
        const record: StoredRecord = { id, owner, version, createdAt, updatedAt, dataJson };
        return { parent, record };
      });
    },
  };
}
