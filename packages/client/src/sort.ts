import { compareSortValues } from '@sigil/protocol';

export interface SortKeySpec {
  readonly path: readonly string[];
  readonly descending: boolean;
}

/**
 * A sort as the server reads it (docs/filters.md#sorting): comma-separated
 * keys, `-` for descending, default `createdAt,id`; `id` is appended in the
 * direction of the last key, and keys after an explicit `id` are dropped.
 */
export function parseSort(sort: string | readonly string[] | undefined): SortKeySpec[] {
  const parts = (typeof sort === 'string' ? sort.split(',') : (sort ?? [])).map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) parts.push('createdAt');
  const keys: SortKeySpec[] = [];
  for (const part of parts) {
    const descending = part.startsWith('-');
    const name = descending ? part.slice(1) : part;
    keys.push({ path: name.split('.'), descending });
    if (name === 'id') return keys;
  }
  keys.push({ path: ['id'], descending: keys[keys.length - 1]!.descending });
  return keys;
}

/** The sort string for the wire. */
export function sortParam(sort: string | readonly string[] | undefined): string | undefined {
  return sort === undefined ? undefined : typeof sort === 'string' ? sort : sort.join(',');
}

/** The value at a path of a flat record (own properties only, never into arrays); undefined when missing. */
export function valueAt(record: unknown, path: readonly string[]): unknown {
  let current = record;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Orders records exactly as a list with this sort does (the server's order across types, shared in @sigil/protocol). */
export function recordComparator(sort: string | readonly string[] | undefined): (a: object, b: object) => number {
  const keys = parseSort(sort);
  return (a, b) => {
    for (const key of keys) {
      const c = compareSortValues(valueAt(a, key.path), valueAt(b, key.path));
      if (c !== 0) return key.descending ? -c : c;
    }
    return 0;
  };
}
