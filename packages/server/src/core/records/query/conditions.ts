import type { FilterNode } from './query-types.js';

/** A filter's leaves: the conditions on one field. */
export type Condition = Exclude<FilterNode, { readonly op: 'and' | 'or' | 'not' }>;

/** Whether any field condition of `node` passes `test` (depth first, stopping at the first). */
export function someCondition(node: FilterNode, test: (condition: Condition) => boolean): boolean {
  if ('children' in node) return node.children.some((child) => someCondition(child, test));
  if ('child' in node) return someCondition(node.child, test);
  return test(node);
}

/** The values a condition compares with (one, or the list of `$in`/`$nin`). */
export function conditionValues(condition: Condition): readonly unknown[] {
  return 'values' in condition ? condition.values : [condition.value];
}
