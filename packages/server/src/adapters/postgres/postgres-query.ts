/**
 * Compiles a `RecordQuery` to PostgreSQL SQL over a records table
 * (`id, owner, version, created_at timestamptz, updated_at timestamptz,
 * data jsonb`), with the value semantics of `core/records/query/order.ts`.
 * Values are always `$n` parameters; only field paths (identifier segments,
 * re-checked here) and sort ranks (our own integers) are embedded.
 *
 * - A data path is seen through three expressions (`postgresIndexColumns`):
 *   its type rank (`SORT_RANK`), its number (jsonb, whose order within
 *   numbers is numeric; `'null'` for any other type) and its string (text
 *   `COLLATE "C"`, code point order whatever the database's collation; `''`
 *   for any other type). None is ever NULL. Filters, sort keys and keyset
 *   predicates are written in exactly those: `{"p": 3}` is
 *   `rank = 3 AND number = '3' AND string = ''`, a string range
 *   `rank = 4 AND number = 'null' AND string > $1`, and so on, so an index
 *   on (rank, number, string, …) answers equality, `$in`, ranges and
 *   `$startsWith` from its keys, and (every one of the three being fixed by
 *   an equality) still delivers the next index columns in order.
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
import { compileFilter, type FilterDialect, type PositiveLeaf } from '../filter-negation.js';
import { SORT_RANK, isCanonicalTimestamp, prefixEnd, sortRank, type SortValue } from '../../core/records/query/order.js';
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

/**
 * The index elements for `field`, in this order: the column of a system
 * field; the rank, number and string expressions of a data path. Each is an
 * expression the compiler compares and sorts by, written exactly as it does
 * (the planner matches index expressions structurally), and valid both as
 * a CREATE INDEX element and as an ORDER BY item. `owner` is indexed NULLS
 * FIRST, the order lists sort it in.
 */
export function postgresIndexColumns(field: FieldRef): string[] {
  if (field.kind === 'data') return dataColumns(field.path);
  return [field.name === 'owner' ? `${COLUMNS.owner} NULLS FIRST` : COLUMNS[field.name]];
}

/** `data -> 'a' -> 'b'`: the jsonb at a path, NULL when missing. */
function jsonAt(path: readonly string[]): string {
  assertSafeSegments(path);
  // Identifier segments need no escaping inside a SQL string literal.
  return `(data${path.map((segment) => ` -> '${segment}'`).join('')})`;
}

/** A data path's rank, number and string expressions. */
function dataColumns(path: readonly string[]): [string, string, string] {
  const e = jsonAt(path);
  const r = SORT_RANK;
  return [
    `(CASE jsonb_typeof(${e}) WHEN 'boolean' THEN (CASE WHEN ${e} = 'true'::jsonb THEN ${r.true} ELSE ${r.false} END) ` +
      `WHEN 'number' THEN ${r.number} WHEN 'string' THEN ${r.string} WHEN 'array' THEN ${r.array} WHEN 'object' THEN ${r.object} ELSE ${r.null} END)`,
    `(CASE WHEN jsonb_typeof(${e}) = 'number' THEN ${e} ELSE ${NO_NUMBER} END)`,
    `(CASE WHEN jsonb_typeof(${e}) = 'string' THEN ${e} #>> '{}' ELSE ${NO_STRING} END) COLLATE "C"`,
  ];
}

/** What the number and string expressions hold for a value of another type: constants, so they tie. */
const NO_NUMBER = `'null'::jsonb`;
const NO_STRING = `''`;

export function compilePostgresQuery(query: RecordQuery, firstParam = 1): CompiledPostgresQuery {
  const p = new Params(firstParam);
  const conditions: string[] = [];
  if (query.filter !== null) conditions.push(compileNode(query.filter, false, p));
  if (query.after !== null) conditions.push(compileKeyset(query.sort, query.after, p));
  const where = conditions.length === 0 ? 'TRUE' : conditions.map((c) => `(${c})`).join(' AND ');
  const orderBy = query.sort.flatMap((key) => sortExpressions(key)).join(', ');
  return { where, orderBy, params: p.values };
}

const DIALECT: FilterDialect<Params> = { alwaysTrue: 'TRUE', alwaysFalse: 'FALSE', leaf };

function compileNode(node: FilterNode, negated: boolean, p: Params): string {
  return compileFilter(node, negated, p, DIALECT);
}

function leaf(node: PositiveLeaf, negated: boolean, p: Params): string {
  return negated ? `NOT COALESCE(${positive(node, p)}, FALSE)` : positive(node, p);
}

/** A condition that is true exactly when the node matches; NULL counts as false. */
function positive(node: PositiveLeaf, p: Params): string {
  if (node.field.kind === 'system') return systemPositive(node, node.field.name, p);
  const [r, n, s] = dataColumns(node.field.path);
  switch (node.op) {
    case 'eq':
      return equals(r, n, s, node.value, p);
    case 'in': {
      // Split by type: each part is an index search of its own.
      const parts: string[] = [];
      const numbers = node.values.filter((v) => typeof v === 'number').map((v) => JSON.stringify(v));
      const strings = node.values.filter((v) => typeof v === 'string');
      if (numbers.length > 0) parts.push(`(${r} = ${SORT_RANK.number} AND ${n} = ANY(${p.add(numbers, 'jsonb[]')}) AND ${s} = ${NO_STRING})`);
      if (strings.length > 0) parts.push(`(${r} = ${SORT_RANK.string} AND ${n} = ${NO_NUMBER} AND ${s} = ANY(${p.add(strings, 'text[]')}))`);
      for (const v of [null, false, true]) if (node.values.includes(v)) parts.push(equals(r, n, s, v, p));
      return parts.length === 0 ? 'FALSE' : parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      // The string term after a number range would not narrow the index search; the number term before a string range does.
      const op = RANGE_OPERATORS[node.op];
      return typeof node.value === 'number'
        ? `(${r} = ${SORT_RANK.number} AND ${n} ${op} ${p.add(JSON.stringify(node.value), 'jsonb')})`
        : `(${r} = ${SORT_RANK.string} AND ${n} = ${NO_NUMBER} AND ${s} ${op} ${p.add(node.value, 'text')})`;
    }
    case 'exists':
      return `${jsonAt(node.field.path)} IS NOT NULL`;
    case 'contains': {
      const inString = typeof node.value === 'string' ? `(${r} = ${SORT_RANK.string} AND strpos(${s}, ${p.add(node.value, 'text')}) > 0) OR ` : '';
      // A scalar wrapped in an array: `@>` then means "has an element equal to it" (type-strict, top level only).
      return `(${inString}(${r} = ${SORT_RANK.array} AND ${jsonAt(node.field.path)} @> jsonb_build_array(${p.add(JSON.stringify(node.value), 'jsonb')})))`;
    }
    case 'startsWith': {
      // Strings with the prefix lie in [prefix, prefixEnd) (code point order): a range an index can seek.
      const prefix = p.add(node.value, 'text');
      const end = prefixEnd(node.value);
      const upper = end === null ? '' : ` AND ${s} < ${p.add(end, 'text')}`;
      return `(${r} = ${SORT_RANK.string} AND ${n} = ${NO_NUMBER} AND ${s} >= ${prefix}${upper} AND starts_with(${s}, ${prefix}))`;
    }
  }
}

/** Type-strict equality as three index equalities (rank, number, string). */
function equals(r: string, n: string, s: string, value: Scalar, p: Params): string {
  const number = typeof value === 'number' ? p.add(JSON.stringify(value), 'jsonb') : NO_NUMBER;
  const string = typeof value === 'string' ? p.add(value, 'text') : NO_STRING;
  return `(${r} = ${sortRank(value)} AND ${n} = ${number} AND ${s} = ${string})`;
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

function sortExpressions(key: SortKey): string[] {
  const dir = key.direction === 'desc' ? 'DESC' : 'ASC';
  const { field } = key;
  if (field.kind === 'system') {
    // NULL owners sort first, as in the JS order (PostgreSQL's default puts NULLs last).
    return [`${COLUMNS[field.name]} ${dir}${field.name === 'owner' ? (dir === 'ASC' ? ' NULLS FIRST' : ' NULLS LAST') : ''}`];
  }
  return dataColumns(field.path).map((e) => `${e} ${dir}`);
}

/**
 * One term of the lexicographic comparison a keyset predicate makes: an
 * expression that is never NULL and the cursor's value for it (SQL, a
 * parameter or a constant). `owner` is nullable and has its own comparisons.
 */
type Term =
  | { readonly kind: 'expression'; readonly sql: string; readonly direction: 'asc' | 'desc'; readonly value: string }
  | { readonly kind: 'owner'; readonly direction: 'asc' | 'desc'; readonly value: string | null };

/**
 * Rows strictly after the cursor in sort order: a lexicographic comparison
 * of the sort terms (a data key's rank, number and string; a column) with
 * the cursor's values. When all go one way and none is `owner`, it is a row
 * comparison, `(t1, t2, …) > ($1, $2, …)`, which PostgreSQL can seek an
 * index on those terms with; otherwise it is spelled out,
 * `t1 > v1 OR (t1 = v1 AND (t2 > v2 OR …))`.
 */
function compileKeyset(sort: readonly SortKey[], after: CursorPosition, p: Params): string {
  const terms: Term[] = [];
  for (const [i, key] of sort.entries()) {
    const { field, direction } = key;
    const value = after[i] as SortValue;
    if (field.kind === 'system') {
      terms.push(field.name === 'owner'
        ? { kind: 'owner', direction, value: value as string | null }
        : { kind: 'expression', sql: COLUMNS[field.name], direction, value: p.add(value, CASTS[field.name]) });
      continue;
    }
    const [r, n, s] = dataColumns(field.path);
    terms.push(
      { kind: 'expression', sql: r, direction, value: String(sortRank(value)) },
      { kind: 'expression', sql: n, direction, value: typeof value === 'number' ? p.add(JSON.stringify(value), 'jsonb') : NO_NUMBER },
      { kind: 'expression', sql: s, direction, value: typeof value === 'string' ? p.add(value, 'text') : NO_STRING },
    );
  }
  const first = terms[0]!;
  if (terms.every((t) => t.kind === 'expression' && t.direction === first.direction)) {
    const expressions = terms as Extract<Term, { kind: 'expression' }>[];
    return `(${expressions.map((t) => t.sql).join(', ')}) ${first.direction === 'asc' ? '>' : '<'} (${expressions.map((t) => t.value).join(', ')})`;
  }
  const step = (i: number): string => {
    const term = terms[i]!;
    if (i === terms.length - 1) return termAfter(term, p);
    return `(${termAfter(term, p)} OR (${termEquals(term, p)} AND ${step(i + 1)}))`;
  };
  return step(0);
}

function termAfter(term: Term, p: Params): string {
  const op = term.direction === 'asc' ? '>' : '<';
  if (term.kind === 'expression') return `${term.sql} ${op} ${term.value}`;
  if (term.value === null) return term.direction === 'asc' ? 'owner IS NOT NULL' : 'FALSE';
  const bound = `${COLUMNS.owner} ${op} ${p.add(term.value, 'text')}`;
  return term.direction === 'asc' ? bound : `(${bound} OR owner IS NULL)`;
}

function termEquals(term: Term, p: Params): string {
  if (term.kind === 'expression') return `${term.sql} = ${term.value}`;
  return term.value === null ? 'owner IS NULL' : `${COLUMNS.owner} = ${p.add(term.value, 'text')}`;
}
