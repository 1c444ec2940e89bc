/**
 * What the records browser reads from a collection's JSON Schema: the
 * columns, each field's kind (for the filter builder, the keyset and the
 * forms) and the relations.
 */
import type { ValueType } from './keyset';

export type JsonSchema = Readonly<Record<string, unknown>>;

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'any';

export interface Relation {
  readonly collection: string;
  readonly many: boolean;
  readonly onDelete: string;
}

export interface Field {
  /** The field path (`title`, a system field like `createdAt`). */
  readonly name: string;
  readonly kind: FieldKind;
  readonly schema: JsonSchema;
  readonly system: boolean;
  readonly relation: Relation | null;
  /** The type ranks the values can take (for keyset conditions): the declared types, and null/missing unless the field is a required non-null one. */
  readonly types: readonly ValueType[];
}


export const SYSTEM_FIELDS: readonly Field[] = [
  { name: 'id', kind: 'string', schema: { type: 'string' }, system: true, relation: null, types: ['string'] },
  { name: 'createdAt', kind: 'string', schema: { type: 'string', format: 'date-time' }, system: true, relation: null, types: ['string'] },
  { name: 'updatedAt', kind: 'string', schema: { type: 'string', format: 'date-time' }, system: true, relation: null, types: ['string'] },
  { name: 'owner', kind: 'string', schema: { type: 'string' }, system: true, relation: null, types: ['null', 'string'] },
  { name: 'version', kind: 'integer', schema: { type: 'integer' }, system: true, relation: null, types: ['number'] },
];

export function typesOf(schema: JsonSchema): string[] {
  const t = schema['type'];
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  if (Array.isArray(schema['enum'])) return [...new Set((schema['enum'] as unknown[]).map(jsonType))];
  if ('const' in schema) return [jsonType(schema['const'])];
  return [];
}

export function kindOf(schema: JsonSchema): FieldKind {
  const types = typesOf(schema).filter((t) => t !== 'null');
  if (types.length !== 1) return 'any';
  const t = types[0]!;
  return t === 'string' || t === 'number' || t === 'integer' || t === 'boolean' || t === 'array' || t === 'object' ? t : 'any';
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function valueTypes(schema: JsonSchema, required: boolean): ValueType[] {
  const declared = typesOf(schema);
  if (declared.length === 0) return ['null', 'boolean', 'number', 'string', 'other'];
  const out = new Set<ValueType>(required ? [] : ['null']);
  for (const t of declared) {
    if (t === 'null') out.add('null');
    else if (t === 'boolean') out.add('boolean');
    else if (t === 'number' || t === 'integer') out.add('number');
    else if (t === 'string') out.add('string');
    else out.add('other');
  }
  return [...out];
}

export function relationOf(schema: JsonSchema): Relation | null {
  const r = schema['x-relation'];
  if (typeof r !== 'object' || r === null) return null;
  const rel = r as Record<string, unknown>;
  if (typeof rel['collection'] !== 'string') return null;
  return { collection: rel['collection'], many: kindOf(schema) === 'array', onDelete: typeof rel['onDelete'] === 'string' ? rel['onDelete'] : 'restrict' };
}

export function propertiesOf(schema: JsonSchema): [string, JsonSchema][] {
  const props = schema['properties'];
  if (typeof props !== 'object' || props === null) return [];
  return Object.entries(props as Record<string, unknown>).filter((e): e is [string, JsonSchema] => typeof e[1] === 'object' && e[1] !== null);
}

export function requiredOf(schema: JsonSchema): readonly string[] {
  const r = schema['required'];
  return Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : [];
}

/** The collection's top-level user fields, in schema order. */
export function userFields(schema: JsonSchema): Field[] {
  const required = requiredOf(schema);
  return propertiesOf(schema).map(([name, s]) => ({ name, kind: kindOf(s), schema: s, system: false, relation: relationOf(s), types: valueTypes(s, required.includes(name)) }));
}

/** The field people read a record of this collection by: the first plain string field (username for users). */
export function readableField(schema: JsonSchema | null, collection: string): string {
  if (collection === 'users') return 'username';
  if (!schema) return 'id';
  const field = userFields(schema).find((f) => f.kind === 'string' && !f.relation);
  return field?.name ?? 'id';
}
