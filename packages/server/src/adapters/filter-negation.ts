import type { FieldRef, FilterNode, Scalar } from '../core/records/query/query-types.js';

/**
 * The leaves that negation is expressed through (`ne` is NOT `eq`, `nin` NOT
 * `in`, `exists: false` NOT `exists: true`).
 */
export type PositiveLeaf =
  | { readonly op: 'eq'; readonly field: FieldRef; readonly value: Scalar }
  | { readonly op: 'in'; readonly field: FieldRef; readonly values: readonly Scalar[] }
  | { readonly op: 'gt' | 'gte' | 'lt' | 'lte'; readonly field: FieldRef; readonly value: string | number }
  | { readonly op: 'exists'; readonly field: FieldRef }
  | { readonly op: 'contains'; readonly field: FieldRef; readonly value: Scalar }
  | { readonly op: 'startsWith'; readonly field: FieldRef; readonly value: string };

export interface FilterDialect<P> {
  readonly alwaysTrue: string;
  readonly alwaysFalse: string;
  /** One leaf, negated or not, in the dialect's SQL; values go into `params`. */
  leaf(node: PositiveLeaf, negated: boolean, params: P): string;
}

/**
 * Walks a filter with NOT pushed down to the leaves (De Morgan), the part of
 * compiling a filter that does not depend on the SQL dialect.
 */
export function compileFilter<P>(node: FilterNode, negated: boolean, params: P, dialect: FilterDialect<P>): string {
  switch (node.op) {
    case 'and':
    case 'or': {
      const conjunction = (node.op === 'and') !== negated;
      if (node.children.length === 0) return conjunction ? dialect.alwaysTrue : dialect.alwaysFalse;
      return `(${node.children.map((child) => compileFilter(child, negated, params, dialect)).join(conjunction ? ' AND ' : ' OR ')})`;
    }
    case 'not':
      return compileFilter(node.child, !negated, params, dialect);
    case 'eq':
    case 'ne':
      return dialect.leaf({ op: 'eq', field: node.field, value: node.value }, negated !== (node.op === 'ne'), params);
    case 'in':
    case 'nin':
      return dialect.leaf({ op: 'in', field: node.field, values: node.values }, negated !== (node.op === 'nin'), params);
    case 'exists':
      return dialect.leaf({ op: 'exists', field: node.field }, negated === node.value, params);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains':
    case 'startsWith':
      return dialect.leaf(node, negated, params);
  }
}
