/**
 * Compiles a `RecordQuery` to SQLite SQL over a records table
 * (`id, owner, version, created_at, updated_at, data`), with the value
 * semantics of `core/records/query/order.ts`. Values are always `?`
 * parameters; only field paths (identifier segments, re-checked here) and
 * sort ranks (our own integers) are embedded.
 *
 * - A data path is seen through two expressions (`sqliteIndexColumns`): its
 *   type rank (`SORT_RANK`: missing/null 0, false 1, true 2, number 3,
 *   string 4, array 5, object 6) and its value (the number or string; NULL
 *   for every other type). Filters, sort keys and keyset predicates are all
 *   written in exactly those two expressions: `{"p": 3}` is
 *   `rank = 3 AND value = ?`, `{"p": true}` is `rank = 2 AND value IS NULL`,
 *   a range is `rank = 3 AND value > ?`, and so on. An index built on
 *   (rank, value, …) therefore answers a filter from its keys alone (no JSON
 *   parsed to decide a match) and also delivers rows in sort order.
 * - SQLite's planner does not see that an ORDER BY *expression* is constant
 *   when the WHERE clause fixes it (it does for plain columns), and would
 *   then sort. So the compiler works out what the filter fixes (`Known`) and
 *   leaves those sort terms out, and keyset predicates skip the keys that
 *   are equal for every row that can match.
 * - Negation: leaves are written so that SQL NULL only ever means "false";
 *   NOTs are pushed down to the leaves (De Morgan), and a negated leaf is
 *   `NOT COALESCE(leaf, 0)`, so `$ne`/`$nin`/`$not` also match missing fields.
 * - Sorting on a data path orders by type rank, then value (containers
 *   compare equal); keyset pages continue strictly after the cursor row.
 */
import { assertSafeSegments } from '../../core/records/query/field-path.js';
import { compileFilter, type FilterDialect, type PositiveLeaf } from '../filter-negation.js';
import { SORT_RANK, compareSortValues, prefixEnd, sortRank, type SortRank, type SortValue } from '../../core/records/query/order.js';
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

/**
 * The expressions an index on `field` is built on, in this order: the column
 * of a system field; the type rank and then the value of a data path. The
 * compiler's filters, sort terms and keyset predicates use exactly these
 * expressions (SQLite only matches an index expression written identically).
 */
export function sqliteIndexColumns(field: FieldRef): string[] {
  return field.kind === 'system' ? [COLUMNS[field.name]] : [rankExpression(field.path), valueExpression(field.path)];
}

export function compileSqliteQuery(query: RecordQuery): CompiledSqliteQuery {
  const params: unknown[] = [];
  const conditions: string[] = [];
  const known = knownFields(query.filter);
  if (query.filter !== null) conditions.push(compileNode(query.filter, false, params));
  if (query.after !== null) conditions.push(compileKeyset(query.sort, query.after, known, params));
  const where = conditions.length === 0 ? '1' : conditions.map((c) => `(${c})`).join(' AND ');
  const orderBy = query.sort.flatMap((key) => sortTerms(key, known)).join(', ');
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

const DIALECT: FilterDialect<unknown[]> = { alwaysTrue: '1', alwaysFalse: '0', leaf };

function compileNode(node: FilterNode, negated: boolean, params: unknown[]): string {
  return compileFilter(node, negated, params, DIALECT);
}

function leaf(node: PositiveLeaf, negated: boolean, params: unknown[]): string {
  if (!negated) return positive(node, params);
  return `NOT COALESCE(${positive(node, params)}, 0)`;
}

/**
 * A condition that is true exactly when the node matches; NULL counts as
 * false. The value test comes before the rank test: the order does not
 * matter to an index search, but a scan (no index on the field) evaluates
 * terms left to right, and the value test rules out most rows first.
 */
function positive(node: PositiveLeaf, params: unknown[]): string {
  const { field } = node;
  if (field.kind === 'system') return systemPositive(node, COLUMNS[field.name], field.name === 'version' ? 'number' : 'string', params);
  const [r, v] = sqliteIndexColumns(field) as [string, string];
  switch (node.op) {
    case 'eq':
      return equals(r, v, node.value, params);
    case 'in': {
      // Split by type: each part is an index range (rank, value IN …) of its own.
      const parts: string[] = [];
      const numbers = node.values.filter((x) => typeof x === 'number');
      const strings = node.values.filter((x) => typeof x === 'string');
      if (numbers.length > 0) parts.push(`(${v} IN (${placeholders(numbers, params)}) AND ${r} = ${SORT_RANK.number})`);
      if (strings.length > 0) parts.push(`(${v} IN (${placeholders(strings, params)}) AND ${r} = ${SORT_RANK.string})`);
      for (const x of [null, false, true]) if (node.values.includes(x)) parts.push(equals(r, v, x, params));
      return parts.length === 0 ? '0' : parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      params.push(node.value);
      return `(${v} ${RANGE_OPERATORS[node.op]} ? AND ${r} = ${sortRank(node.value)})`;
    case 'exists':
      // json_type is 'null' for a JSON null and SQL NULL only for a missing path (rank 0 is both).
      return `${jsonType(field.path)} IS NOT NULL`;
    case 'contains': {
      // A string field: substring; an array field: a type-strict element. Parameters in text order.
      let inString = '';
      if (typeof node.value === 'string') {
        params.push(node.value);
        inString = `(${r} = ${SORT_RANK.string} AND instr(${v}, ?) > 0) OR `;
      }
      const element = elementMatch(node.value, params);
      return `(${inString}(${r} = ${SORT_RANK.array} AND EXISTS (SELECT 1 FROM json_each(data, ${jsonPath(field.path)}) AS j WHERE ${element})))`;
    }
    case 'startsWith': {
      // Strings with the prefix lie in [prefix, prefixEnd) (BINARY is UTF-8 byte order): a range an index can seek.
      const end = prefixEnd(node.value);
      params.push(node.value, node.value, node.value, ...(end === null ? [] : [end]));
      return `(substr(${v}, 1, length(?)) = ? AND ${r} = ${SORT_RANK.string} AND ${v} >= ?${end === null ? '' : ` AND ${v} < ?`})`;
    }
  }
}

const RANGE_OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/**
 * Type-strict equality as index equalities: the rank, and the value (NULL
 * for every type but numbers and strings, so `IS NULL` there: SQLite treats
 * that as an equality too, and an index on (rank, value, created_at, …) still
 * delivers rows in created_at order).
 */
function equals(r: string, v: string, value: Scalar, params: unknown[]): string {
  const rank = sortRank(value);
  if (typeof value !== 'number' && typeof value !== 'string') return `(${r} = ${rank} AND ${v} IS NULL)`;
  params.push(value);
  return `(${v} = ? AND ${r} = ${rank})`;
}

function elementMatch(value: Scalar, params: unknown[]): string {
  if (value === null || typeof value === 'boolean') return `j.type = '${String(value)}'`;
  params.push(value);
  return `j.type ${typeof value === 'number' ? `IN ('integer', 'real')` : `= 'text'`} AND j.atom = ?`;
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

function rankExpression(path: readonly string[]): string {
  const r = SORT_RANK;
  return `(CASE ${jsonType(path)} WHEN 'false' THEN ${r.false} WHEN 'true' THEN ${r.true} WHEN 'integer' THEN ${r.number} ` +
    `WHEN 'real' THEN ${r.number} WHEN 'text' THEN ${r.string} WHEN 'array' THEN ${r.array} WHEN 'object' THEN ${r.object} ELSE ${r.null} END)`;
}

/** Numbers and strings by value (the rank keeps them apart); everything else NULL, so containers tie. */
function valueExpression(path: readonly string[]): string {
  return `(CASE WHEN ${jsonType(path)} IN ('integer', 'real', 'text') THEN json_extract(data, ${jsonPath(path)}) END)`;
}

// ---------------------------------------------------------------- what the filter fixes

/**
 * What every row matching a filter has in common on a data path: its rank,
 * and (after an equality) its value. Only conditions that must hold count:
 * the leaves of the top-level conjunction, after pushing NOTs down.
 */
interface Known {
  readonly rank: SortRank;
  /** Set when an equality fixes the value; NULL-valued ranks (not number or string) need none. */
  readonly value?: string | number;
}

type KnownFields = ReadonlyMap<string, Known>;

const pathKey = (path: readonly string[]): string => path.join('.');

function knownFields(filter: FilterNode | null): KnownFields {
  const known = new Map<string, Known>();
  const add = (field: FieldRef, fact: Known): void => {
    if (field.kind === 'system') return;
    const key = pathKey(field.path);
    const before = known.get(key);
    // Two different ranks: nothing matches, so any answer is right; keep the first.
    if (before === undefined || (before.rank === fact.rank && before.value === undefined)) known.set(key, fact);
  };
  const equality = (field: FieldRef, value: Scalar): void =>
    add(field, typeof value === 'number' || typeof value === 'string' ? { rank: sortRank(value), value } : { rank: sortRank(value) });
  const visit = (node: FilterNode, negated: boolean): void => {
    switch (node.op) {
      case 'and':
      case 'or':
        // Every child must hold in a conjunction (an AND, or a negated OR); so must the only child of either.
        if ((node.op === 'and') !== negated || node.children.length === 1) for (const child of node.children) visit(child, negated);
        return;
      case 'not':
        return visit(node.child, !negated);
      case 'eq':
      case 'ne':
        if ((node.op === 'eq') !== negated) equality(node.field, node.value);
        return;
      case 'in':
      case 'nin': {
        const [first] = node.values;
        if ((node.op === 'in') === negated || first === undefined) return;
        if (node.values.length === 1) equality(node.field, first);
        else if (node.values.every((x) => sortRank(x) === sortRank(first))) add(node.field, { rank: sortRank(first) });
        return;
      }
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
      case 'startsWith':
        if (!negated) add(node.field, { rank: sortRank(node.value) });
        return;
      case 'contains':
        // Only an array can hold a non-string (a string operand may also match a string).
        if (!negated && typeof node.value !== 'string') add(node.field, { rank: SORT_RANK.array });
        return;
      case 'exists':
        return;
    }
  };
  if (filter !== null) visit(filter, false);
  return known;
}

// ---------------------------------------------------------------- sorting and keyset pages

/**
 * What ORDER BY sorts a key by: a column, or a data path's type rank and
 * then its value, leaving out what the filter fixes (a constant term changes
 * no order, and SQLite would not see it is constant: it would sort instead
 * of reading an index in order).
 */
function sortTerms(key: SortKey, known: KnownFields): string[] {
  const dir = key.direction === 'desc' ? 'DESC' : 'ASC';
  const { field } = key;
  if (field.kind === 'system') return [`${COLUMNS[field.name]} ${dir}`];
  const [r, v] = sqliteIndexColumns(field) as [string, string];
  const fixed = known.get(pathKey(field.path));
  if (fixed === undefined) return [`${r} ${dir}`, `${v} ${dir}`];
  return fixed.value === undefined && hasValue(fixed.rank) ? [`${v} ${dir}`] : [];
}

/** Ranks whose value expression is not NULL. */
const hasValue = (rank: SortRank): boolean => rank === SORT_RANK.number || rank === SORT_RANK.string;

/**
 * One term of the lexicographic comparison a keyset predicate makes: an
 * expression that is not NULL on any row it is compared on (the terms before
 * it being equal to the cursor's), and the cursor's value. `owner` is the
 * exception (nullable), and has its own comparisons.
 */
type Term =
  | { readonly kind: 'expression'; readonly sql: string; readonly direction: 'asc' | 'desc'; readonly value: unknown; readonly column: boolean }
  | { readonly kind: 'owner'; readonly direction: 'asc' | 'desc'; readonly value: string | null };

/**
 * Rows strictly after the cursor in sort order, as a lexicographic
 * comparison of the sort terms with the cursor's values. Terms the filter
 * fixes drop out: equal to the cursor's value, they cannot decide; unequal,
 * they decide for every row at once. When all terms go one way and none is
 * `owner`, the comparison is a row value, `(t1, t2, …) > (?, ?, …)`, which
 * SQLite seeks an index with; otherwise it is spelled out,
 * `t1 > v1 OR (t1 = v1 AND (t2 > v2 OR …))`.
 */
function compileKeyset(sort: readonly SortKey[], after: CursorPosition, known: KnownFields, params: unknown[]): string {
  const terms: Term[] = [];
  // Whether rows equal to the cursor on every term so far come after it: only when a fixed term decided so.
  let inclusive = false;
  for (const [i, key] of sort.entries()) {
    const value = after[i] as SortValue;
    const { field, direction } = key;
    if (field.kind === 'system') {
      terms.push(field.name === 'owner'
        ? { kind: 'owner', direction, value: value as string | null }
        : { kind: 'expression', sql: COLUMNS[field.name], direction, value, column: true });
      continue;
    }
    const [r, v] = sqliteIndexColumns(field) as [string, string];
    const rank = sortRank(value);
    const fixed = known.get(pathKey(field.path));
    if (fixed === undefined) {
      terms.push({ kind: 'expression', sql: r, direction, value: rank, column: false });
    } else if (fixed.rank !== rank) {
      inclusive = (fixed.rank > rank) === (direction === 'asc');
      break;
    }
    if (!hasValue(rank)) continue;
    if (fixed?.value !== undefined) {
      const order = compareSortValues(fixed.value, value);
      if (order !== 0) {
        inclusive = (order > 0) === (direction === 'asc');
        break;
      }
      continue;
    }
    terms.push({ kind: 'expression', sql: v, direction, value, column: false });
  }
  if (terms.length === 0) return inclusive ? '1' : '0';
  const first = terms[0]!;
  if (first.kind === 'expression' && terms.every((t) => t.kind === 'expression' && t.direction === first.direction)) {
    const expressions = terms as Extract<Term, { kind: 'expression' }>[];
    const op = `${first.direction === 'asc' ? '>' : '<'}${inclusive ? '=' : ''}`;
    if (expressions.length === 1) return pushed(`${first.sql} ${op} ?`, first.value, params);
    // SQLite seeks on a row value only when its first term is a plain column; else a bound on that first term still narrows the scan.
    const bound = first.column ? '' : `${pushed(`${first.sql} ${first.direction === 'asc' ? '>=' : '<='} ?`, first.value, params)} AND `;
    for (const t of expressions) params.push(t.value);
    return `${bound}(${expressions.map((t) => t.sql).join(', ')}) ${op} (${expressions.map(() => '?').join(', ')})`;
  }
  const step = (i: number): string => {
    const term = terms[i]!;
    if (i === terms.length - 1) return inclusive ? `(${termAfter(term, params)} OR ${termEquals(term, params)})` : termAfter(term, params);
    return `(${termAfter(term, params)} OR (${termEquals(term, params)} AND ${step(i + 1)}))`;
  };
  return step(0);
}

function termAfter(term: Term, params: unknown[]): string {
  const op = term.direction === 'asc' ? '>' : '<';
  if (term.kind === 'expression') return pushed(`${term.sql} ${op} ?`, term.value, params);
  // owner: NULL sorts first (SQLite's default for ASC, last for DESC), like the JS order.
  if (term.value === null) return term.direction === 'asc' ? 'owner IS NOT NULL' : '0';
  return term.direction === 'asc' ? pushed('owner > ?', term.value, params) : pushed('(owner < ? OR owner IS NULL)', term.value, params);
}

function termEquals(term: Term, params: unknown[]): string {
  if (term.kind === 'owner' && term.value === null) return 'owner IS NULL';
  return pushed(`${term.kind === 'owner' ? 'owner' : term.sql} = ?`, term.value, params);
}

function pushed(sql: string, value: unknown, params: unknown[]): string {
  params.push(value);
  return sql;
}
