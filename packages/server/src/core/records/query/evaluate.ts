/**
 * The JavaScript side of the query language. Realtime checks every change
 * against every subscription's filter with `matchesFilter`, so a filter is
 * turned into a tree of small closures once (cached per AST node, weakly) and
 * then evaluated without allocating: each closure sees one node shape, which
 * keeps V8's property accesses monomorphic (walking the AST directly was
 * several times slower on mixed filters). The value rules live in
 * `order.ts`; the SQL compilers implement the same ones.
 */
import type { RecordRow } from '../record.js';
import { compareForRange, compareSortValues, fieldValue, valueContains, valueEquals, type FieldValue } from './order.js';
import type { FieldRef, FilterNode, SortKey } from './query-types.js';

type Predicate = (record: RecordRow) => boolean;
type Getter = (record: RecordRow) => FieldValue;

const compiled = new WeakMap<FilterNode, Predicate>();

/** null matches every record. */
export function matchesFilter(filter: FilterNode | null, record: RecordRow): boolean {
  if (filter === null) return true;
  let predicate = compiled.get(filter);
  if (predicate === undefined) {
    predicate = compile(filter);
    compiled.set(filter, predicate);
  }
  return predicate(record);
}

function compile(node: FilterNode): Predicate {
  switch (node.op) {
    case 'and': {
      const children = node.children.map(compile);
      if (children.length === 2) {
        const [a, b] = children as [Predicate, Predicate];
        return (r) => a(r) && b(r);
      }
      return (r) => {
        for (const child of children) if (!child(r)) return false;
        return true;
      };
    }
    case 'or': {
      const children = node.children.map(compile);
      return (r) => {
        for (const child of children) if (child(r)) return true;
        return false;
      };
    }
    case 'not': {
      const child = compile(node.child);
      return (r) => !child(r);
    }
    case 'eq': {
      const get = getter(node.field);
      const value = node.value;
      return (r) => valueEquals(get(r), value);
    }
    case 'ne': {
      // The negation of `eq`: a missing field is "not equal" to any non-null value.
      const get = getter(node.field);
      const value = node.value;
      return (r) => !valueEquals(get(r), value);
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const get = getter(node.field);
      const bound = node.value;
      // compareForRange is NaN across types, and every comparison with NaN is false.
      switch (node.op) {
        case 'gt': return (r) => compareForRange(get(r), bound) > 0;
        case 'gte': return (r) => compareForRange(get(r), bound) >= 0;
        case 'lt': return (r) => compareForRange(get(r), bound) < 0;
        case 'lte': return (r) => compareForRange(get(r), bound) <= 0;
      }
      break;
    }
    case 'in':
    case 'nin': {
      const get = getter(node.field);
      const values = node.values;
      const expected = node.op === 'in';
      return (r) => {
        const value = get(r);
        for (const candidate of values) if (valueEquals(value, candidate)) return expected;
        return !expected;
      };
    }
    case 'exists': {
      // Present counts, even when null.
      const get = getter(node.field);
      const expected = node.value;
      return (r) => (get(r) !== undefined) === expected;
    }
    case 'contains': {
      const get = getter(node.field);
      const needle = node.value;
      return (r) => valueContains(get(r), needle);
    }
    case 'startsWith': {
      const get = getter(node.field);
      const prefix = node.value;
      return (r) => {
        const value = get(r);
        return typeof value === 'string' && value.startsWith(prefix);
      };
    }
  }
}

/** A field accessor specialized for the path's length; same semantics as `fieldValue`. */
function getter(field: FieldRef): Getter {
  if (field.kind === 'system') {
    switch (field.name) {
      case 'id': return (r) => r.id;
      case 'owner': return (r) => r.owner;
      case 'version': return (r) => r.version;
      case 'createdAt': return (r) => r.createdAt;
      case 'updatedAt': return (r) => r.updatedAt;
    }
  }
  if (field.path.length === 1) {
    const key = field.path[0]!;
    return (r) => (Object.hasOwn(r.data, key) ? r.data[key] : undefined);
  }
  return (r) => fieldValue(r, field);
}

/**
 * Orders two records by `sort` exactly as the SQL compilers' ORDER BY does
 * (see `compareSortValues` for the order across types). With `id` as the
 * last key, as `parseSort` guarantees, only a record compares equal to itself.
 */
export function compareRecords(a: RecordRow, b: RecordRow, sort: readonly SortKey[]): number {
  for (const key of sort) {
    const c = compareSortValues(fieldValue(a, key.field), fieldValue(b, key.field));
    if (c !== 0) return key.direction === 'desc' ? -c : c;
  }
  return 0;
}
