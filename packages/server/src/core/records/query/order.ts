/**
 * The one definition of value semantics for the records query language.
 * The JavaScript evaluator, the comparator and the cursor use these
 * functions; the SQLite and PostgreSQL compilers encode the same rules (and
 * `test/contract/query-agreement.test.ts` proves all three agree).
 *
 * - Equality is type-strict: `1` ≠ `"1"`, `true` ≠ `1`; numbers by value.
 *   A null operand matches null or missing.
 * - Ranges (`$gt` …) only match values of the operand's type: numbers with
 *   numbers, strings with strings by Unicode code point (= UTF-8 byte order =
 *   SQLite BINARY = PostgreSQL `COLLATE "C"`), never UTF-16 `<`.
 * - Sorting uses one total order across types, by rank (`SORT_RANK`, in
 *   `@sigil/protocol`, which the client shares for its live queries):
 *   missing = null < false < true < numbers < strings < arrays < objects.
 *   Within numbers by value, within strings by code point; arrays are all
 *   equal to each other, and so are objects (their contents do not take
 *   part: no dialect orders containers the same way), so ties fall through
 *   to the next sort key and finally to `id`.
 */
import { compareStrings } from '@sigil/protocol';
import type { JsonValue } from '../../collections/collection.js';
import type { FieldRef } from './query-types.js';
import type { RecordRow } from '../record.js';

/** A field's value in a record; `undefined` when the path does not exist. */
export type FieldValue = JsonValue | undefined;

/**
 * A value as a sort key and a cursor hold it: missing becomes null, and a
 * container becomes an empty one of its kind (only its rank matters).
 */
export type SortValue = string | number | boolean | null | readonly [] | Readonly<Record<string, never>>;

export { SORT_RANK, compareSortValues, compareStrings, sortRank, type SortRank } from '@sigil/protocol';

/** The value at `field` in `record`, without allocating. Only own properties count. */
export function fieldValue(record: RecordRow, field: FieldRef): FieldValue {
  if (field.kind === 'system') return record[field.name];
  let current: JsonValue | undefined = record.data;
  for (const segment of field.path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

/**
 * The least string above every string that starts with `prefix`, in code
 * point order: the prefix with its last code point incremented (after
 * dropping trailing U+10FFFF, which has no successor; skipping the
 * surrogates, which are no code points of a string). null when there is none.
 */
export function prefixEnd(prefix: string): string | null {
  const points = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) return String.fromCodePoint(...points, last + 1 === 0xd800 ? 0xe000 : last + 1);
  }
  return null;
}

/** Type-strict equality of a field value and a scalar operand; null matches null and missing. */
export function valueEquals(value: FieldValue, operand: string | number | boolean | null): boolean {
  // `===` is already type-strict for scalars, and containers never equal a scalar.
  return operand === null ? value === null || value === undefined : value === operand;
}

/**
 * Orders a value against a range operand: a negative, zero or positive
 * number, or NaN when the types differ (so every range test is false).
 */
export function compareForRange(value: FieldValue, operand: string | number): number {
  if (typeof operand === 'number') return typeof value === 'number' ? value - operand : NaN;
  return typeof value === 'string' ? compareStrings(value, operand) : NaN;
}

/** `$contains`: substring of a string, or a type-strict element of an array. */
export function valueContains(value: FieldValue, operand: string | number | boolean | null): boolean {
  if (typeof value === 'string') return typeof operand === 'string' && value.includes(operand);
  if (Array.isArray(value)) {
    for (const element of value) if (element === operand) return true;
  }
  return false;
}

const EMPTY_ARRAY: readonly [] = Object.freeze<[]>([]);
const EMPTY_OBJECT: Readonly<Record<string, never>> = Object.freeze({});

/** A field value reduced to what sorting looks at (the cursor stores this). */
export function toSortValue(value: FieldValue): SortValue {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') return value;
  return Array.isArray(value) ? EMPTY_ARRAY : EMPTY_OBJECT;
}

const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u;

/**
 * Whether a string can be a query operand or cursor value: PostgreSQL
 * text/jsonb cannot hold NUL, and a lone surrogate does not survive the
 * trip to UTF-8 (it would silently become U+FFFD and compare wrongly).
 */
export function isStorableString(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE_RE.test(text);
}

const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Whether `text` is a timestamp exactly as Sigil stores `createdAt` and
 * `updatedAt` (ISO 8601 UTC with milliseconds). For such strings, text
 * order and time order agree, so PostgreSQL may compare its timestamptz
 * columns directly (and use their indexes).
 */
export function isCanonicalTimestamp(text: string): boolean {
  // Year 0000 is valid ISO 8601 and JavaScript, but PostgreSQL has no year 0 (1 BC follows AD 1): it compares as text.
  if (!TIMESTAMP_RE.test(text) || text.startsWith('0000')) return false;
  const time = Date.parse(text);
  return Number.isFinite(time) && new Date(time).toISOString() === text;
}
