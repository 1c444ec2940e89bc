/**
 * The sort order of record values, shared by the server (its JavaScript
 * comparator and cursors; the SQL compilers encode the same rules, proven by
 * the server's `test/contract/query-agreement.test.ts`) and the client (live
 * queries keep their local result in exactly the order a list returns).
 *
 * One total order across types, by rank (`SORT_RANK`):
 * missing = null < false < true < numbers < strings < arrays < objects.
 * Within numbers by value, within strings by Unicode code point; arrays are
 * all equal to each other, and so are objects (their contents do not take
 * part), so ties fall through to the next sort key and finally to `id`.
 *
 * @example
 * ```ts
 * import { compareSortValues } from '@sigil/protocol';
 * [3, 'a', null, true].sort(compareSortValues); // [null, true, 3, 'a']
 * ```
 */

/** The rank of each kind of value in the sort order. */
export const SORT_RANK = {
  null: 0,
  false: 1,
  true: 2,
  number: 3,
  string: 4,
  array: 5,
  object: 6,
} as const;

export type SortRank = (typeof SORT_RANK)[keyof typeof SORT_RANK];

/**
 * Compares two strings by Unicode code point. UTF-16 `<` disagrees with
 * code point order when a surrogate pair (U+10000 and up) meets a unit in
 * U+E000–U+FFFF; the fix-up moves surrogates above that block.
 *
 * @example
 * ```ts
 * compareStrings('\uffff', '😀'); // -1 (UTF-16 `<` says the opposite)
 * ```
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : 1;
}

/**
 * The rank of a value (`undefined`, for a missing field, ranks as null).
 *
 * @example
 * ```ts
 * sortRank(undefined) === SORT_RANK.null; // true
 * ```
 */
export function sortRank(value: unknown): SortRank {
  if (value === undefined || value === null) return SORT_RANK.null;
  if (typeof value === 'boolean') return value ? SORT_RANK.true : SORT_RANK.false;
  if (typeof value === 'number') return SORT_RANK.number;
  if (typeof value === 'string') return SORT_RANK.string;
  return Array.isArray(value) ? SORT_RANK.array : SORT_RANK.object;
}

/**
 * The total sort order (ascending) described above: negative, zero or positive.
 *
 * @example
 * ```ts
 * compareSortValues(false, 0); // -1: booleans come before numbers
 * ```
 */
export function compareSortValues(a: unknown, b: unknown): number {
  const ra = sortRank(a);
  const rb = sortRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  return 0;
}
