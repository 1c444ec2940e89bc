/**
 * Keyset pages as filters. Page N is a live query whose filter adds "sorts
 * after the last row of page N-1", written in the filter language, so the
 * server's list and the subscription agree on it (one definition of the
 * semantics) and the page stays where it is while others write: rows come
 * and go inside it, it never shifts by an insert above it.
 *
 * The condition follows the server's cross-type order (missing = null <
 * false < true < numbers < strings < arrays and objects; `id` last, in the
 * direction of the last key), limited to the types the schema allows.
 */

export type Filter = Record<string, unknown>;
/** The cross-type order of sort values: missing = null < false < true < numbers < strings < arrays and objects. */
export type ValueType = 'null' | 'boolean' | 'number' | 'string' | 'other';
/** What the keyset needs of a field: the types its values can take (from the schema). */
export interface Typed {
  readonly types: readonly ValueType[];
}
export interface SortKey {
  readonly field: string;
  readonly desc: boolean;
}
/** The sort values of a page's last row, then its id. */
export type Boundary = readonly unknown[];

/** `-priority,title` → keys, ending with `id` in the direction of the last key (as the server does). */
export function parseSort(sort: string): SortKey[] {
  const keys: SortKey[] = [];
  for (const part of sort.split(',').map((s) => s.trim()).filter(Boolean)) {
    const desc = part.startsWith('-');
    const field = desc ? part.slice(1) : part;
    if (keys.some((k) => k.field === field)) continue;
    keys.push({ field, desc });
    if (field === 'id') return keys;
  }
  keys.push({ field: 'id', desc: keys.at(-1)?.desc ?? false });
  return keys;
}

export function formatSort(keys: readonly SortKey[]): string {
  return keys.map((k) => (k.desc ? '-' : '') + k.field).join(',');
}

/** The boundary a page after `row` starts from. */
export function boundaryOf(row: Readonly<Record<string, unknown>>, keys: readonly SortKey[]): Boundary {
  return keys.map((k) => valueAt(row, k.field) ?? null);
}

export function valueAt(row: Readonly<Record<string, unknown>>, path: string): unknown {
  let v: unknown = row;
  for (const segment of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[segment];
  }
  return v;
}

type Rank = 'null' | 'false' | 'true' | 'number' | 'string' | 'other';
const RANKS: readonly Rank[] = ['null', 'false', 'true', 'number', 'string', 'other'];

function rankOf(value: unknown): Rank {
  if (value === null || value === undefined) return 'null';
  if (value === false) return 'false';
  if (value === true) return 'true';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  return 'other';
}

function allowed(rank: Rank, types: readonly ValueType[]): boolean {
  if (rank === 'false' || rank === 'true') return types.includes('boolean');
  return types.includes(rank);
}

const LOWEST_NUMBER = -Number.MAX_VALUE;

function isRank(field: string, rank: Rank): Filter {
  switch (rank) {
    case 'null': return { [field]: null };
    case 'false': return { [field]: false };
    case 'true': return { [field]: true };
    case 'number': return { [field]: { $gte: LOWEST_NUMBER } };
    case 'string': return { [field]: { $gte: '' } };
    case 'other': return { $and: [{ [field]: { $ne: null } }, { [field]: { $nin: [true, false] } }, { $not: isRank(field, 'number') }, { $not: isRank(field, 'string') }] };
  }
}

/** The field equals `value` in sort terms. */
function equal(field: string, value: unknown): Filter {
  const rank = rankOf(value);
  return rank === 'other' ? isRank(field, 'other') : { [field]: value ?? null };
}

/** The field sorts strictly after `value` in the key's direction. */
function beyond(field: string, value: unknown, desc: boolean, types: readonly ValueType[]): Filter[] {
  const rank = rankOf(value);
  const out: Filter[] = [];
  if (rank === 'number' || rank === 'string') out.push({ [field]: { [desc ? '$lt' : '$gt']: value } });
  const at = RANKS.indexOf(rank);
  const others = RANKS.filter((r, i) => (desc ? i < at : i > at) && allowed(r, types));
  if (others.includes('false') && others.includes('true')) {
    out.push({ [field]: { $in: [false, true] } });
    for (const r of others) if (r !== 'false' && r !== 'true') out.push(isRank(field, r));
  } else {
    for (const r of others) out.push(isRank(field, r));
  }
  return out;
}

/** Records sorting strictly after `boundary` under `keys`. */
export function afterCondition(keys: readonly SortKey[], boundary: Boundary, fieldOf: (name: string) => Typed | undefined): Filter {
  if (boundary.length !== keys.length) throw new Error('The page position does not fit this sort; go back to the first page.');
  const alternatives: Filter[] = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const types = fieldOf(key.field)?.types ?? ['null', 'boolean', 'number', 'string', 'other'];
    const prefix = keys.slice(0, i).map((k, j) => equal(k.field, boundary[j]));
    for (const b of beyond(key.field, boundary[i], key.desc, types)) alternatives.push(all([...prefix, b]));
  }
  if (alternatives.length === 0) throw new Error('The page position is not a record of this sort; go back to the first page.');
  return alternatives.length === 1 ? alternatives[0]! : { $or: alternatives };
}

export function all(filters: readonly Filter[]): Filter {
  const parts = filters.filter((f) => Object.keys(f).length > 0);
  if (parts.length === 0) return {};
  return parts.length === 1 ? parts[0]! : { $and: parts };
}
