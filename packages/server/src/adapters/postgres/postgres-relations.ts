import type { RecordRef, RelationRepository } from '../../core/storage/store.js';
import { recordsTable } from '../collection-tables.js';
import { compilePostgresQuery } from './postgres-query.js';
import { statementName } from './postgres-records.js';
import type { Run } from './postgres-store.js';

interface RefRecord { source: string; source_id: string; field: string; target: string; target_id: string }
interface ReferringRecord { id: string; owner: string | null; version: number; created_at: Date; updated_at: Date; data: string; parent: string }

const REF = 'source, source_id, field, target, target_id';
const USER_TARGET = '@users';
const toRef = (r: RefRecord): RecordRef => ({ source: r.source, sourceId: r.source_id, field: r.field, target: r.target, targetId: r.target_id });

/**
 * `record_refs` on PostgreSQL. `lockTargets` takes FOR KEY SHARE on the rows
 * it finds: it conflicts with DELETE (and with the FOR UPDATE a delete reads
 * its record under), not with other writers referencing the same record, so
 * comments on one post do not queue behind each other.
 */
export function makePostgresRelationRepository(run: Run): RelationRepository {
  return {
    async lockTargets(target, ids) {
      if (ids.length === 0) return new Set();
      const result = target === USER_TARGET
        ? await run<{ id: string }>('sigil_lock_users', 'SELECT id FROM users WHERE id = ANY($1::text[]) FOR KEY SHARE', [ids])
        : await run<{ id: string }>(statementName('ref', target), `SELECT id FROM ${recordsTable(target)} WHERE id = ANY($1::text[]) FOR KEY SHARE`, [ids]);
      return new Set(result.rows.map((r) => r.id));
    },
    async replaceRefs(source, sourceId, refs) {
      await run('sigil_refs_delete', 'DELETE FROM record_refs WHERE source = $1 AND source_id = $2', [source, sourceId]);
      if (refs.length === 0) return;
      await run('sigil_refs_insert',
        `INSERT INTO record_refs (${REF}, target_user)
         SELECT $1, $2, f, t, i, CASE WHEN t = '${USER_TARGET}' THEN i END FROM unnest($3::text[], $4::text[], $5::text[]) AS r(f, t, i) ON CONFLICT DO NOTHING`,
        [source, sourceId, refs.map((r) => r.field), refs.map((r) => r.target), refs.map((r) => r.targetId)]);
    },
    async findReferrers(target, targetId, limit) {
      const result = await run<RefRecord>('sigil_referrers',
        `SELECT ${REF} FROM record_refs WHERE target = $1 AND target_id = $2 ORDER BY source, source_id, field LIMIT $3`, [target, targetId, limit]);
      return result.rows.map(toRef);
    },
    async dropRefs(source, field) {
      if (field === undefined) await run('sigil_refs_drop', 'DELETE FROM record_refs WHERE source = $1', [source]);
      else await run('sigil_refs_drop_field', 'DELETE FROM record_refs WHERE source = $1 AND field = $2', [source, field]);
    },
    async findUserNames(ids) {
      if (ids.length === 0) return [];
      const result = await run<{ id: string; username: string }>('sigil_user_names', 'SELECT id, username FROM users WHERE id = ANY($1::text[])', [ids]);
      return result.rows;
    },
    async findReferringRecords(source, field, target, parents, scope, perParent, bound) {
      if (parents.length === 0) return [];
      const { where, params } = compilePostgresQuery({ filter: scope, sort: [], after: null, limit: perParent }, 6);
      // The scope is compiled for the records table's own columns; record_refs names none of them.
      const found = `SELECT id, owner, version, created_at, updated_at, data::text AS data, parent FROM (
           SELECT t.id, t.owner, t.version, t.created_at, t.updated_at, t.data, x.target_id AS parent,
                  row_number() OVER (PARTITION BY x.target_id ORDER BY t.created_at DESC, t.id DESC) AS n
             FROM record_refs x JOIN ${recordsTable(source)} t ON t.id = x.source_id
            WHERE x.target = $1 AND x.target_id = ANY($2::text[]) AND x.source = $3 AND x.field = $4 AND (${where})
         ) r WHERE n <= $5 ORDER BY parent, created_at DESC, id DESC`;
      const rows = `$${params.length + 6}`;
      const chars = `$${params.length + 7}`;
      // The bound in SQL (see ReadBound): at most rows + 1 records, and none after the one whose JSON reaches `chars`.
      const result = bound === undefined
        ? await run<ReferringRecord>(undefined, found, [target, parents, source, field, perParent, ...params])
        : await run<ReferringRecord>(undefined,
          `SELECT id, owner, version, created_at, updated_at, data, parent FROM (
             SELECT f.*, coalesce(sum(length(f.data)) OVER (ORDER BY parent, created_at DESC, id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
               FROM (${found} LIMIT ${rows}) f
           ) b WHERE before < ${chars} ORDER BY parent, created_at DESC, id DESC`,
          [target, parents, source, field, perParent, ...params, bound.rows + 1, bound.chars]);
      return result.rows.map((r) => ({
        parent: r.parent,
        record: { id: r.id, owner: r.owner, version: r.version, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(), dataJson: r.data },
      }));
    },
  };
}
