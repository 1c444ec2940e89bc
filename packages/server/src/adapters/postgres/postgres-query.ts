/**
 * Compiles a `RecordQuery` to PostgreSQL SQL over a records table
 * (`id, owner, version, created_at timestamptz, updated_at timestamptz,
 * data jsonb`), with the value semantics of `core/records/query/order.ts`.
 * Values are always `$n` parameters; only field paths (identifier segments,
 * re-checked here) and sort ranks (our own integers) are embedded.
 *
 * - Equality on a data path is jsonb equality (`expr = $n::jsonb`), which is
 *   type-strict and numeric for numbers; numeric ranges compare jsonb too
 *   (btree order within numbers is numeric) — both use an index on
 *   `postgresIndexExpression`. String ranges, `$startsWith` and sorting
 *   compare text `COLLATE "C"` (code point order, whatever the database's
 *   collation), which that jsonb index cannot serve.
 * - Text columns compare `COLLATE "C"` too; `id` equality stays on the
 *   primary key's collation (equality is the same under any deterministic
 *   collation), so lookups by id keep using the primary key.
 * - `createdAt`/`updatedAt` are timestamptz: an operand in Sigil's canonical
 *   form compares as a timestamp (index-friendly, same order); any other
 *   string compares with the canonical text of the column, as in SQLite.
 * - Negation: NOTs are pushed to the leaves and a negated leaf is
 *   `NOT COALESCE(leaf, FALSE)`, so `$ne`/`$nin`/`$not` match missing fields.
 */
import { assertSafeSegments } from '../../core/records/query/field-path.js';
import { SORT_RANK, isCanonicalTimestamp, sortRank, type SortValue } from '../../core/records/query/order.js';
import type { CursorPosition, FieldRef, FilterNode, RecordQuery, Scalar, SortKey, SystemFieldName } from '../../core/records/query/query-types.js';

export interface CompiledPostgresQuery {
  /** A boolean expression (`TRUE` when there is no condition), including the keyset predicate. */
  readonly where: string;
  /** `created_at ASC, id COLLATE "C" ASC`: without the ORDER BY keyword. */
  readonly orderBy: string;
  /** `params[0]` is `$firstParam`. */
  readonly params: unknown[];
}

/** Column expressions as indexes and comparisons use them. */
const COLUMNS: Readonly<Record<SystemFieldName, string>> = {
  id: 'id COLLATE "C"',
  owner: 'owner COLLATE "C"',
  version: 'version',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

const CASTS: Readonly<Record<SystemFieldName, string>> = { id: 'text', owner: 'text', version: 'bigint', createdAt: 'timestamptz', updatedAt: 'timestamptz' };
const TIMESTAMP_TEXT = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') COLLATE "C"`;
const RANGE_OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

class Params {
  readonly values: unknown[] = [];
  constructor(private readonly first: number) {}
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.first + this.values.length - 1}::${cast}`;
  }
}

/** The expression an index must be built on for the compiler's comparisons to use it. */
export function postgresIndexExpression(field: FieldRef): string {
  if (field.kind === 'system') return COLUMNS[field.name];
  assertSafeSegments(field.path);
  // Identifier segments need no escaping inside a SQL string literal.
  return `(data${field.path.map((segment) => ` -> '${segment}'`).join('')})`;
}

export function compilePostgresQuery(query: RecordQuery, firstParam = 1): CompiledPostgresQuery {
  const p = new Params(firstParam);
  const conditions: string[] = [];
  if (query.filter !== null) conditions.push(compileNode(query.filter, false, p));
  if (query.after !== null) conditions.push(compileKeyset(query.sort, query.after, p));
  const where = conditions.length === 0 ? 'TRUE' : conditions.map((c) => `(${c})`).join(' AND ');
  const orderBy = query.sort.flatMap((key) => sortExpressions(key)).join(', ');
  return { where, orderBy, params: p.values };
}

function compileNode(node: FilterNode, negated: boolean, p: Params): string {
  switch (node.op) {
    case 'and':
    case 'or': {
      const conjunction = (node.op === 'and') !== negated;
      if (node.children.length === 0) return conjunction ? 'TRUE' : 'FALSE';
      return `(${node.children.map((child) => compileNode(child, negated, p)).join(conjunction ? ' AND ' : ' OR ')})`;
    }
    case 'not':
      return compileNode(node.child, !negated, p);
    case 'eq':
    case 'ne':
      return leaf({ op: 'eq', field: node.field, value: node.value }, negated !== (node.op === 'ne'), p);
    case 'in':
    case 'nin':
      return leaf({ op: 'in', field: node.field, values: node.values }, negated !== (node.op === 'nin'), p);
    case 'exists':
      return leaf({ op: 'exists', field: node.field }, negated === node.value, p);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains':
    case 'startsWith':
      return leaf(node, negated, p);
  }
}

/** The leaves that negation is expressed through (`ne` is NOT `eq`, `nin` NOT `in`, `exists: false` NOT `exists: true`). */
type PositiveLeaf =
  | { readonly op: 'eq'; readonly field: FieldRef; readonly value: Scalar }
  | { readonly op: 'in'; readonly field: FieldRef; readonly values: readonly Scalar[] }
  | { readonly op: 'gt' | 'gte' | 'lt' | 'lte'; readonly field: FieldRef; readonly value: string | number }
  | { readonly op: 'exists'; readonly field: FieldRef }
  | { readonly op: 'contains'; readonly field: FieldRef; readonly value: Scalar }
  | { readonly op: 'startsWith'; readonly field: FieldRef; readonly value: string };

function leaf(node: PositiveLeaf, negated: boolean, p: Params): string {
  return negated ? `NOT COALESCE(${positive(node, p)}, FALSE)` : positive(node, p);
}

/** A condition that is true exactly when the node matches; NULL counts as false. */
function positive(node: PositiveLeaf, p: Params): string {
  if (node.field.kind === 'system') return systemPositive(node, node.field.name, p);
  const e = postgresIndexExpression(node.field);
  const t = `jsonb_typeof(${e})`;
  const text = `(${e} #>> '{}') COLLATE "C"`;
  switch (node.op) {
    case 'eq':
      return node.value === null ? `(${e} IS NULL OR ${e} = 'null'::jsonb)` : `${e} = ${p.add(JSON.stringify(node.value), 'jsonb')}`;
    case 'in': {
      const values = node.values.filter((v) => v !== null).map((v) => JSON.stringify(v));
      const parts = values.length > 0 ? [`${e} = ANY(${p.add(values, 'jsonb[]')})`] : [];
      if (node.values.includes(null)) parts.push(`${e} IS NULL OR ${e} = 'null'::jsonb`);
      return parts.length === 0 ? 'FALSE' : `(${parts.join(' OR ')})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const op = RANGE_OPERATORS[node.op];
      return typeof node.value === 'number'
        ? `(${t} = 'number' AND ${e} ${op} ${p.add(JSON.stringify(node.value), 'jsonb')})`
        : `(${t} = 'string' AND ${text} ${op} ${p.add(node.value, 'text')})`;
    }
    case 'exists':
      return `${e} IS NOT NULL`;
    case 'contains': {
      const inString = typeof node.value === 'string' ? `(${t} = 'string' AND strpos(${text}, ${p.add(node.value, 'text')}) > 0) OR ` : '';
      // A scalar wrapped in an array: `@>` then means "has an element equal to it" (type-strict, top level only).
      return `(${inString}(${t} = 'array' AND ${e} @> jsonb_build_array(${p.add(JSON.stringify(node.value), 'jsonb')})))`;
    }
    case 'startsWith':
      return `(${t} = 'string' AND starts_with(${text}, ${p.add(node.value, 'text')}))`;
  }
}

/**
 * System columns have one type each (the parser enforces operand types); an
 * operand of another type can never match and compiles to FALSE, which also
 * keeps PostgreSQL from ever failing a cast.
 */
function systemPositive(node: PositiveLeaf, name: SystemFieldName, p: Params): string {
  const column = COLUMNS[name];
  switch (node.op) {
    case 'eq':
      if (node.value === null) return name === 'owner' ? 'owner IS NULL' : 'FALSE';
      return comparable(name, node.value) ? `${name === 'id' ? 'id' : column} = ${bind(name, node.value, p)}` : textFallback(name, '=', node.value, p);
    case 'in': {
      const values = node.values.filter((v) => comparable(name, v));
      const parts = values.length > 0 ? [`${name === 'id' ? 'id' : column} = ANY(${p.add(values, `${CASTS[name]}[]`)})`] : [];
      if (name === 'owner' && node.values.includes(null)) parts.push('owner IS NULL');
      return parts.length === 0 ? 'FALSE' : `(${parts.join(' OR ')})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const op = RANGE_OPERATORS[node.op];
      if (name === 'version') return typeof node.value === 'number' ? `version ${op} ${p.add(integerBound(node.op, node.value), 'bigint')}` : 'FALSE';
      if (typeof node.value !== 'string') return 'FALSE';
      return comparable(name, node.value) ? `${column} ${op} ${bind(name, node.value, p)}` : textFallback(name, op, node.value, p);
    }
    case 'exists':
      return 'TRUE';
    case 'contains':
      if (name === 'version' || typeof node.value !== 'string') return 'FALSE';
      return `strpos(${asText(name)}, ${p.add(node.value, 'text')}) > 0`;
    case 'startsWith':
      if (name === 'version') return 'FALSE';
      return `starts_with(${asText(name)}, ${p.add(node.value, 'text')})`;
  }
}

/** Whether a value can be bound with the column's own type (and so compared natively). */
function comparable(name: SystemFieldName, value: Scalar): boolean {
  switch (name) {
    case 'version':
      // An int4 column: only integers can be equal to it, and bigint binds never overflow.
      return Number.isSafeInteger(value);
    case 'createdAt':
    case 'updatedAt':
      return typeof value === 'string' && isCanonicalTimestamp(value);
    case 'id':
    case 'owner':
      return typeof value === 'string';
  }
}

function bind(name: SystemFieldName, value: Scalar, p: Params): string {
  return p.add(value, CASTS[name]);
}

/** Timestamps against a non-canonical string: compare the canonical text, exactly as SQLite's text column does. */
function textFallback(name: SystemFieldName, op: string, value: Scalar, p: Params): string {
  if ((name !== 'createdAt' && name !== 'updatedAt') || typeof value !== 'string') return 'FALSE';
  return `${asText(name)} ${op} ${p.add(value, 'text')}`;
}

function asText(name: SystemFieldName): string {
  return name === 'createdAt' || name === 'updatedAt' ? TIMESTAMP_TEXT(name === 'createdAt' ? 'created_at' : 'updated_at') : COLUMNS[name];
}

/** `version > 2.5` is `version > 2`, `version >= 2.5` is `version >= 3`; clamped beyond any int4. */
function integerBound(op: keyof typeof RANGE_OPERATORS, value: number): number {
  const rounded = op === 'gt' || op === 'lte' ? Math.floor(value) : Math.ceil(value);
  return Math.max(-(2 ** 53), Math.min(2 ** 53, rounded));
}

const RANK_SQL = (e: string): string => {
  const r = SORT_RANK;
  return `(CASE jsonb_typeof(${e}) WHEN 'boolean' THEN (CASE WHEN ${e} = 'true'::jsonb THEN ${r.true} ELSE ${r.false} END) ` +
    `WHEN 'number' THEN ${r.number} WHEN 'string' THEN ${r.string} WHEN 'array' THEN ${r.array} WHEN 'object' THEN ${r.object} ELSE ${r.null} END)`;
};
/** NULL unless a number / a string, so a value only ever meets values of its own rank. */
const NUMBER_SQL = (e: string): string => `(CASE WHEN jsonb_typeof(${e}) = 'number' THEN ${e} END)`;
const STRING_SQL = (e: string): string => `(CASE WHEN jsonb_typeof(${e}) = 'string' THEN ${e} #>> '{}' END) COLLATE "C"`;

function sortExpressions(key: SortKey): string[] {
  const dir = key.direction === 'desc' ? 'DESC' : 'ASC';
  const { field } = key;
  if (field.kind === 'system') {
    // NULL owners sort first, as in the JS order (PostgreSQL's default puts NULLs last).
    return [`${COLUMNS[field.name]} ${dir}${field.name === 'owner' ? (dir === 'ASC' ? ' NULLS FIRST' : ' NULLS LAST') : ''}`];
  }
  const e = postgresIndexExpression(field);
  return [`${RANK_SQL(e)} ${dir}`, `${NUMBER_SQL(e)} ${dir}`, `${STRING_SQL(e)} ${dir}`];
}

/**
 * Rows strictly after the cursor in sort order:
 * `k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND …)))`. When every key is
 * a non-null column in one direction (the default sort), a row comparison
 * says the same and lets PostgreSQL seek an index on those columns.
 */
function compileKeyset(sort: readonly SortKey[], after: CursorPosition, p: Params): string {
  const direction = sort[0]!.direction;
  const columns: SystemFieldName[] = [];
  for (const key of sort) if (key.field.kind === 'system' && key.field.name !== 'owner' && key.direction === direction) columns.push(key.field.name);
  if (columns.length === sort.length) {
    const values = columns.map((name, i) => p.add(after[i], CASTS[name]));
    return `(${columns.map((name) => COLUMNS[name]).join(', ')}) ${direction === 'asc' ? '>' : '<'} (${values.join(', ')})`;
  }
  const step = (i: number): string => {
    const key = sort[i]!;
    const value = after[i] as SortValue;
    const gt = keyAfter(key, value, p);
    if (i === sort.length - 1) return gt;
    return `(${gt} OR (${keyEquals(key.field, value, p)} AND ${step(i + 1)}))`;
  };
  return step(0);
}

function keyAfter(key: SortKey, value: SortValue, p: Params): string {
  const op = key.direction === 'asc' ? '>' : '<';
  const { field } = key;
  if (field.kind === 'system') {
    if (field.name !== 'owner') return `${COLUMNS[field.name]} ${op} ${p.add(value, CASTS[field.name])}`;
    if (value === null) return key.direction === 'asc' ? 'owner IS NOT NULL' : 'FALSE';
    const bound = `${COLUMNS.owner} ${op} ${p.add(value, 'text')}`;
    return key.direction === 'asc' ? bound : `(${bound} OR owner IS NULL)`;
  }
  const e = postgresIndexExpression(field);
  const rank = sortRank(value);
  const byRank = `${RANK_SQL(e)} ${op} ${rank}`;
  if (rank === SORT_RANK.number) return `(${byRank} OR ${NUMBER_SQL(e)} ${op} ${p.add(JSON.stringify(value), 'jsonb')})`;
  if (rank === SORT_RANK.string) return `(${byRank} OR ${STRING_SQL(e)} ${op} ${p.add(value, 'text')})`;
  return byRank;
}

function keyEquals(field: FieldRef, value: SortValue, p: Params): string {
  if (field.kind === 'system') {
    if (value === null) return field.name === 'owner' ? 'owner IS NULL' : 'FALSE';
    return `${COLUMNS[field.name]} = ${p.add(value, CASTS[field.name])}`;
  }
  const e = postgresIndexExpression(field);
  const rank = sortRank(value);
  if (rank === SORT_RANK.number) return `${NUMBER_SQL(e)} = ${p.add(JSON.stringify(value), 'jsonb')}`;
  if (rank === SORT_RANK.string) return `${STRING_SQL(e)} = ${p.add(value, 'text')}`;
  return `${RANK_SQL(e)} = ${rank}`;
}
