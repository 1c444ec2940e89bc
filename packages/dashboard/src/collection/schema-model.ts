/**
 * The field editor's view of a JSON Schema. The schema object stays the one
 * source of truth: fields are read from it, and every edit is a change of
 * the few keywords it concerns, so keywords the editor does not know
 * (patterns, `$defs`, compositions) are kept exactly as they are.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type FieldKind = 'text' | 'number' | 'integer' | 'boolean' | 'datetime' | 'array' | 'object' | 'relation' | 'other';
export type ItemKind = 'text' | 'number' | 'integer' | 'boolean';
export type OnDelete = 'restrict' | 'cascade' | 'setNull';

export const FIELD_KINDS: readonly [FieldKind, string][] = [
  ['text', 'Text'],
  ['number', 'Number'],
  ['integer', 'Integer'],
  ['boolean', 'Boolean'],
  ['datetime', 'Date and time'],
  ['array', 'List'],
  ['object', 'Object'],
  ['relation', 'Relation'],
];
export const ITEM_KINDS: readonly ItemKind[] = ['text', 'number', 'integer', 'boolean'];
/** ajv-formats' string formats (date-time is a kind of its own). */
export const TEXT_FORMATS = ['', 'email', 'uri', 'uuid', 'date', 'time', 'duration', 'hostname', 'ipv4', 'ipv6', 'uri-reference', 'regex'] as const;
export const ON_DELETE: readonly OnDelete[] = ['restrict', 'cascade', 'setNull'];

/** One property as the field editor shows it. */
export interface FieldView {
  readonly name: string;
  readonly kind: FieldKind;
  readonly required: boolean;
  readonly schema: JsonObject;
  /** For `array`: the items' kind (null: not a simple one). */
  readonly items: ItemKind | null;
  /** For `relation`. */
  readonly relation: { readonly collection: string; readonly onDelete: OnDelete; readonly many: boolean } | null;
}

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const TYPE_OF_ITEM: Record<ItemKind, string> = { text: 'string', number: 'number', integer: 'integer', boolean: 'boolean' };

function itemKind(items: Json | undefined): ItemKind | null {
  if (!isObject(items)) return null;
  const found = ITEM_KINDS.find((k) => TYPE_OF_ITEM[k] === items['type']);
  return found ?? null;
}

export function kindOf(p: JsonObject): FieldKind {
  if (isObject(p['x-relation'])) return 'relation';
  switch (p['type']) {
    case 'string':
      return p['format'] === 'date-time' ? 'datetime' : 'text';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'array':
      return itemKind(p['items']) === null ? 'other' : 'array';
    case 'object':
      return 'object';
    case undefined:
    case null:
    case true:
    case false:
    default:
      return 'other';
  }
}

/** The properties of an object schema, in order. */
export function fieldsOf(schema: JsonObject): FieldView[] {
  const props = isObject(schema['properties']) ? schema['properties'] : {};
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  return Object.entries(props).map(([name, raw]) => {
    const p = isObject(raw) ? raw : {};
    const rel = isObject(p['x-relation']) ? p['x-relation'] : null;
    return {
      name,
      kind: kindOf(p),
      required: required.includes(name),
      schema: p,
      items: itemKind(p['items']),
      relation: rel && {
        collection: typeof rel['collection'] === 'string' ? rel['collection'] : '',
        onDelete: (ON_DELETE as readonly Json[]).includes(rel['onDelete'] ?? null) ? (rel['onDelete'] as OnDelete) : 'restrict',
        many: p['type'] === 'array',
      },
    };
  });
}

/** A path of property names from the top: `['address', 'city']`. */
export type FieldPath = readonly string[];

/** The object schema that holds the fields at `parent` (the top for `[]`). */
function objectAt(schema: JsonObject, parent: FieldPath): JsonObject {
  let node = schema;
  for (const name of parent) {
    const props = node['properties'];
    const next = isObject(props) ? props[name] : undefined;
    if (!isObject(next)) throw new Error(`No object field at ${parent.join('.')}`);
    node = next;
  }
  return node;
}

/** A deep copy, changed by `edit` at the object that holds the fields at `parent`. */
function withObject(schema: JsonObject, parent: FieldPath, edit: (o: JsonObject) => void): JsonObject {
  const copy = structuredClone(schema);
  edit(objectAt(copy, parent));
  return copy;
}

/** Keywords each kind owns: changing the kind removes the old kind's, keeps the rest (annotations, unknown keywords). */
const KIND_KEYWORDS = ['type', 'format', 'minLength', 'maxLength', 'pattern', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'items', 'minItems', 'maxItems', 'uniqueItems', 'properties', 'required', 'additionalProperties', 'x-relation', 'default'];

export function schemaForKind(kind: Exclude<FieldKind, 'other'>, keep: JsonObject = {}, topLevel = true): JsonObject {
  const base: JsonObject = {};
  for (const [k, v] of Object.entries(keep)) if (!KIND_KEYWORDS.includes(k)) base[k] = v;
  switch (kind) {
    case 'text':
      return { type: 'string', ...base };
    case 'number':
    case 'integer':
    case 'boolean':
      return { type: kind, ...base };
    case 'datetime':
      return { type: 'string', format: 'date-time', ...base };
    case 'array':
      return { type: 'array', items: { type: 'string' }, ...base };
    case 'object':
      return { type: 'object', properties: {}, ...base };
    case 'relation':
      // Relations are top-level only: nested, the editor offers text instead.
      return topLevel ? { type: 'string', 'x-relation': { collection: 'users', onDelete: 'restrict' }, ...base } : { type: 'string', ...base };
  }
}

export function addField(schema: JsonObject, parent: FieldPath, name: string, kind: Exclude<FieldKind, 'other'>): JsonObject {
  return withObject(schema, parent, (o) => {
    const props = isObject(o['properties']) ? o['properties'] : {};
    if (Object.hasOwn(props, name)) throw new Error(`There is a field "${name}" already.`);
    o['properties'] = { ...props, [name]: schemaForKind(kind, {}, parent.length === 0) };
  });
}

export function removeField(schema: JsonObject, parent: FieldPath, name: string): JsonObject {
  return withObject(schema, parent, (o) => {
    if (isObject(o['properties'])) o['properties'] = Object.fromEntries(Object.entries(o['properties']).filter(([k]) => k !== name));
    setRequired(o, name, false);
  });
}

/** Renames in place (the order of the properties is kept), `required` follows. */
export function renameField(schema: JsonObject, parent: FieldPath, from: string, to: string): JsonObject {
  if (from === to) return schema;
  return withObject(schema, parent, (o) => {
    const props = isObject(o['properties']) ? o['properties'] : {};
    if (Object.hasOwn(props, to)) throw new Error(`There is a field "${to}" already.`);
    o['properties'] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k === from ? to : k, v]));
    if (Array.isArray(o['required'])) o['required'] = o['required'].map((r) => (r === from ? to : r));
  });
}

function setRequired(o: JsonObject, name: string, on: boolean): void {
  const list = Array.isArray(o['required']) ? o['required'].filter((r) => r !== name) : [];
  if (on) list.push(name);
  if (list.length > 0) o['required'] = list;
  else delete o['required'];
}

export function setFieldRequired(schema: JsonObject, parent: FieldPath, name: string, on: boolean): JsonObject {
  return withObject(schema, parent, (o) => setRequired(o, name, on));
}

/** Replaces one property's schema (the editor builds it from the current one). */
export function setFieldSchema(schema: JsonObject, parent: FieldPath, name: string, next: JsonObject): JsonObject {
  return withObject(schema, parent, (o) => {
    const props = isObject(o['properties']) ? o['properties'] : {};
    o['properties'] = { ...props, [name]: next };
  });
}

/** `p` with `key` set, or removed when `value` is undefined. */
export function withKeyword(p: JsonObject, key: string, value: Json | undefined): JsonObject {
  if (value === undefined) return Object.fromEntries(Object.entries(p).filter(([k]) => k !== key));
  return { ...p, [key]: value };
}

/**
 * Checks the editor needs to show fields at all; anything else (meaning,
 * strict-mode keywords, relation targets) is the server's to say.
 */
export function structureProblems(schema: Json): string[] {
  if (!isObject(schema)) return ['The schema must be a JSON object.'];
  const problems: string[] = [];
  if (schema['type'] !== 'object') problems.push('The schema needs "type": "object" at the top: a record is an object.');
  if (schema['properties'] !== undefined && !isObject(schema['properties'])) problems.push('"properties" must be an object of field schemas.');
  if (schema['required'] !== undefined && !(Array.isArray(schema['required']) && schema['required'].every((r) => typeof r === 'string'))) problems.push('"required" must be an array of field names.');
  return problems;
}

/**
 * Server error paths (JSON Pointers such as `/schema/properties/a/type`) to
 * the field they concern: `{field: ['a'], rest: '/type'}`; a path above any
 * field gives `field: []`.
 */
export function fieldOfPointer(pointer: string): { field: string[]; rest: string } {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts[0] === 'schema') parts.shift();
  const field: string[] = [];
  while (parts[0] === 'properties' && parts.length >= 2) {
    field.push(parts[1]!);
    parts.splice(0, 2);
  }
  return { field, rest: parts.length ? `/${parts.join('/')}` : '' };
}

export const FIELD_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
