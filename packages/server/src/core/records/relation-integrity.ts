import type { ErrorDetail } from '@sigil/protocol';
import type { Principal } from '../auth/principal.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import type { Collection, JsonObject, JsonValue } from '../collections/collection.js';
import { MAX_RELATION_IDS, USERS, refTarget, relationIds, relationsOf, type Relation } from '../collections/relations.js';
import { escapePointer } from '../collections/schema-compiler.js';
import { AppError } from '../errors.js';
import type { RecordRef, StoreTransaction } from '../storage/store.js';
import { inScope, readScope } from './access.js';
import { parseStoredRecord, type ChangeOp, type RecordRow } from './record.js';

/**
 * Who a reference check is for: a caller (a reference to a record they may
 * not view is treated as one that does not exist, so a write cannot probe
 * for hidden records), or `trusted` (`sigil apply`, schema changes: the
 * record must exist, nothing more).
 */
export type Referrer = { readonly principal: Principal | null } | 'trusted';

/** A change a delete causes in another record (cascade: deleted; setNull: updated), logged with the delete. */
export interface RelationEffect {
  readonly collection: Collection;
  readonly op: Extract<ChangeOp, 'delete' | 'update'>;
  readonly row: RecordRow;
  readonly previous?: RecordRow;
}

/** Records one delete may change through cascade and setNull, before it is refused instead. */
export const MAX_DELETE_EFFECTS = 1000;
/** Referencing records a restrict refusal names. */
const MAX_NAMED = 20;

export interface RelationIntegrityOptions {
  readonly catalog: CollectionCatalog;
  readonly now: () => string;
}

export type RelationIntegrity = ReturnType<typeof createRelationIntegrity>;

/**
 * Referential integrity for relation fields (SPEC §4.6), inside the write's
 * transaction: every id a write adds must name an existing record, held
 * (PostgreSQL: FOR KEY SHARE) until the commit so that a concurrent delete
 * waits for it and then sees its reference; every delete restricts, cascades
 * to or sets null in the records that reference the deleted one, found
 * through `record_refs` after the deleted row is locked. With both orders of
 * lock, no dangling reference can commit.
 */
export function createRelationIntegrity(opts: RelationIntegrityOptions) {
  const { catalog, now } = opts;

  /**
   * Throws `validation_failed` unless each id that `data` adds (relative to
   * `previous`, the record's current fields on an update) names a record the
   * referrer may see; then stores the record's references when they changed.
   */
  async function checkAndStore(collection: Collection, id: string, data: JsonObject, previous: JsonObject | null, referrer: Referrer, tx: StoreTransaction): Promise<void> {
    const relations = relationsOf(collection);
    if (relations.length === 0) return;
    let changed = previous === null;
    const problems: ErrorDetail[] = [];
    for (const relation of relations) {
      const ids = relationIds(relation, data);
      const before = previous === null ? [] : relationIds(relation, previous);
      if (!changed && !sameIds(ids, before)) changed = true;
      if (ids.length > MAX_RELATION_IDS) {
        problems.push({ path: `/${escapePointer(relation.field)}`, message: `must hold at most ${MAX_RELATION_IDS} ids` });
        continue;
      }
      const added = before.length === 0 ? ids : ids.filter((x) => !before.includes(x));
      if (added.length === 0) continue;
      const found = await visibleTargets(relation, added, referrer, tx);
      for (const missing of added) {
        if (found.has(missing)) continue;
        problems.push({ path: pathOf(relation, data, missing), message: `must name an existing ${relation.collection === USERS ? 'user' : `record of "${relation.collection}"`}` });
        if (problems.length >= MAX_NAMED) break;
      }
    }
    if (problems.length > 0) throw new AppError('validation_failed', 'The record refers to records that do not exist.', { details: problems });
    if (changed) await tx.relations.replaceRefs(collection.name, id, refsOf(collection, id, data));
  }

  /** Of `ids`, those that exist (locked until the commit) and that the referrer may view. */
  async function visibleTargets(relation: Relation, ids: readonly string[], referrer: Referrer, tx: StoreTransaction): Promise<Set<string>> {
    const target = refTarget(relation.collection);
    if (relation.collection === USERS) return tx.relations.lockTargets(target, ids);
    let scope = null;
    if (referrer !== 'trusted') {
      const collection = await catalog.get(relation.collection).catch(() => null);
      scope = collection === null ? null : readScope(collection, referrer.principal, 'view');
      if (scope === null) return new Set();
    }
    const found = await tx.relations.lockTargets(target, ids);
    if (scope === null || scope.filter === null || found.size === 0) return found;
    const rows = await tx.records.readRecords(relation.collection, [...found]);
    return new Set(rows.filter((row) => inScope(scope, row)).map((row) => row.id));
  }

  /**
   * What deleting record `id` (of a collection, or a user: `target` is its
   * `refTarget`) does to the records that reference it, done in `tx` after
   * the deleted row is locked or gone: a `restrict` reference refuses the
   * delete (409 naming the referencing records the caller may see),
   * `cascade` deletes the referencing record (and so on, through its own
   * referrers), `setNull` takes the id out (the field is removed, or the id
   * taken out of the array; a result the schema refuses refuses the delete).
   * Returns the changes made, for the change log.
   */
  async function afterDelete(target: string, id: string, principal: Principal | null, tx: StoreTransaction): Promise<RelationEffect[]> {
    const effects: RelationEffect[] = [];
    const collections = new Map<string, Collection | null>();
    const load = async (name: string): Promise<Collection | null> => {
      if (!collections.has(name)) collections.set(name, await tx.collections.findCollection(name));
      return collections.get(name)!;
    };
    const visit = async (targetKey: string, targetId: string): Promise<void> => {
      const refs = await tx.relations.findReferrers(targetKey, targetId, MAX_DELETE_EFFECTS + 1);
      if (refs.length === 0) return;
      if (refs.length > MAX_DELETE_EFFECTS || effects.length + refs.length > MAX_DELETE_EFFECTS) throw tooMany();
      const bySource = new Map<string, { source: Collection; sourceId: string; relations: Relation[] }>();
      const restricted: RecordRef[] = [];
      for (const ref of refs) {
        const source = await load(ref.source);
        const relation = source === null ? undefined : relationsOf(source).find((r) => r.field === ref.field && refTarget(r.collection) === targetKey);
        // A reference left by a relation since removed is stale: record_refs is rebuilt with each relation change, so this does not happen.
        if (source === null || relation === undefined) continue;
        if (relation.onDelete === 'restrict') {
          restricted.push(ref);
          continue;
        }
        const key = `${ref.source}\u0000${ref.sourceId}`;
        const entry = bySource.get(key) ?? { source, sourceId: ref.sourceId, relations: [] };
        entry.relations.push(relation);
        bySource.set(key, entry);
      }
      if (restricted.length > 0) throw await restrictedBy(restricted, targetKey, targetId, principal, load, tx);
      for (const { source, sourceId, relations } of bySource.values()) {
        const current = await tx.records.findRecordToChange(source.name, sourceId);
        if (current === null) continue; // deleted earlier in this cascade
        if (relations.some((r) => r.onDelete === 'cascade')) {
          if (!(await tx.records.deleteRecord(source.name, sourceId, current.version))) throw changedMeanwhile();
          await tx.relations.replaceRefs(source.name, sourceId, []);
          effects.push({ collection: source, op: 'delete', row: current });
          await visit(source.name, sourceId);
        } else {
          let data = current.data;
          for (const relation of relations) data = withoutId(data, relation, targetId);
          const problems = catalog.validate(source, data);
          if (problems.length > 0) {
            throw new AppError('conflict', `Deleting it would leave record "${sourceId}" of "${source.name}" invalid (${problems[0]!.path || '/'} ${problems[0]!.message}); change that record first.`, {
              details: problems.map((p) => ({ path: `/${source.name}/${escapePointer(sourceId)}${p.path}`, message: p.message })),
            });
          }
          const next: RecordRow = { ...current, data, version: current.version + 1, updatedAt: now() };
          if (!(await tx.records.updateRecord(source.name, next, current.version))) throw changedMeanwhile();
          await tx.relations.replaceRefs(source.name, sourceId, refsOf(source, sourceId, data));
          effects.push({ collection: source, op: 'update', row: next, previous: current });
        }
        if (effects.length > MAX_DELETE_EFFECTS) throw tooMany();
      }
    };
    await visit(target, id);
    return effects;
  }

  /** The 409 of a restrict: names the referencing records the caller may view, counts the others. */
  async function restrictedBy(refs: readonly RecordRef[], targetKey: string, targetId: string, principal: Principal | null, load: (name: string) => Promise<Collection | null>, tx: StoreTransaction): Promise<AppError> {
    const named: RecordRef[] = [];
    for (const ref of refs) {
      if (named.length >= MAX_NAMED) break;
      const source = await load(ref.source);
      const scope = source === null ? null : readScope(source, principal, 'view');
      if (scope === null) continue;
      const row = scope.filter === null ? null : await tx.records.readRecord(ref.source, ref.sourceId);
      if (scope.filter === null || (row !== null && inScope(scope, parseStoredRecord(row)))) named.push(ref);
    }
    const unseen = refs.length - named.length;
    const list = named.map((r) => `${r.source}/${r.sourceId} (${r.field})`).join(', ');
    const what = targetKey === '@users' ? `User "${targetId}"` : `Record "${targetId}"`;
    const others = unseen > 0 ? `${named.length > 0 ? ' and ' : ''}${unseen} record${unseen === 1 ? '' : 's'} you cannot see` : '';
    return new AppError('conflict', `${what} is referenced by ${list}${others}, with onDelete "restrict"; delete or change those first.`, {
      details: named.map((r) => ({ path: `/${r.source}/${escapePointer(r.sourceId)}/${escapePointer(r.field)}`, message: 'references this record (onDelete: restrict)' })),
    });
  }

  /**
   * `afterDelete` for a user deleted in `tx`, with the changes it made
   * appended to the change log (the last one ending the transaction).
   * Whether it logged any.
   */
  async function afterUserDelete(userId: string, principal: Principal | null, tx: StoreTransaction): Promise<boolean> {
    const effects = await afterDelete(refTarget(USERS), userId, principal, tx);
    if (effects.length === 0) return false;
    const createdAt = now();
    await tx.changes.appendChanges(effects.map((e, i) => ({
      collection: e.collection.name, collectionId: e.collection.id, recordId: e.row.id, op: e.op, record: e.row, previous: e.previous ?? null, createdAt, txEnd: i === effects.length - 1,
    })));
    return true;
  }

  return { checkAndStore, afterDelete, afterUserDelete };
}

/** The `record_refs` rows of a record. */
export function refsOf(collection: Collection, id: string, data: JsonObject): RecordRef[] {
  const refs: RecordRef[] = [];
  for (const relation of relationsOf(collection)) {
    const target = refTarget(relation.collection);
    for (const targetId of relationIds(relation, data)) refs.push({ source: collection.name, sourceId: id, field: relation.field, target, targetId });
  }
  return refs;
}

/** `data` without `id` in the relation's field: the field removed (one record) or the id taken out (several). */
function withoutId(data: JsonObject, relation: Relation, id: string): JsonObject {
  const value = data[relation.field];
  if (Array.isArray(value)) return { ...data, [relation.field]: value.filter((x: JsonValue) => x !== id) };
  if (value !== id) return data;
  return Object.fromEntries(Object.entries(data).filter(([key]) => key !== relation.field));
}

function pathOf(relation: Relation, data: JsonObject, id: string): string {
  const field = `/${escapePointer(relation.field)}`;
  const value = data[relation.field];
  return Array.isArray(value) ? `${field}/${value.indexOf(id)}` : field;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function tooMany(): AppError {
  return new AppError('conflict', `Deleting it would delete or change more than ${MAX_DELETE_EFFECTS} referencing records at once; delete those in smaller steps first.`);
}

function changedMeanwhile(): AppError {
  return new AppError('unavailable', 'A referencing record changed concurrently; retry.', { retryAfter: 1 });
}
