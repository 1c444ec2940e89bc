/**
 * Parses the `sort` query parameter (SPEC §4.3): comma-separated field paths,
 * `-` for descending, default `createdAt,id`.
 *
 * The result always ends with exactly one `id` key, which makes the order
 * total (keyset pagination needs that). When the client did not end with
 * `id`, it is appended in the direction of the client's last key:
 * `-createdAt` becomes `-createdAt,-id`, so "newest first" stays newest first
 * among records created in the same millisecond (ids are time-sortable), and
 * one `(created_at, id)` index serves both directions. Keys after an explicit
 * `id` cannot change the order (ids are unique), so they are dropped.
 */
import { AppError } from '../../errors.js';
import { formatFieldPath, parseFieldPath } from './field-path.js';
import type { SortKey } from './query-types.js';

export const SORT_LIMITS = {
  /** Keys the client may name (the appended `id` is not counted). */
  maxKeys: 8,
  maxLength: 1024,
} as const;

const ID_ASC: SortKey = { field: { kind: 'system', name: 'id' }, direction: 'asc' };
const ID_DESC: SortKey = { field: { kind: 'system', name: 'id' }, direction: 'desc' };

export const DEFAULT_SORT: readonly SortKey[] = Object.freeze([
  { field: { kind: 'system', name: 'createdAt' }, direction: 'asc' },
  ID_ASC,
]);

export function parseSort(text: string | undefined): SortKey[] {
  if (text === undefined || text.trim() === '') return [...DEFAULT_SORT];
  if (text.length > SORT_LIMITS.maxLength) fail(`is longer than ${SORT_LIMITS.maxLength} characters`);
  const parts = text.split(',');
  if (parts.length > SORT_LIMITS.maxKeys) fail(`has more than ${SORT_LIMITS.maxKeys} keys`);
  const keys: SortKey[] = [];
  const seen = new Set<string>();
  for (const raw of parts) {
    const part = raw.trim();
    const descending = part.startsWith('-');
    const name = descending ? part.slice(1) : part;
    if (name === '') fail('has an empty key');
    const field = parseFieldPath(name);
    if (typeof field === 'string') fail(`"${name.slice(0, 64)}": ${field}`);
    const canonical = formatFieldPath(field);
    if (seen.has(canonical)) fail(`names "${canonical}" twice`);
    seen.add(canonical);
    keys.push({ field, direction: descending ? 'desc' : 'asc' });
    if (field.kind === 'system' && field.name === 'id') return keys;
  }
  keys.push(keys.at(-1)!.direction === 'desc' ? ID_DESC : ID_ASC);
  return keys;
}

/** The canonical text of a parsed sort (`-priority,id`): cursors are bound to it. */
export function formatSort(sort: readonly SortKey[]): string {
  return sort.map((key) => `${key.direction === 'desc' ? '-' : ''}${formatFieldPath(key.field)}`).join(',');
}

function fail(message: string): never {
  throw new AppError('bad_request', `Invalid sort: ${message}.`, { details: [{ path: '/sort', message }] });
}
