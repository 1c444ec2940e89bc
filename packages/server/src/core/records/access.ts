import type { Principal } from '../auth/principal.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import type { Collection, RuleExpression, RuleValue } from '../collections/collection.js';
import { AppError } from '../errors.js';
import { matchesFilter } from './query/evaluate.js';
import { someCondition } from './query/conditions.js';
import type { FilterNode } from './query/query-types.js';
import { parseStoredRecord, type RecordRow, type StoredRecord } from './record.js';
import { bindRule, parseRuleExpression, usesVariables } from './rule-expression.js';

/** The refusal for an operation the caller may not perform: 401 without a token, else 403. */
export function refusal(principal: Principal | null, what: string): AppError {
  return principal === null ? new AppError('unauthorized', `Sign in to ${what}.`) : new AppError('forbidden', `You may not ${what}.`);
}

/**
 * The records a rule lets a caller at: `null` when none, else those matching
 * `filter` (`null`: every record). For `view`, what a GET by id (and any
 * single record the caller is shown) needs; for `list`, what listing and
 * subscribing need: the view rule AND the list rule, so a list, a GET by id
 * and a subscription never disagree about a record (SPEC §4.5).
 */
export interface ReadScope {
  readonly filter: FilterNode | null;
}

export type ReadPurpose = 'list' | 'view';

const EVERY_RECORD: ReadScope = Object.freeze({ filter: null });

/**
 * The one answer to "which records of `collection` may this caller read?"
 * (used by lists as SQL, by everything else in JS). Runs on every read, with
 * a new principal object each request: scopes are kept per rule and caller,
 * so this allocates nothing once a caller has been seen.
 */
export function readScope(collection: Collection, principal: Principal | null, purpose: ReadPurpose): ReadScope | null {
  if (principal?.role === 'admin') return EVERY_RECORD;
  const view = ruleScope(collection.rules.view, principal);
  if (view === null || purpose === 'view') return view;
  const list = ruleScope(collection.rules.list, principal);
  if (list === null) return null;
  if (list === EVERY_RECORD || list === view) return view;
  if (view === EVERY_RECORD) return list;
  return bothScopes(view, list);
}

/** Whether `principal` may perform an operation whose rule is `rule` on `record` (for create: the record to be stored). */
export function permits(rule: RuleValue, principal: Principal | null, record: RecordRow): boolean {
  if (principal?.role === 'admin') return true;
  const scope = ruleScope(rule, principal);
  return scope !== null && inScope(scope, record);
}

/** Whether the rule can let `principal` at any record at all (checked before a record is at hand). */
export function mayEver(rule: RuleValue, principal: Principal | null): boolean {
  return principal?.role === 'admin' || ruleScope(rule, principal) !== null;
}

/** One rule for one caller (not an admin). */
function ruleScope(rule: RuleValue, principal: Principal | null): ReadScope | null {
  switch (rule) {
    case 'public':
      return EVERY_RECORD;
    case 'authenticated':
      return principal === null ? null : EVERY_RECORD;
    case 'owner':
      return principal === null ? null : ownRecords(principal.userId);
    case 'admin':
      return null;
    default:
      return expressionScope(rule, principal);
  }
}

/** Scopes of "the caller's own records" by user id, the same object each time (lists key their kept queries on it). */
const ownScopes = new Map<string, ReadScope>();
/** Per rule expression (a new object whenever a collection is loaded), the scope of each caller seen. */
const expressionScopes = new WeakMap<RuleExpression, Map<string, ReadScope | null>>();
const combinedScopes = new WeakMap<ReadScope, WeakMap<ReadScope, ReadScope>>();
/** Callers kept per rule before the map starts over: a bound, not a cache size that matters. */
const MAX_CALLERS = 10_000;

function ownRecords(userId: string): ReadScope {
  let scope = ownScopes.get(userId);
  if (scope === undefined) {
    if (ownScopes.size >= MAX_CALLERS) ownScopes.clear();
    scope = Object.freeze({ filter: Object.freeze({ op: 'eq', field: Object.freeze({ kind: 'system', name: 'owner' }), value: userId } as const) });
    ownScopes.set(userId, scope);
  }
  return scope;
}

function expressionScope(rule: RuleExpression, principal: Principal | null): ReadScope | null {
  let byCaller = expressionScopes.get(rule);
  if (byCaller === undefined) {
    byCaller = new Map();
    expressionScopes.set(rule, byCaller);
  }
  const node = parseRuleExpression(rule, '/rules');
  // A rule without variables is the same for every caller.
  const key = principal === null ? '' : usesVariables(node) ? `${principal.userId}\u0000${principal.username}\u0000${principal.role}` : '*';
  let scope = byCaller.get(key);
  if (scope === undefined) {
    const bound = bindRule(node, principal);
    scope = bound === true ? EVERY_RECORD : bound === false ? null : Object.freeze({ filter: bound });
    if (byCaller.size >= MAX_CALLERS) byCaller.clear();
    byCaller.set(key, scope);
  }
  return scope;
}

function bothScopes(a: ReadScope, b: ReadScope): ReadScope {
  let withA = combinedScopes.get(a);
  if (withA === undefined) {
    withA = new WeakMap();
    combinedScopes.set(a, withA);
  }
  const known = withA.get(b);
  if (known !== undefined) return known;
  const both: ReadScope = Object.freeze({ filter: { op: 'and' as const, children: [a.filter!, b.filter!] } });
  withA.set(b, both);
  return both;
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

const touchesData = (node: FilterNode): boolean => someCondition(node, (condition) => condition.field.kind === 'data');

/**
 * The collection as seen by a caller who must be able to read it: one the
 * caller may not read answers exactly like one that does not exist, so its
 * name is not revealed (SPEC §4.5). The message is the catalog's.
 */
export function hiddenCollection(name: string): AppError {
  return new AppError('not_found', `No collection "${name}".`);
}

/** `row` if it exists and is in the caller's read scope; else 404 either way, so existence is not revealed. */
export function visibleRecord<R extends RecordRow | StoredRecord>(scope: ReadScope, row: R | null): R {
  if (!row || !inScope(scope, row)) throw new AppError('not_found', 'No such record.');
  return row;
}

/** The collection and what the caller may read of it; a collection they may not read is 404 like a missing one. */
export async function readableCollection(catalog: CollectionCatalog, name: string, principal: Principal | null, purpose: ReadPurpose): Promise<{ collection: Collection; scope: ReadScope }> {
  const collection = await catalog.get(name);
  const scope = readScope(collection, principal, purpose);
  if (scope === null) throw hiddenCollection(name);
  return { collection, scope };
}
