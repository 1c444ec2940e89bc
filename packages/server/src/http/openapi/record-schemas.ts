import { EXPAND_MEMBER, SYSTEM_FIELDS, type Collection, type JsonObject, type JsonValue } from '../../core/collections/collection.js';
import { relationsOf, USERS } from '../../core/collections/relations.js';
import { eachSubschema, isObject, own } from '../../core/collections/schema-compiler.js';
import { SCHEMAS } from './openapi-parts.js';

/** The component names of one collection's schemas. */
export interface RecordSchemaNames {
  /** The record as the server returns it: system fields and user fields. */
  readonly record: string;
  /** The user fields, as PUT takes them (and as the collection's schema says). */
  readonly input: string;
  /** PUT's body plus an optional client-chosen `id`. */
  readonly create: string;
  /** A JSON Merge Patch of the user fields. */
  readonly patch: string;
  /** The `expand` member of an answer asked for with `?expand=`: the related records, by relation. */
  readonly expand: string;
  /** The record with its `expand` member: what GET and lists answer with `?expand=`. */
  readonly expanded: string;
}

/** Whether any collection relates to users (the ExpandedUser component is used). */
export const relatesToUsers = (collections: readonly Collection[]): boolean => collections.some((c) => relationsOf(c).some((r) => r.collection === USERS));

/** What a user expands to: id and username, nothing else. */
export const EXPANDED_USER = 'ExpandedUser';
export const expandedUserSchema: JsonObject = {
  type: 'object',
  description: 'A user as an expansion shows one: id and username only.',
  required: ['id', 'username'],
  additionalProperties: false,
  properties: { id: { type: 'string' }, username: { type: 'string' } },
};

export const recordSchemaNames = (collection: string): RecordSchemaNames => ({
  record: `Record_${collection}`,
  input: `RecordInput_${collection}`,
  create: `RecordCreate_${collection}`,
  patch: `RecordPatch_${collection}`,
  expand: `Expand_${collection}`,
  expanded: `ExpandedRecord_${collection}`,
});

/** A record as a read answers it: without `expand`, or with it when asked for. */
export const readRecordSchema = (collection: string): JsonObject => {
  const names = recordSchemaNames(collection);
  return { anyOf: [{ $ref: `${SCHEMAS}${names.record}` }, { $ref: `${SCHEMAS}${names.expanded}` }] };
};

const SYSTEM_PROPERTIES: Record<string, JsonObject> = {
  id: { type: 'string', description: 'Server-assigned (time-sortable) or client-chosen `^[A-Za-z0-9_-]{1,64}$`' },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
  owner: { type: ['string', 'null'], description: "The creating user's id; null when created anonymously" },
  version: { type: 'integer', minimum: 1, description: 'Grows by one on every update; the ETag' },
};
const CLIENT_ID: Record<string, JsonObject> = { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Optional: the record id to use instead of a server-assigned one (409 if taken)' } };

const clone = <T>(value: T): T => structuredClone(value);
/** Component names allow `[A-Za-z0-9._-]`; a `$defs` key may be any string. */
const componentSafe = (key: string): string => key.replace(/[^A-Za-z0-9._-]/g, '_');
/** A JSON Pointer segment of a URI fragment; a stray `%` (a field named `100%`) is taken literally. */
function decodeSegment(raw: string): string {
  let text = raw;
  try {
    text = decodeURIComponent(raw);
  } catch {
    // not percent-encoded
  }
  return text.replaceAll('~1', '/').replaceAll('~0', '~');
}

/**
 * The collection's schema as components. Its `$defs` (and `definitions`), at
 * the top and below, become components of their own (`Def_<collection>_<key>`,
 * the top level's first) and every local `$ref` is rewritten to point there,
 * or into the input component for other pointers (`#` is the input schema
 * itself). Generators such as openapi-typescript resolve `$ref`s to
 * components, but read a pointer through `…/$defs/x` as a property named
 * `$defs`.
 */
function hoist(collection: Collection, inputName: string): { root: JsonObject; defs: Record<string, JsonObject> } {
  const root = clone(collection.schema);
  delete root['$schema'];
  const found: { segments: string[]; key: string; def: JsonValue; owner: JsonObject; keyword: '$defs' | 'definitions' }[] = [];
  eachSubschema(root, '', (s, path) => {
    for (const keyword of ['$defs', 'definitions'] as const) {
      const map = own(s, keyword);
      if (!isObject(map)) continue;
      const at = path === '' ? [] : path.slice(1).split('/').map(decodeSegment);
      for (const [key, def] of Object.entries(map)) found.push({ segments: [...at, keyword, key], key, def, owner: s, keyword });
    }
  });
  found.sort((a, b) => a.segments.length - b.segments.length);
  const taken = new Set<string>();
  const defs: Record<string, JsonObject> = {};
  const hoisted: { segments: string[]; name: string }[] = [];
  for (const { segments, key, def } of found) {
    const base = `Def_${collection.name}_${componentSafe(key)}`;
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    hoisted.push({ segments, name });
    defs[name] = isObject(def) ? def : { allOf: [def] };
  }
  for (const { owner, keyword } of found) {
    if (keyword === '$defs') delete owner['$defs'];
    else delete owner['definitions'];
  }
  // Longest first: a pointer into a nested definition goes to that definition's component.
  hoisted.sort((a, b) => b.segments.length - a.segments.length);
  const rewrite = (target: string): string => {
    if (target === '#') return `${SCHEMAS}${inputName}`;
    const raw = target.slice(2).split('/');
    const segments = raw.map(decodeSegment);
    const def = hoisted.find((h) => h.segments.length <= segments.length && h.segments.every((s, i) => s === segments[i]));
    if (def) return [`${SCHEMAS}${def.name}`, ...raw.slice(def.segments.length)].join('/');
    return `${SCHEMAS}${inputName}${target.slice(1)}`;
  };
  for (const schema of [root, ...Object.values(defs)]) {
    eachSubschema(schema, '', (s) => {
      for (const key of ['$ref', '$dynamicRef']) {
        const target = own(s, key);
        if (typeof target === 'string' && (target === '#' || target.startsWith('#/'))) s[key] = rewrite(target);
      }
    });
  }
  return { root, defs };
}

/**
 * Makes `schema`, which constrains an object, constrain the same object with
 * `fields` added (all always present). Keywords that count or name the keys
 * of the whole object are shifted so the added fields fit: they are declared
 * as properties, `propertyNames` lets their names through, `minProperties`
 * and `maxProperties` grow by their number. Whole-object subschemas
 * (allOf/anyOf/oneOf/not/if/then/else/dependentSchemas) see the same object,
 * so they get the same treatment. A `$ref` is left alone: its target is
 * shared with the places that use it for nested values (the schema compiler
 * refuses counting keywords behind a whole-object `$ref`).
 */
function admit(schema: JsonObject, fields: Record<string, JsonValue>, top: boolean): JsonObject {
  const out: JsonObject = { ...schema };
  const names = Object.keys(fields);
  const properties = own(schema, 'properties');
  if (top || own(schema, 'additionalProperties') !== undefined || own(schema, 'unevaluatedProperties') !== undefined) {
    out['properties'] = { ...fields, ...(isObject(properties) ? properties : {}) };
  }
  const propertyNames = own(schema, 'propertyNames');
  if (propertyNames !== undefined) out['propertyNames'] = { anyOf: [{ enum: names }, propertyNames] };
  for (const key of ['minProperties', 'maxProperties']) {
    const n = own(schema, key);
    if (typeof n === 'number') out[key] = n + names.length;
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const list = own(schema, key);
    if (Array.isArray(list)) out[key] = list.map((s) => (isObject(s) ? admit(s, trueFor(names), false) : s));
  }
  for (const key of ['not', 'if', 'then', 'else']) {
    const sub = own(schema, key);
    if (isObject(sub)) out[key] = admit(sub, trueFor(names), false);
  }
  const dependent = own(schema, 'dependentSchemas');
  if (isObject(dependent)) out['dependentSchemas'] = Object.fromEntries(Object.entries(dependent).map(([k, s]) => [k, isObject(s) ? admit(s, trueFor(names), false) : s]));
  return out;
}

/** Below the top, the added fields are only declared (`true`): their types are stated once, at the top. */
const trueFor = (names: readonly string[]): Record<string, JsonValue> => Object.fromEntries(names.map((n) => [n, true]));

/**
 * A JSON Merge Patch of the user fields: every top-level field optional,
 * `null` removes an optional one. Whole-object rules are left to the server,
 * which checks them on the merged record (a patch alone need not satisfy them).
 * Nested objects are typed as whole values, which a merge patch may also send.
 */
function patchSchema(root: JsonObject, collection: string): JsonObject {
  const required = new Set(Array.isArray(root['required']) ? root['required'].filter((r) => typeof r === 'string') : []);
  const nullable = (s: JsonValue): JsonValue => ({ anyOf: [s, { type: 'null' }] });
  const out: JsonObject = { type: 'object', description: `A JSON Merge Patch (RFC 7396) of a ${collection} record: the fields to change; null removes an optional field.` };
  const properties = own(root, 'properties');
  if (isObject(properties)) out['properties'] = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, required.has(k) ? s : nullable(s)]));
  const patterns = own(root, 'patternProperties');
  if (isObject(patterns)) out['patternProperties'] = Object.fromEntries(Object.entries(patterns).map(([k, s]) => [k, nullable(s)]));
  const additional = own(root, 'additionalProperties');
  if (additional === false) out['additionalProperties'] = false;
  else if (additional !== undefined && additional !== true) out['additionalProperties'] = nullable(additional);
  return out;
}

/**
 * The `expand` member of a collection's answers (docs/relations.md): each
 * relation field typed with its target's record schema (users as
 * ExpandedUser; a single relation may be missing, an array relation is an
 * array), and each back-relation `<collection>_via_<field>` from the
 * collections in the document, an array of that collection's records.
 * A target not in the document (the reader may not read it) never yields a
 * record.
 */
function expandSchema(collection: Collection, all: readonly Collection[]): JsonObject {
  const known = new Set(all.map((c) => c.name));
  const target = (name: string): JsonObject | null => (name === USERS ? { $ref: `${SCHEMAS}${EXPANDED_USER}` } : known.has(name) ? readRecordSchema(name) : null);
  const properties: Record<string, JsonObject> = {};
  for (const r of relationsOf(collection)) {
    const item = target(r.collection);
    if (r.many) {
      properties[r.field] = item === null ? { type: 'array', maxItems: 0 } : { type: 'array', items: item, description: `The ${r.collection} records \`${r.field}\` names that the reader may see, in the field's order` };
    } else {
      properties[r.field] = item === null ? { not: {} } : { ...item, description: `The ${r.collection} record \`${r.field}\` names; absent when there is none or the reader may not see it` };
    }
  }
  for (const source of all) {
    for (const r of relationsOf(source)) {
      if (r.collection !== collection.name) continue;
      const name = `${source.name}_via_${r.field}`;
      properties[name] = { type: 'array', items: readRecordSchema(source.name), maxItems: 100, description: `The ${source.name} records whose \`${r.field}\` names this record (back-relation): the newest 100 the reader may see` };
    }
  }
  // A member is there when its path was asked for, and only then: none is required of every answer.
  return { type: 'object', description: `The related records of a ${collection.name} record, by relation, as asked for with ?expand= (nested paths: each record's own expand).`, additionalProperties: false, properties };
}

/** A relation field's description: what it holds and how to expand it. */
function describeRelations(root: JsonObject, collection: Collection): void {
  const properties = own(root, 'properties');
  if (!isObject(properties)) return;
  for (const r of relationsOf(collection)) {
    const property = properties[r.field];
    if (!isObject(property) || own(property, 'description') !== undefined) continue;
    const what = r.collection === USERS ? 'user' : `${r.collection} record`;
    property['description'] = `${r.many ? 'Ids of' : 'The id of a'} ${what}${r.many ? 's' : ''} (x-relation, onDelete: ${r.onDelete}); ?expand=${r.field} includes ${r.many ? 'them' : 'it'}`;
  }
}

/** The components of one collection: record, input, create, patch and expand schemas, and its hoisted `$defs`. `all`: the collections of the document (for back-relations). */
export function recordComponents(collection: Collection, all: readonly Collection[] = [collection]): Record<string, JsonObject> {
  const names = recordSchemaNames(collection.name);
  const { root, defs } = hoist(collection, names.input);
  describeRelations(root, collection);
  const record = admit(root, SYSTEM_PROPERTIES, true);
  const required = Array.isArray(root['required']) ? root['required'] : [];
  record['required'] = [...SYSTEM_FIELDS, ...required];
  // A schema of its own rather than an optional member: keywords that count members stay exact either way.
  const expanded = admit(root, { ...SYSTEM_PROPERTIES, [EXPAND_MEMBER]: { $ref: `${SCHEMAS}${names.expand}` } }, true);
  expanded['required'] = [...SYSTEM_FIELDS, EXPAND_MEMBER, ...required];
  // With an id the whole-object rules see one field more (the server drops it before validating): shifted by `then`, exact either way.
  const typing: JsonObject = { type: 'object', properties: { ...CLIENT_ID, ...(isObject(root['properties']) ? root['properties'] : {}) } };
  if (required.length > 0) typing['required'] = required;
  for (const key of ['patternProperties', 'additionalProperties']) if (own(root, key) !== undefined) typing[key] = root[key]!;
  const create: JsonObject = {
    ...typing,
    description: `A new ${collection.name} record: its fields, and optionally a client-chosen id.`,
    if: { required: ['id'] },
    then: admit(root, CLIENT_ID, true),
    else: { $ref: `${SCHEMAS}${names.input}` },
  };
  return {
    ...defs,
    // The collection's own description, if it has one, says more than ours.
    [names.input]: { description: `The fields of a ${collection.name} record, as sent on replace (PUT).`, ...root },
    [names.create]: create,
    [names.patch]: patchSchema(root, collection.name),
    [names.record]: { ...record, description: `A ${collection.name} record as the server returns it: system fields and the collection's fields.` },
    [names.expanded]: { ...expanded, description: `A ${collection.name} record with the related records asked for with ?expand=.` },
    [names.expand]: expandSchema(collection, all),
  };
}
