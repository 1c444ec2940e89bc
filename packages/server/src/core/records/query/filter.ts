/**
 * Parses the `filter` query parameter (SPEC §4.3) into a `FilterNode`.
 * Every rejection is `invalid_filter` with a JSON-Pointer-ish path into the
 * filter (`/filter/$or/0/priority/$gte`); nothing here can throw anything
 * else, and nothing the client wrote reaches SQL except field paths, which
 * `parseFieldPath` restricts to identifier segments. The grammar, limits and
 * semantics are documented in `docs/filters.md`.
 */
import { AppError } from '../../errors.js';
import { FORBIDDEN_KEYS, SYSTEM_FIELD_TYPES, parseFieldPath } from './field-path.js';
import { isStorableString } from './order.js';
import type { FieldRef, FilterNode, Scalar } from './query-types.js';

export const FILTER_LIMITS = {
  /** UTF-8 bytes of the filter's JSON text. */
  maxBytes: 16 * 1024,
  /** Nesting levels of JSON objects and arrays. */
  maxDepth: 16,
  /** Field conditions (leaves) in the whole filter. */
  maxConditions: 200,
  /** Elements of one `$in` / `$nin` array. */
  maxInValues: 1000,
} as const;

/** What a field may be compared with: anything for user data, the column's type for system fields. */
type FieldType = 'any' | 'string' | 'nullable-string' | 'number';

interface ParseState {
  conditions: number;
}

/** `undefined`, an empty string and `{}` mean "no filter" (null). */
export function parseFilter(text: string | undefined): FilterNode | null {
  if (text === undefined || text === '') return null;
  // Length in UTF-16 units is a lower bound of the UTF-8 size: a cheap first gate.
  if (text.length > FILTER_LIMITS.maxBytes || Buffer.byteLength(text, 'utf8') > FILTER_LIMITS.maxBytes) {
    fail('/filter', `is longer than ${FILTER_LIMITS.maxBytes} bytes`);
  }
  checkNesting(text);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail('/filter', `is not valid JSON (${error instanceof Error ? error.message.slice(0, 120) : 'parse error'})`);
  }
  if (!isObject(raw)) fail('/filter', 'must be a JSON object');
  const node = parseFilterObject(raw, '/filter', 1, { conditions: 0 });
  return node.op === 'and' && node.children.length === 0 ? null : node;
}

/**
 * Rejects deep nesting by scanning the text once, before anything recurses:
 * the walker below then never goes deeper than `maxDepth` frames.
 */
function checkNesting(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > FILTER_LIMITS.maxDepth) fail('/filter', `nests objects and arrays more than ${FILTER_LIMITS.maxDepth} levels deep`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

function parseFilterObject(obj: Readonly<Record<string, unknown>>, path: string, depth: number, state: ParseState): FilterNode {
  if (depth > FILTER_LIMITS.maxDepth) fail(path, `nests more than ${FILTER_LIMITS.maxDepth} levels deep`);
  const children: FilterNode[] = [];
  for (const key of Object.keys(obj)) {
    const keyPath = `${path}/${pointerToken(key)}`;
    if (FORBIDDEN_KEYS.has(key)) fail(keyPath, `"${key}" is not allowed as a key`);
    const value = obj[key];
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) fail(keyPath, `${key} takes a non-empty array of filters`);
      const parts = value.map((item: unknown, i) => {
        if (!isObject(item)) fail(`${keyPath}/${i}`, 'must be a filter object');
        return parseFilterObject(item, `${keyPath}/${i}`, depth + 2, state);
      });
      children.push({ op: key === '$and' ? 'and' : 'or', children: parts });
    } else if (key === '$not') {
      if (!isObject(value)) fail(keyPath, '$not takes a filter object');
      children.push({ op: 'not', child: parseFilterObject(value, keyPath, depth + 1, state) });
    } else if (key.startsWith('$')) {
      const hint = FIELD_OPERATORS.has(key) ? ` (field operators go inside a field condition: {"field": {"${key}": …}})` : '';
      fail(keyPath, `unknown logical operator "${truncate(key)}"${hint}`);
    } else {
      const field = parseFieldPath(key);
      if (typeof field === 'string') fail(keyPath, field);
      parseCondition(field, value, keyPath, depth, state, children);
    }
  }
  return children.length === 1 ? children[0]! : { op: 'and', children };
}

const FIELD_OPERATORS: ReadonlySet<string> = new Set([
  '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$contains', '$startsWith',
]);

function parseCondition(field: FieldRef, value: unknown, path: string, depth: number, state: ParseState, out: FilterNode[]): void {
  const type: FieldType = field.kind === 'data' ? 'any' : field.name === 'owner' ? 'nullable-string' : SYSTEM_FIELD_TYPES[field.name];
  if (Array.isArray(value)) fail(path, 'an array cannot be an equality value; use {"$in": […]} or {"$contains": …}');
  if (!isObject(value)) {
    out.push({ op: 'eq', field, value: typedScalar(value, type, path) });
    count(state, path);
    return;
  }
  if (depth + 1 > FILTER_LIMITS.maxDepth) fail(path, `nests more than ${FILTER_LIMITS.maxDepth} levels deep`);
  const ops = Object.keys(value);
  if (ops.length === 0) fail(path, 'needs at least one operator, e.g. {"$eq": …}');
  for (const op of ops) {
    const opPath = `${path}/${pointerToken(op)}`;
    const operand = value[op];
    if (FORBIDDEN_KEYS.has(op)) fail(opPath, `"${op}" is not allowed as a key`);
    if (!op.startsWith('$')) fail(opPath, 'an object cannot be an equality value; use a dotted path such as "address.city"');
    switch (op) {
      case '$eq':
      case '$ne':
        out.push({ op: op === '$eq' ? 'eq' : 'ne', field, value: typedScalar(operand, type, opPath) });
        break;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte': {
        const bound = typedScalar(operand, type, opPath);
        if (typeof bound !== 'number' && typeof bound !== 'string') fail(opPath, `${op} takes a number or a string`);
        out.push({ op: op.slice(1) as 'gt' | 'gte' | 'lt' | 'lte', field, value: bound });
        break;
      }
      case '$in':
      case '$nin': {
        if (!Array.isArray(operand)) fail(opPath, `${op} takes an array of values`);
        if (operand.length > FILTER_LIMITS.maxInValues) fail(opPath, `${op} takes at most ${FILTER_LIMITS.maxInValues} values`);
        const values = operand.map((item: unknown, i) => typedScalar(item, type, `${opPath}/${i}`));
        out.push({ op: op === '$in' ? 'in' : 'nin', field, values });
        break;
      }
      case '$exists':
        if (typeof operand !== 'boolean') fail(opPath, '$exists takes true or false');
        out.push({ op: 'exists', field, value: operand });
        break;
      case '$contains': {
        if (type === 'number') fail(opPath, '$contains needs a string or array field');
        const needle = scalar(operand, opPath);
        if (type !== 'any' && typeof needle !== 'string') fail(opPath, '$contains on a string field takes a string');
        out.push({ op: 'contains', field, value: needle });
        break;
      }
      case '$startsWith': {
        if (type === 'number') fail(opPath, '$startsWith needs a string field');
        const prefix = scalar(operand, opPath);
        if (typeof prefix !== 'string') fail(opPath, '$startsWith takes a string');
        out.push({ op: 'startsWith', field, value: prefix });
        break;
      }
      default:
        fail(opPath, `unknown operator "${truncate(op)}"`);
    }
    count(state, opPath);
  }
}

function scalar(value: unknown, path: string): Scalar {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(path, 'numbers must be finite');
    return value;
  }
  if (typeof value === 'string') {
    if (!isStorableString(value)) fail(path, 'strings must be valid Unicode without NUL characters');
    return value;
  }
  fail(path, 'must be a string, number, boolean or null');
}

/** A scalar the field's type can hold; for system fields this is also what keeps SQL column affinities out of play. */
function typedScalar(value: unknown, type: FieldType, path: string): Scalar {
  const v = scalar(value, path);
  switch (type) {
    case 'any':
      return v;
    case 'number':
      if (typeof v !== 'number') fail(path, 'this field is a number');
      return v;
    case 'string':
      if (typeof v !== 'string') fail(path, 'this field is a string');
      return v;
    case 'nullable-string':
      if (typeof v !== 'string' && v !== null) fail(path, 'this field is a string or null');
      return v;
  }
}

function count(state: ParseState, path: string): void {
  if (++state.conditions > FILTER_LIMITS.maxConditions) fail(path, `has more than ${FILTER_LIMITS.maxConditions} conditions`);
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 6901 escaping, shortened so a hostile key cannot bloat the error body. */
function pointerToken(key: string): string {
  return truncate(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function fail(path: string, message: string): never {
  throw new AppError('invalid_filter', `Invalid filter at ${path}: ${message}.`, { details: [{ path, message }] });
}
