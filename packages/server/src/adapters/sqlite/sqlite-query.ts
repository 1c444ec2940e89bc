/**
 * Compiles a `RecordQuery` to SQLite SQL over a records table
 * (`id, owner, version, created_at, updated_at, data`), with the value
 * semantics of `core/records/query/order.ts`. Values are always `?`
 * parameters; only field paths (identifier segments, re-checked here) and
 * sort ranks (our own integers) are embedded.
 *
 * - `json_extract` turns JSON true/false into 1/0 and containers into text,
 *   so every comparison on a data path also checks `json_type`; the
 *   comparison itself uses exactly `sqliteIndexExpression`, so an index on
 *   that expression serves equality, `$in` and range filters.
 * - Negation: leaves are written so that SQL NULL only ever means "false";
 *   NOTs are pushed down to the leaves (De Morgan), and a negated leaf is
 *   `NOT COALESCE(leaf, 0)`, so `$ne`/`$nin`/`$not` also match missing fields.
 * - Sorting on a data path orders by type rank, then value (containers
 *   compare equal); keyset pages continue strictly after the cursor row.
 */
import { assertSafeSegments } from '../../core/records/query/field-path.js';
import { SORT_RANK, sortRank, type SortValue } from '../../core/records/query/order.js';
import type { CursorPosition, FieldRef, FilterNode, RecordQuery, Scalar, SortKey, SystemFieldName } from '../../core/records/query/query-types.js';

export interface CompiledSqliteQuery {
  /** A boolean expression (`1` when there is no condition), including the keyset predicate. */
  readonly where: string;
  /** `created_at ASC, id ASC`: without the ORDER BY keyword. */
  readonly orderBy: string;
  /** One per `?`, in order. */
  readonly params: unknown[];
}

const COLUMNS: Readonly<Record<SystemFieldName, string>> = {
  id: 'id',
  owner: 'owner',
  version: 'version',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

const NUMBER_TYPES = `IN ('integer', 'real')`;

/** The expression an index must be built on for the compiler's comparisons to use it. */
export function sqliteIndexExpression(field: FieldRef): string {
  return field.kind === 'system' ? COLUMNS[field.name] : `json_extract(data, ${jsonPath(field.path)})`;
}

export function compileSqliteQuery(query: RecordQuery): CompiledSqliteQuery {
  const params: unknown[] = [];
  const conditions: string[] = [];
  if (query.filter !== null) conditions.push(compileNode(query.filter, false, params));
  if (query.after !== null) conditions.push(compileKeyset(query.sort, query.after, params));
  const where = conditions.length === 0 ? '1' : conditions.map((c) => `(${c})`).join(' AND ');
  const orderBy = query.sort.flatMap((key) => sortExpressions(key.field).map((e) => `${e} ${key.direction === 'desc' ? 'DESC' : 'ASC'}`)).join(', ');
  return { where, orderBy, params: params.map(toSqliteParam) };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * SQLite's JSON parser reads an integer literal that fits in 64 bits as an
 * exact INTEGER, but JavaScript stores data as doubles, whose shortest
 * decimal (what JSON.stringify writes) is not the double's exact value beyond
 * 2^53: `40114907867919930` is stored, the double is …928. Binding the
 * operand the way SQLite parsed the stored text (as that same integer) makes
 * equality exact and keeps ranges in double order; beyond int64 SQLite reads
 * a REAL, which a double binding matches.
 */
function toSqliteParam(value: unknown): unknown {
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) < 2 ** 53 || Math.abs(value) > 2 ** 63) return value;
  // Below 1e21, String() writes plain digits: exactly the literal SQLite parsed.
  const integer = BigInt(String(value));
  return integer >= INT64_MIN && integer <= INT64_MAX ? integer : value;
}

function jsonPath(path: readonly string[]): string {
  assertSafeSegments(path);
  // Identifier segments need no quoting in a JSON path, nor escaping in a SQL literal.
  return `'$.${path.join('.')}'`;
}

function jsonType(path: readonly string[]): string {
  return `json_type(data, ${jsonPath(path)})`;
}

function compileNode(node: FilterNode, negated: boolean, params: unknown[]): string {
  switch (node.op) {
    case 'and':
    case 'or': {
      const conjunction = (node.op === 'and') !== negated;
      if (node.children.length === 0) return conjunction ? '1' : '0';
      return `(${node.children.map((child) => compileNode(child, negated, params)).join(conjunction ? ' AND ' : ' OR ')})`;
    }
    case 'not':
      return compileNode(node.child, !negated, params);
    case 'eq':
    case 'ne':
      return leaf({ op: 'eq', field: node.field, value: node.value }, negated !== (node.op === 'ne'), params);
    case 'in':
    case 'nin':
      return leaf({ op: 'in', field: node.field, values: node.values }, negated !== (node.op === 'nin'), params);
    case 'exists':
      return leaf({ op: 'exists', field: node.field }, negated === node.value, params);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains':
    case 'startsWith':
      return leaf(node, negated, params);
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

function leaf(node: PositiveLeaf, negated: boolean, params: unknown[]): string {
  if (!negated) return positive(node, params);
  return `NOT COALESCE(${positive(node, params)}, 0)`;
}

/** A condition that is true exactly when the node matches; NULL counts as false. */
function positive(node: PositiveLeaf, params: unknown[]): string {
  const { field } = node;
  if (field.kind === 'system') return systemPositive(node, COLUMNS[field.name], field.name === 'version' ? 'number' : 'string', params);
  const e = sqliteIndexExpression(field);
  const t = jsonType(field.path);
  switch (node.op) {
    case 'eq':
      return equals(e, t, node.value, params);
    case 'in': {
      const parts: string[] = [];
      const numbers = node.values.filter((v) => typeof v === 'number');
      const strings = node.values.filter((v) => typeof v === 'string');
      if (node.values.includes(null)) parts.push(`${e} IS NULL`);
      if (numbers.length > 0) parts.push(`(${e} IN (${placeholders(numbers, params)}) AND ${t} ${NUMBER_TYPES})`);
      if (strings.length > 0) parts.push(`(${e} IN (${placeholders(strings, params)}) AND ${t} = 'text')`);
      if (node.values.includes(true)) parts.push(equals(e, t, true, params));
      if (node.values.includes(false)) parts.push(equals(e, t, false, params));
      return parts.length === 0 ? '0' : `(${parts.join(' OR ')})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      params.push(node.value);
      return `(${e} ${RANGE_OPERATORS[node.op]} ? AND ${t} ${typeof node.value === 'number' ? NUMBER_TYPES : `= 'text'`})`;
    case 'exists':
      // json_type is 'null' for a JSON null and SQL NULL only for a missing path.
      return `${t} IS NOT NULL`;
    case 'contains': {
      // A string field: substring; an array field: a type-strict element. Parameters in text order.
      let inString = '';
      if (typeof node.value === 'string') {
        params.push(node.value);
        inString = `(${t} = 'text' AND instr(${e}, ?) > 0) OR `;
      }
      const element = elementMatch(node.value, params);
      return `(${inString}(${t} = 'array' AND EXISTS (SELECT 1 FROM json_each(data, ${jsonPath(field.path)}) AS j WHERE ${element})))`;
    }
    case 'startsWith':
      params.push(node.value, node.value);
      return `(${t} = 'text' AND substr(${e}, 1, length(?)) = ?)`;
  }
}

const RANGE_OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function equals(e: string, t: string, value: Scalar, params: unknown[]): string {
  if (value === null) return `${e} IS NULL`;
  // better-sqlite3 binds no booleans; json_extract yields 1/0 for them anyway.
  params.push(typeof value === 'boolean' ? Number(value) : value);
  const type = typeof value === 'number' ? NUMBER_TYPES : typeof value === 'string' ? `= 'text'` : `= '${String(value)}'`;
  return `(${e} = ? AND ${t} ${type})`;
}

function elementMatch(value: Scalar, params: unknown[]): string {
  if (value === null || typeof value === 'boolean') return `j.type = '${String(value)}'`;
  params.push(value);
  return `j.type ${typeof value === 'number' ? NUMBER_TYPES : `= 'text'`} AND j.atom = ?`;
}

/**
 * System columns have one type each (the parser enforces operand types);
 * an operand of another type can never match, so it compiles to `0` rather
 * than letting column affinity convert it.
 */
function systemPositive(node: PositiveLeaf, column: string, type: 'string' | 'number', params: unknown[]): string {
  const fits = (v: Scalar): boolean => typeof v === type;
  switch (node.op) {
    case 'eq':
      if (node.value === null) return `${column} IS NULL`;
      if (!fits(node.value)) return '0';
      params.push(node.value);
      return `${column} = ?`;
    case 'in': {
      const values = node.values.filter(fits);
      const parts = values.length > 0 ? [`${column} IN (${placeholders(values, params)})`] : [];
      if (node.values.includes(null)) parts.push(`${column} IS NULL`);
      return parts.length === 0 ? '0' : `(${parts.join(' OR ')})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (!fits(node.value)) return '0';
      params.push(node.value);
      return `${column} ${RANGE_OPERATORS[node.op]} ?`;
    case 'exists':
      return '1';
    case 'contains':
      if (type !== 'string' || typeof node.value !== 'string') return '0';
      params.push(node.value);
      return `instr(${column}, ?) > 0`;
    case 'startsWith':
      if (type !== 'string') return '0';
      params.push(node.value, node.value);
      return `substr(${column}, 1, length(?)) = ?`;
  }
}

function placeholders(values: readonly Scalar[], params: unknown[]): string {
  params.push(...values);
  return values.map(() => '?').join(', ');
}

/** What ORDER BY sorts a key by: a column, or a data path's type rank and then its value. */
function sortExpressions(field: FieldRef): string[] {
  if (field.kind === 'system') return [COLUMNS[field.name]];
  return [rankExpression(field.path), valueExpression(field.path)];
}

function rankExpression(path: readonly string[]): string {
  const r = SORT_RANK;
  return `(CASE ${jsonType(path)} WHEN 'false' THEN ${r.false} WHEN 'true' THEN ${r.true} WHEN 'integer' THEN ${r.number} ` +
    `WHEN 'real' THEN ${r.number} WHEN 'text' THEN ${r.string} WHEN 'array' THEN ${r.array} WHEN 'object' THEN ${r.object} ELSE ${r.null} END)`;
}

/** Numbers and strings by value (the rank keeps them apart); everything else NULL, so containers tie. */
function valueExpression(path: readonly string[]): string {
  return `(CASE WHEN ${jsonType(path)} IN ('integer', 'real', 'text') THEN ${sqliteIndexExpression({ kind: 'data', path })} END)`;
}

/**
 * Rows strictly after the cursor in sort order:
 * `k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND …)))`. When every key is
 * a non-null column in one direction (the default sort), a row value
 * comparison says the same and lets SQLite seek the matching index.
 */
function compileKeyset(sort: readonly SortKey[], after: CursorPosition, params: unknown[]): string {
  const direction = sort[0]!.direction;
  if (sort.every((key) => key.direction === direction && key.field.kind === 'system' && key.field.name !== 'owner')) {
    params.push(...after);
    return `(${sort.map((key) => sortExpressions(key.field)[0]!).join(', ')}) ${direction === 'asc' ? '>' : '<'} (${after.map(() => '?').join(', ')})`;
  }
  const step = (i: number): string => {
    const key = sort[i]!;
    const value = after[i] as SortValue;
    const gt = keyAfter(key, value, params);
    if (i === sort.length - 1) return gt;
    return `(${gt} OR (${keyEquals(key.field, value, params)} AND ${step(i + 1)}))`;
  };
  return step(0);
}

function keyAfter(key: SortKey, value: SortValue, params: unknown[]): string {
  const op = key.direction === 'asc' ? '>' : '<';
  const { field } = key;
  if (field.kind === 'system') {
    if (field.name !== 'owner') return pushed(`${COLUMNS[field.name]} ${op} ?`, value, params);
    // owner: NULL sorts first (SQLite's default for ASC, last for DESC), like the JS order.
    if (value === null) return key.direction === 'asc' ? 'owner IS NOT NULL' : '0';
    return key.direction === 'asc' ? pushed('owner > ?', value, params) : pushed('(owner < ? OR owner IS NULL)', value, params);
  }
  const rank = sortRank(value);
  const byRank = `${rankExpression(field.path)} ${op} ${rank}`;
  if (rank !== SORT_RANK.number && rank !== SORT_RANK.string) return byRank;
  return pushed(`(${byRank} OR (${rankExpression(field.path)} = ${rank} AND ${valueExpression(field.path)} ${op} ?))`, value, params);
}

function keyEquals(field: FieldRef, value: SortValue, params: unknown[]): string {
  if (field.kind === 'system') {
    return value === null ? `${COLUMNS[field.name]} IS NULL` : pushed(`${COLUMNS[field.name]} = ?`, value, params);
  }
  const rank = sortRank(value);
  const byRank = `${rankExpression(field.path)} = ${rank}`;
  if (rank !== SORT_RANK.number && rank !== SORT_RANK.string) return byRank;
  return pushed(`(${byRank} AND ${valueExpression(field.path)} = ?)`, value, params);
}

function pushed(sql: string, value: SortValue, params: unknown[]): string {
  params.push(value);
  return sql;
}
