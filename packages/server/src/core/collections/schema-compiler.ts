import type { ErrorDetail } from '@sigil/protocol';
import addFormatsModule from 'ajv-formats';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { AppError } from '../errors.js';
import { COLLECTION_NAME_RE, EXPAND_MEMBER, ON_DELETE, SYSTEM_FIELDS, type Collection, type JsonObject, type JsonValue } from './collection.js';

/** Ajv's own advice for schemas it did not ship with: bound their size and depth (ajv.js.org/security). */
export const MAX_SCHEMA_BYTES = 64 * 1024;
export const MAX_SCHEMA_DEPTH = 32;
/** Ajv stops at the first error (allErrors: false), but one error can still come with siblings (anyOf). */
const MAX_DETAILS = 20;
const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** A validator for one schema. */
export interface CompiledSchema {
  /** The problems of `data` as JSON Pointers into it; empty when it is valid. */
  validate(data: JsonObject): ErrorDetail[];
  /** Frees the compiled code (Ajv keeps every compiled schema until told otherwise). */
  release(): void;
}

export interface SchemaCompiler {
  /**
   * Checks a proposed collection schema and compiles it. Throws
   * `validation_failed` with details at `/schema…`. The caller releases the
   * result: a proposed schema may never be applied, so it is not cached.
   */
  check(schema: unknown): CompiledSchema;
  /** Validates a record's user fields against a stored collection's schema, compiling it once per version. */
  validate(collection: Collection, data: JsonObject): ErrorDetail[];
  /** Drops cached validators (one collection's, or all). */
  forget(name?: string): void;
}

/**
 * The options are chosen for untrusted data under admin-written schemas:
 * - `strictSchema: true`: an unknown keyword or format (`minLenght`) is an
 *   error at create time. Ignoring it would let invalid records in, which
 *   SPEC principle 1 forbids. The cost: custom annotation keywords
 *   (`x-widget`) are refused; `title`, `description`, `examples`,
 *   `deprecated`, `readOnly` and `$comment` carry annotations. Sigil's own
 *   `x-relation` (relations.ts) is known.
 * - `strictTypes`/`strictTuples`/`strictRequired: false`: they refuse valid
 *   and common schemas (`type: ["string", "null"]`, `prefixItems` without
 *   `items: false`), and in "log" mode would write to the console.
 * - `allErrors: false`: with all errors, a crafted body can make Ajv build an
 *   error per array element (CodeQL js/resource-exhaustion); one error per
 *   write is enough to fix it and matches Fastify's body validation.
 * - `ownProperties: true`: `required: ["constructor"]` must not be satisfied
 *   by Object.prototype, so only a record's own keys count.
 * - no coercion, defaults or removal: validation never changes the data.
 * - no `loadSchema`: nothing is ever fetched; `check` also refuses any `$ref`
 *   that is not local, and `$id` (one shared Ajv instance must not register
 *   collection schemas under URIs other schemas could reach).
 */
export function createSchemaCompiler(): SchemaCompiler {
  const ajv = new Ajv2020({
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allErrors: false,
    ownProperties: true,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    validateFormats: true,
    logger: false,
  });
  addFormatsModule.default(ajv);
  // An annotation for Sigil (relations.ts): Ajv checks its shape, records are checked by the record writes.
  ajv.addKeyword({ keyword: 'x-relation', metaSchema: X_RELATION_META_SCHEMA });

  const cache = new Map<string, { createdAt: string; schemaVersion: number; compiled: CompiledSchema }>();

  function compile(schema: JsonObject): CompiledSchema {
    const fn: ValidateFunction = ajv.compile(schema);
    return {
      validate: (data) => (fn(data) ? [] : toDetails(fn.errors ?? [])),
      release: () => void ajv.removeSchema(schema),
    };
  }

  return {
    check(schema) {
      const problems = checkShape(schema);
      if (problems.length > 0) throw invalid(problems);
      const root = schema as JsonObject;
      // Before Ajv, whose meta-schema errors for a keyword do not say where it is.
      const relations = relationProblems(root);
      if (relations.length > 0) throw invalid(relations);
      if (!ajv.validateSchema(root)) throw invalid(toDetails(ajv.errors ?? [], '/schema'));
      const semantic = checkSemantics(root);
      if (semantic.length > 0) throw invalid(semantic);
      try {
        return compile(root);
      } catch (err) {
        // Strict-mode and regular-expression errors name the problem but not always its place.
        throw invalid([{ path: '/schema', message: err instanceof Error ? err.message : String(err) }]);
      }
    },

    validate(collection, data) {
      let entry = cache.get(collection.name);
      if (!entry || entry.schemaVersion !== collection.schemaVersion || entry.createdAt !== collection.createdAt) {
        entry?.compiled.release();
        // A collection deleted and created again restarts at version 1: createdAt tells them apart.
        entry = { createdAt: collection.createdAt, schemaVersion: collection.schemaVersion, compiled: compile(collection.schema) };
        cache.set(collection.name, entry);
      }
      return entry.compiled.validate(data);
    },

    forget(name) {
      for (const [key, entry] of cache) {
        if (name !== undefined && key !== name) continue;
        entry.compiled.release();
        cache.delete(key);
      }
    },
  };
}

function invalid(details: readonly ErrorDetail[]): AppError {
  return new AppError('validation_failed', 'The collection schema is invalid.', { details: details.slice(0, MAX_DETAILS) });
}

/** Ajv errors as details: the path names the offending field itself where Ajv puts it in params. */
export function toDetails(errors: readonly ErrorObject[], prefix = ''): ErrorDetail[] {
  return errors.slice(0, MAX_DETAILS).map((e) => {
    const params = e.params as Record<string, unknown>;
    const field = params['missingProperty'] ?? params['additionalProperty'] ?? params['unevaluatedProperty'] ?? params['propertyName'];
    const path = typeof field === 'string' ? `${e.instancePath}/${escapePointer(field)}` : e.instancePath;
    return { path: `${prefix}${path}`, message: e.message ?? 'is invalid' };
  });
}

export function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Checks done before Ajv sees the schema: an object, bounded in size and depth (deep schemas overflow Ajv's stack). */
function checkShape(schema: unknown): ErrorDetail[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return [{ path: '/schema', message: 'must be a JSON Schema object' }];
  const bytes = Buffer.byteLength(JSON.stringify(schema), 'utf8');
  if (bytes > MAX_SCHEMA_BYTES) return [{ path: '/schema', message: `must be at most ${MAX_SCHEMA_BYTES / 1024} KiB as JSON (is ${bytes} bytes)` }];
  if (depthOf(schema as JsonValue, 0) > MAX_SCHEMA_DEPTH) return [{ path: '/schema', message: `must not nest deeper than ${MAX_SCHEMA_DEPTH} levels` }];
  // Checked before Ajv, which throws on a meta-schema it does not know.
  const dialect = own(schema as JsonObject, '$schema');
  if (dialect !== undefined && dialect !== DIALECT && dialect !== `${DIALECT}#`) {
    return [{ path: '/schema/$schema', message: `must be "${DIALECT}" (draft 2020-12) or absent` }];
  }
  return [];
}

function depthOf(value: JsonValue, depth: number): number {
  if (typeof value !== 'object' || value === null) return depth;
  if (depth > MAX_SCHEMA_DEPTH) return depth;
  let max = depth + 1;
  for (const child of Object.values(value)) max = Math.max(max, depthOf(child, depth + 1));
  return max;
}

const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'] as const;
const SCHEMA_VALUES = ['additionalProperties', 'items', 'contains', 'propertyNames', 'not', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema'] as const;
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;

/** Own property only: user keys must never reach Object.prototype. */
export function own(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Calls `visit` on every subschema (schema-aware: a property named `$ref` is not a keyword). */
export function eachSubschema(schema: JsonObject, path: string, visit: (s: JsonObject, path: string) => void): void {
  visit(schema, path);
  for (const key of SCHEMA_MAPS) {
    const map = own(schema, key);
    if (isObject(map)) for (const [name, sub] of Object.entries(map)) if (isObject(sub)) eachSubschema(sub, `${path}/${key}/${escapePointer(name)}`, visit);
  }
  for (const key of SCHEMA_VALUES) {
    const sub = own(schema, key);
    if (isObject(sub)) eachSubschema(sub, `${path}/${key}`, visit);
  }
  for (const key of SCHEMA_LISTS) {
    const list = own(schema, key);
    if (Array.isArray(list)) list.forEach((sub, i) => isObject(sub) && eachSubschema(sub, `${path}/${key}/${i}`, visit));
  }
}

/** The rules Ajv does not know: top-level object, local references only, no system fields. */
function checkSemantics(root: JsonObject): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  if (own(root, 'type') !== 'object') problems.push({ path: '/schema/type', message: 'must be "object": a record is a JSON object' });
  eachSubschema(root, '/schema', (s, path) => {
    for (const key of ['$ref', '$dynamicRef']) {
      const ref = own(s, key);
      if (typeof ref === 'string' && !ref.startsWith('#')) problems.push({ path: `${path}/${key}`, message: 'must be a local reference ("#/$defs/…"): remote schemas are never fetched' });
    }
    if (own(s, '$id') !== undefined) problems.push({ path: `${path}/$id`, message: 'is not supported: a collection schema is identified by the collection name' });
    if (s !== root && own(s, '$schema') !== undefined) problems.push({ path: `${path}/$schema`, message: 'is only allowed at the top level' });
    // Ajv skips a `__proto__` property schema (so it would check nothing), and request bodies may not carry the key.
    const properties = own(s, 'properties');
    if (isObject(properties) && Object.hasOwn(properties, '__proto__')) problems.push({ path: `${path}/properties/__proto__`, message: 'is not a usable field name' });
    const required = own(s, 'required');
    if (Array.isArray(required) && required.includes('__proto__')) problems.push({ path: `${path}/required`, message: '"__proto__" is not a usable field name' });
  });
  for (const { schema, path, viaRef } of rootApplicators(root)) problems.push(...systemFieldProblems(schema, path), ...wholeObjectProblems(schema, path, viaRef));
  return problems;
}

/**
 * Every subschema that applies to the record object itself: the root and what
 * it reaches through allOf/anyOf/oneOf/not/if/then/else/dependentSchemas and
 * local `$ref`s. A system field named in any of them would be a field the
 * schema "declares", so each is checked. `viaRef`: reached through a `$ref`,
 * whose target may also describe nested values.
 */
function rootApplicators(root: JsonObject): { schema: JsonObject; path: string; viaRef: boolean }[] {
  const found: { schema: JsonObject; path: string; viaRef: boolean }[] = [];
  const seen = new Set<JsonObject>();
  const visit = (schema: JsonObject, path: string, viaRef: boolean): void => {
    if (seen.has(schema)) return;
    seen.add(schema);
    found.push({ schema, path, viaRef });
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      const list = own(schema, key);
      if (Array.isArray(list)) list.forEach((sub, i) => isObject(sub) && visit(sub, `${path}/${key}/${i}`, viaRef));
    }
    for (const key of ['not', 'if', 'then', 'else'] as const) {
      const sub = own(schema, key);
      if (isObject(sub)) visit(sub, `${path}/${key}`, viaRef);
    }
    const dependent = own(schema, 'dependentSchemas');
    if (isObject(dependent)) for (const [name, sub] of Object.entries(dependent)) if (isObject(sub)) visit(sub, `${path}/dependentSchemas/${escapePointer(name)}`, viaRef);
    const ref = own(schema, '$ref');
    if (typeof ref === 'string') {
      const target = resolveLocalRef(root, ref);
      if (target) visit(target, `/schema${ref.slice(1)}`, true);
    }
  };
  visit(root, '/schema', false);
  return found;
}

/** The value of the `x-relation` keyword (SPEC §4.6), checked by Ajv as the keyword's meta-schema. */
const X_RELATION_META_SCHEMA = Object.freeze({
  type: 'object',
  required: ['collection'],
  additionalProperties: false,
  properties: {
    collection: { type: 'string', pattern: COLLECTION_NAME_RE.source },
    onDelete: { enum: [...ON_DELETE] },
  },
});

/**
 * What the meta-schema cannot say about `x-relation`: only on a top-level
 * property, whose type is a string or an array of strings, and a `setNull`
 * single relation must be optional (the field is removed). That its target
 * exists is checked by the collection service, which sees the store. No
 * top-level property may be named `expand`: answers put expansions there.
 */
function relationProblems(root: JsonObject): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const properties = own(root, 'properties');
  const topLevel = new Map<JsonObject, string>();
  if (isObject(properties)) for (const [name, sub] of Object.entries(properties)) if (isObject(sub)) topLevel.set(sub, name);
  if (isObject(properties) && Object.hasOwn(properties, EXPAND_MEMBER)) {
    problems.push({ path: `/schema/properties/${EXPAND_MEMBER}`, message: `is reserved: answers carry expanded relations under "${EXPAND_MEMBER}"` });
  }
  const required = own(root, 'required');
  eachSubschema(root, '/schema', (schema, path) => {
    const keyword = own(schema, 'x-relation');
    if (keyword === undefined) return;
    const at = `${path}/x-relation`;
    if (!isObject(keyword)) {
      problems.push({ path: at, message: 'must be an object {"collection": "<name>", "onDelete"?: "restrict" | "cascade" | "setNull"}' });
      return;
    }
    const target = own(keyword, 'collection');
    if (typeof target !== 'string' || !COLLECTION_NAME_RE.test(target)) problems.push({ path: `${at}/collection`, message: 'must name a collection, or "users"' });
    const onDelete = own(keyword, 'onDelete');
    if (onDelete !== undefined && !(ON_DELETE as readonly JsonValue[]).includes(onDelete)) problems.push({ path: `${at}/onDelete`, message: `must be one of ${ON_DELETE.map((o) => `"${o}"`).join(', ')}` });
    for (const key of Object.keys(keyword)) if (key !== 'collection' && key !== 'onDelete') problems.push({ path: `${at}/${escapePointer(key)}`, message: 'is not allowed (x-relation takes "collection" and "onDelete")' });
    const field = topLevel.get(schema);
    if (field === undefined || path !== `/schema/properties/${escapePointer(field)}`) {
      problems.push({ path: at, message: 'is only allowed on a top-level property of the collection schema' });
      return;
    }
    const type = own(schema, 'type');
    const items = own(schema, 'items');
    const many = type === 'array';
    if (type !== 'string' && !(many && isObject(items) && own(items, 'type') === 'string')) {
      problems.push({ path: at, message: 'needs "type": "string" (one record) or "type": "array" with "items": {"type": "string"} (several)' });
    }
    if (onDelete === 'setNull' && !many && Array.isArray(required) && required.includes(field)) {
      problems.push({ path: `${at}/onDelete`, message: '"setNull" removes the field when the record it names is deleted, so the field must not be required' });
    }
  });
  return problems;
}

/** Keywords that count or name every key of the object they apply to. */
const KEY_COUNTING = ['additionalProperties', 'unevaluatedProperties', 'propertyNames', 'minProperties', 'maxProperties'] as const;

/**
 * Whole-record constraints that the records the server returns could not
 * meet, because they carry the system fields (docs/collections.md, "Top-level
 * keywords"). The OpenAPI record schema shifts key-counting keywords to make
 * room for the system fields, but it cannot do so behind a `$ref`, whose
 * target is shared with nested values; and no shift makes a whole-record
 * `const` or `enum` match a record with an id.
 */
function wholeObjectProblems(schema: JsonObject, path: string, viaRef: boolean): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  for (const key of ['const', 'enum']) {
    if (own(schema, key) !== undefined) problems.push({ path: `${path}/${key}`, message: `must not constrain the whole record: records also carry the system fields ${SYSTEM_FIELDS.join(', ')}; constrain its properties instead` });
  }
  if (viaRef) {
    for (const key of KEY_COUNTING) {
      if (own(schema, key) !== undefined) problems.push({ path: `${path}/${key}`, message: `is not supported in a schema the whole record reaches through $ref (it would count the system fields too); write it in the collection schema itself` });
    }
  }
  return problems;
}

/** Resolves `#` and `#/json/pointer` in `root`; null for anchors and anything missing. */
export function resolveLocalRef(root: JsonObject, ref: string): JsonObject | null {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return null;
  let node: JsonValue | undefined = root;
  for (const raw of ref.slice(2).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    } catch {
      return null; // not a valid URI fragment: Ajv's compile reports it
    }
    if (isObject(node)) node = own(node, segment);
    else if (Array.isArray(node) && /^\d+$/.test(segment)) node = node[Number(segment)];
    else return null;
  }
  return isObject(node) ? node : null;
}

function systemFieldProblems(schema: JsonObject, path: string): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const named = (field: string): string => `must not name the system field "${field}": the server sets ${SYSTEM_FIELDS.join(', ')}`;
  const properties = own(schema, 'properties');
  if (isObject(properties)) for (const f of SYSTEM_FIELDS) if (Object.hasOwn(properties, f)) problems.push({ path: `${path}/properties/${f}`, message: named(f) });
  const required = own(schema, 'required');
  if (Array.isArray(required)) required.forEach((f, i) => isSystemField(f) && problems.push({ path: `${path}/required/${i}`, message: named(f) }));
  const dependentRequired = own(schema, 'dependentRequired');
  if (isObject(dependentRequired)) {
    for (const [key, list] of Object.entries(dependentRequired)) {
      const base = `${path}/dependentRequired/${escapePointer(key)}`;
      if (isSystemField(key)) problems.push({ path: base, message: named(key) });
      if (Array.isArray(list)) list.forEach((f, i) => isSystemField(f) && problems.push({ path: `${base}/${i}`, message: named(f) }));
    }
  }
  const dependentSchemas = own(schema, 'dependentSchemas');
  if (isObject(dependentSchemas)) for (const f of SYSTEM_FIELDS) if (Object.hasOwn(dependentSchemas, f)) problems.push({ path: `${path}/dependentSchemas/${f}`, message: named(f) });
  const patterns = own(schema, 'patternProperties');
  if (isObject(patterns)) {
    for (const pattern of Object.keys(patterns)) {
      const hit = SYSTEM_FIELDS.find((f) => matches(pattern, f));
      if (hit) problems.push({ path: `${path}/patternProperties/${escapePointer(pattern)}`, message: `must not match the system field "${hit}" (anchor the pattern, e.g. "^x_")` });
    }
  }
  return problems;
}

function isSystemField(value: unknown): value is string {
  return typeof value === 'string' && (SYSTEM_FIELDS as readonly string[]).includes(value);
}

function matches(pattern: string, field: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(field);
  } catch {
    return false; // Ajv's compile reports the bad pattern.
  }
}
