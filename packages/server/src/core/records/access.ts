import type { Principal } from '../auth/principal.js';
import type { Collection, RuleValue } from '../collections/collection.js';
import { AppError } from '../errors.js';
import { matchesFilter } from './query/evaluate.js';
import type { FilterNode } from './query/query-types.js';
import { parseStoredRecord, type RecordRow, type StoredRecord } from './record.js';

/**
 * Whether `principal` satisfies `rule` for a record owned by `owner`
 * (`undefined`: no particular record yet, as for create). Admins always may.
 */
export function allows(rule: RuleValue, principal: Principal | null, owner?: string | null): boolean {
  if (principal?.role === 'admin') return true;
  switch (rule) {
    case 'public':
      return true;
    case 'authenticated':
      return principal !== null;
    case 'owner':
      return principal !== null && (owner === undefined || owner === principal.userId);
    case 'admin':
      return false;
  }
}

/** The refusal for an operation the caller may not perform: 401 without a token, else 403. */
export function refusal(principal: Principal | null, what: string): AppError {
  return principal === null ? new AppError('unauthorized', `Sign in to ${what}.`) : new AppError('forbidden', `You may not ${what}.`);
}

/**
 * What a caller may read of a collection (SPEC §4.5): `null` when nothing,
 * else the records matching `filter` (`null`: every record). `view` is what a
 * GET by id (and any single record the caller is shown) needs; `list` is what
 * listing and subscribing need, and is the view rule AND the list rule, so a
 * list, a GET by id and a subscription never disagree about a record.
 */
export interface ReadScope {
  readonly filter: FilterNode | null;
}

export type ReadPurpose = 'list' | 'view';

const EVERY_RECORD: ReadScope = Object.freeze({ filter: null });

/**
 * The one answer to "which records of `collection` may this caller read?"
 * (used by lists as SQL, by everything else in JS). Runs on every read, with
 * a new principal object each request: it allocates nothing but, once per
 * user, the scope of their own records.
 */
export function readScope(collection: Collection, principal: Principal | null, purpose: ReadPurpose): ReadScope | null {
  if (principal?.role === 'admin') return EVERY_RECORD;
  const { view, list } = collection.rules;
  if (!allows(view, principal)) return null;
  if (purpose === 'list' && !allows(list, principal)) return null;
  if (view !== 'owner' && (purpose === 'view' || list !== 'owner')) return EVERY_RECORD;
  // `allows` above refused `owner` without a caller.
  return ownRecords(principal!.userId);
}

/** Scopes of "the caller's own records" by user id, the same object each time (lists key their kept queries on it). */
const ownScopes = new Map<string, ReadScope>();
const MAX_OWN_SCOPES = 10_000;

function ownRecords(userId: string): ReadScope {
  let scope = ownScopes.get(userId);
  if (scope === undefined) {
    if (ownScopes.size >= MAX_OWN_SCOPES) ownScopes.clear();
    scope = Object.freeze({ filter: Object.freeze({ op: 'eq', field: Object.freeze({ kind: 'system', name: 'owner' }), value: userId } as const) });
    ownScopes.set(userId, scope);
  }
  return scope;
}

/** Whether a record (parsed, or as read for an answer) is inside the scope. */
export function inScope(scope: ReadScope, record: RecordRow | StoredRecord): boolean {
  if (scope.filter === null) return true;
  if ('data' in record) return matchesFilter(scope.filter, record);
  // A scope on system fields only needs no parse of the user fields.
  const row = touchesData(scope.filter) ? parseStoredRecord(record) : { ...record, data: NO_DATA };
  return matchesFilter(scope.filter, row);
}

const NO_DATA = Object.freeze({});

function touchesData(node: FilterNode): boolean {
  switch (node.op) {
    case 'and':
    case 'or':
      return node.children.some(touchesData);
    case 'not':
      return touchesData(node.child);
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'in':
    case 'nin':
    case 'exists':
    case 'contains':
    case 'startsWith':
      return node.field.kind === 'data';
  }
}

/**
 * The collection as seen by a caller who must be able to read it: one the
 * caller may not read answers exactly like one that does not exist, so its
 * name is not revealed (SPEC §4.5). The message is the catalog's.
 */
export function hiddenCollection(name: string): AppError {
  return new AppError('not_found', `No collection "${name}".`);
}
