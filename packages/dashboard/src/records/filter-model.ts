/**
 * The filter builder's rows (field, operator, value; joined with and/or) as
 * a filter of docs/filters.md, and back: a filter the builder can show is
 * parsed into rows, any other is edited in the raw box only.
 */
import type { Filter } from './keyset';
import type { Field } from './schema';

export const OPERATORS = [
  ['$eq', '='],
  ['$ne', '≠'],
  ['$gt', '>'],
  ['$gte', '≥'],
  ['$lt', '<'],
  ['$lte', '≤'],
  ['$in', 'is one of'],
  ['$nin', 'is none of'],
  ['$contains', 'contains'],
  ['$startsWith', 'starts with'],
  ['$exists', 'exists'],
] as const;
export type Operator = (typeof OPERATORS)[number][0];

export interface Condition {
  readonly field: string;
  readonly op: Operator;
  /** As typed: a number, text, `true`/`false`, `null`; lists comma-separated. */
  readonly value: string;
}
export interface Builder {
  readonly join: 'and' | 'or';
  readonly rows: readonly Condition[];
}

const OPS = new Set<string>(OPERATORS.map(([op]) => op));

/** The filter of the rows; throws an Error in words for a value the field cannot take. */
export function builderToFilter(builder: Builder, fieldOf: (name: string) => Field | undefined): Filter {
  const parts = builder.rows.map((row) => ({ [row.field]: { [row.op]: operand(row, fieldOf(row.field)) } }));
  if (parts.length === 0) return {};
  if (parts.length === 1) return parts[0]!;
  return builder.join === 'and' ? { $and: parts } : { $or: parts };
}

function operand(row: Condition, field: Field | undefined): unknown {
  if (row.op === '$exists') {
    if (row.value !== 'true' && row.value !== 'false') throw new Error(`${row.field} exists: choose yes or no.`);
    return row.value === 'true';
  }
  if (row.op === '$in' || row.op === '$nin') {
    const items = row.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0) throw new Error(`${row.field} ${row.op === '$in' ? 'is one of' : 'is none of'}: give at least one value, separated by commas.`);
    return items.map((v) => scalar(row.field, v, field));
  }
  if (row.op === '$startsWith') return row.value;
  return scalar(row.field, row.value, field);
}

function scalar(name: string, text: string, field: Field | undefined): unknown {
  const kind = field?.kind ?? 'any';
  if (text === 'null' && kind !== 'string') return null;
  if (kind === 'number' || kind === 'integer') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`${name} takes a number, not “${text}”.`);
    return n;
  }
  if (kind === 'boolean' || (kind === 'array' && (text === 'true' || text === 'false'))) {
    if (text !== 'true' && text !== 'false') throw new Error(`${name} takes true or false, not “${text}”.`);
    return text === 'true';
  }
  if (kind === 'any' || kind === 'array') {
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
  }
  return text;
}

/** The rows showing `filter`, or null when the builder cannot show it. */
export function filterToBuilder(filter: Filter): Builder | null {
  const keys = Object.keys(filter);
  if (keys.length === 0) return { join: 'and', rows: [] };
  if (keys.length === 1 && (keys[0] === '$and' || keys[0] === '$or')) {
    const list = filter[keys[0]];
    if (!Array.isArray(list) || list.length === 0) return null;
    const rows: Condition[] = [];
    for (const part of list) {
      if (typeof part !== 'object' || part === null || Array.isArray(part)) return null;
      const row = single(part as Filter);
      if (!row) return null;
      rows.push(row);
    }
    return { join: keys[0] === '$and' ? 'and' : 'or', rows };
  }
  const row = single(filter);
  return row ? { join: 'and', rows: [row] } : null;
}

function single(filter: Filter): Condition | null {
  const keys = Object.keys(filter);
  if (keys.length !== 1 || keys[0]!.startsWith('$')) return null;
  const field = keys[0]!;
  const condition = filter[field];
  if (typeof condition !== 'object' || condition === null) return isScalar(condition) ? { field, op: '$eq', value: text(condition) } : null;
  if (Array.isArray(condition)) return null;
  const ops = Object.keys(condition);
  if (ops.length !== 1 || !OPS.has(ops[0]!)) return null;
  const op = ops[0] as Operator;
  const v = (condition as Record<string, unknown>)[op];
  if (op === '$in' || op === '$nin') {
    if (!Array.isArray(v) || !v.every((x) => isScalar(x) && !(typeof x === 'string' && x.includes(',')))) return null;
    return { field, op, value: v.map(text).join(', ') };
  }
  return isScalar(v) ? { field, op, value: text(v) } : null;
}

function isScalar(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function text(v: string | number | boolean | null): string {
  return v === null ? 'null' : String(v);
}

/** `{}` or a JSON object; throws an Error in words otherwise. */
export function parseRawFilter(text: string): Filter {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`The filter is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('The filter must be a JSON object, like {"done": false}.');
  return value as Filter;
}
