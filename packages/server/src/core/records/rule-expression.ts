/**
 * Rules as expressions (SPEC §4.7): a rule may be a filter of the records
 * query language in which the strings "@auth.id", "@auth.username" and
 * "@auth.role" stand for the caller. An expression is parsed once per
 * collection version, then bound to each caller: the variables become the
 * caller's values, and the result is an ordinary filter that the SQL
 * compilers and the JavaScript evaluator already agree on. A condition that
 * uses a variable matches nothing for an anonymous caller (it is replaced by
 * "false" before anything runs, so `$not` of it is "true"); constant parts
 * are folded away, so a rule that can never match a caller is known to be
 * "nothing" without reading a record.
 */
import type { ErrorDetail } from '@sigil/protocol';
import type { Principal } from '../auth/principal.js';
import type { RuleExpression } from '../collections/collection.js';
import { AppError, isAppError } from '../errors.js';
import { conditionValues, someCondition } from './query/conditions.js';
import { parseFilter } from './query/filter.js';
import type { FilterNode, Scalar } from './query/query-types.js';

export const AUTH_VARIABLES = ['@auth.id', '@auth.username', '@auth.role'] as const;
type AuthVariable = (typeof AUTH_VARIABLES)[number];
const VARIABLE_PREFIX = '@auth.';

/** A bound rule: every record (`true`), none (`false`), or those matching the filter. */
export type BoundRule = FilterNode | boolean;

const parsed = new WeakMap<RuleExpression, FilterNode>();

/**
 * The expression as a filter with its variables still in place. Throws
 * `validation_failed` with details under `path` (e.g. `/rules/view`) when it
 * is not a valid filter, is empty, or names an unknown `@auth.` variable.
 */
export function parseRuleExpression(rule: RuleExpression, path: string): FilterNode {
  const known = parsed.get(rule);
  if (known !== undefined) return known;
  let node: FilterNode | null;
  try {
    node = parseFilter(JSON.stringify(rule));
  } catch (error) {
    if (!isAppError(error)) throw error;
    const details = (error.details ?? []).map((d) => ({ path: path + d.path.replace(/^\/filter/, ''), message: d.message }));
    throw new AppError('validation_failed', `${path} is not a valid rule expression: ${error.message}`, { details });
  }
  if (node === null) {
    throw new AppError('validation_failed', 'An empty rule expression would allow everyone; write "public".', { details: [{ path, message: 'must not be empty' }] });
  }
  const problems: ErrorDetail[] = [];
  someCondition(node, (condition) => {
    for (const value of conditionValues(condition)) {
      if (typeof value === 'string' && value.startsWith(VARIABLE_PREFIX) && !(AUTH_VARIABLES as readonly string[]).includes(value)) {
        problems.push({ path, message: `unknown variable "${value.slice(0, 40)}"; the caller is ${AUTH_VARIABLES.join(', ')}` });
      }
    }
    return false;
  });
  if (problems.length > 0) throw new AppError('validation_failed', problems[0]!.message, { details: problems });
  parsed.set(rule, node);
  return node;
}

/** The caller's values for the variables; null for an anonymous caller. */
function valueOf(variable: AuthVariable, principal: Principal): string {
  switch (variable) {
    case '@auth.id':
      return principal.userId;
    case '@auth.username':
      return principal.username;
    case '@auth.role':
      return principal.role;
  }
}

const isVariable = (value: unknown): value is AuthVariable => typeof value === 'string' && (AUTH_VARIABLES as readonly string[]).includes(value);

/** `node` with the caller in place of the variables, constant parts folded. */
export function bindRule(node: FilterNode, principal: Principal | null): BoundRule {
  switch (node.op) {
    case 'and':
    case 'or': {
      const stop = node.op === 'or';
      const children: FilterNode[] = [];
      for (const child of node.children) {
        const bound = bindRule(child, principal);
        if (bound === stop) return stop;
        if (bound !== !stop) children.push(bound as FilterNode);
      }
      if (children.length === 0) return !stop;
      return children.length === 1 ? children[0]! : { op: node.op, children };
    }
    case 'not': {
      const bound = bindRule(node.child, principal);
      return typeof bound === 'boolean' ? !bound : { op: 'not', child: bound };
    }
    case 'in':
    case 'nin': {
      if (!node.values.some(isVariable)) return node;
      if (principal === null) return false;
      return { ...node, values: node.values.map((v): Scalar => (isVariable(v) ? valueOf(v, principal) : v)) };
    }
    case 'exists':
      return node;
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains':
    case 'startsWith': {
      if (!isVariable(node.value)) return node;
      if (principal === null) return false;
      return { ...node, value: valueOf(node.value, principal) };
    }
  }
}

const withVariables = new WeakMap<FilterNode, boolean>();

/** Whether the expression uses a variable at all (one that does not is the same for every caller). Asked per delivery: kept per node. */
export function usesVariables(node: FilterNode): boolean {
  let found = withVariables.get(node);
  if (found === undefined) {
    found = someCondition(node, (condition) => conditionValues(condition).some(isVariable));
    withVariables.set(node, found);
  }
  return found;
}
