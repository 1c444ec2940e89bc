import { createHash } from 'node:crypto';
import { COLLECTION_NAME_RE, type Collection } from '../core/collections/collection.js';
import { relationsOf } from '../core/collections/relations.js';
import { AppError } from '../core/errors.js';
import type { FieldRef, SystemFieldName } from '../core/records/query/query-types.js';

/** What both adapters share about a collection's records table: its name and its indexes. */

const SYSTEM_NAMES: ReadonlySet<string> = new Set<SystemFieldName>(['id', 'owner', 'version', 'createdAt', 'updatedAt']);
/** Every records table has these, whatever `Collection.indexes` says: the default sort, and `list: owner`. */
const ALWAYS_INDEXED: readonly (readonly string[])[] = [['createdAt', 'id'], ['owner']];

/**
 * The records table of a collection. The name is interpolated into SQL, so
 * it is checked here again, whatever the caller did.
 */
export function recordsTable(name: string): string {
  if (!COLLECTION_NAME_RE.test(name)) throw new AppError('not_found', 'No such collection.');
  return `"c_${name}"`;
}

/** A dotted path of `Collection.indexes` as the query compiler's field reference. */
function fieldRef(path: string): FieldRef {
  return SYSTEM_NAMES.has(path) ? { kind: 'system', name: path as SystemFieldName } : { kind: 'data', path: path.split('.') };
}

/**
 * The indexes a collection's table should have: name → CREATE INDEX. A name
 * is derived from the collection and the indexed expressions, so comparing
 * names with the existing ones says what to create and what to drop, and the
 * same list of paths always maps to the same index. Names stay under
 * PostgreSQL's 63-byte identifier limit.
 *
 * Each path contributes the expressions the dialect's query compiler
 * compares and sorts by (`columnsOf`: for a data path its type rank and
 * value), and `id` always comes last: every sort ends with `id`, so an index
 * on (priority) also reads `sort=-priority` pages in order, and one on
 * (priority, createdAt) serves `{"priority": 3}` with `sort=-createdAt`
 * without a sort step. Single relation fields get an index of their own
 * unless one of `indexes` starts with them. Databases made before this layout keep their old
 * indexes until the collection is next updated (names differ, so the update
 * drops the old ones and builds these).
 */
export function wantedIndexes(collection: Collection, columnsOf: (field: FieldRef) => readonly string[]): Map<string, string> {
  const wanted = new Map<string, string>();
  // A single relation field is indexed too, for filters such as {"post": "<id>"} (who references what is in record_refs).
  const relationFields = relationsOf(collection).filter((r) => !r.many && !collection.indexes.some((paths) => paths[0] === r.field)).map((r) => [r.field]);
  for (const paths of [...ALWAYS_INDEXED, ...collection.indexes, ...relationFields]) {
    const columns = (paths.includes('id') ? paths : [...paths, 'id']).flatMap((path) => columnsOf(fieldRef(path)));
    const hash = createHash('sha256').update([collection.name, ...columns].join('\n')).digest('hex').slice(0, 12);
    const name = `ix_${collection.name.slice(0, 40)}_${hash}`;
    wanted.set(name, `CREATE INDEX "${name}" ON ${recordsTable(collection.name)} (${columns.join(', ')})`);
  }
  return wanted;
}
