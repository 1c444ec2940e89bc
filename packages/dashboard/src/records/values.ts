/** Records as the forms edit them: the user fields only, compared field by field. */
export type Row = { readonly id: string; readonly version: number; readonly [key: string]: unknown };
export type Fields = Record<string, unknown>;

const SYSTEM = new Set(['id', 'createdAt', 'updatedAt', 'owner', 'version', 'expand']);

export function userValues(record: Readonly<Record<string, unknown>>): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(record)) if (!SYSTEM.has(k)) out[k] = v;
  return out;
}

/** Equal as JSON values (key order aside). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => sameValue(x, (b as unknown[])[i]));
  const ka = Object.keys(a).filter((k) => (a as Fields)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Fields)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Fields)[k], (b as Fields)[k]));
}

/** A cell's text: strings as they are, the rest as JSON. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Without the keys whose value is undefined (a form's cleared fields), deeply. */
export function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== 'object' || value === null) return value;
  const out: Fields = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
  return out;
}
