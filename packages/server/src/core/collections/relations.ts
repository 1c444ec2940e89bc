import { ON_DELETE, type Collection, type JsonObject, type JsonValue, type OnDelete } from './collection.js';
import { isObject, own } from './schema-compiler.js';

/** The name `x-relation` uses for the built-in users. */
export const USERS = 'users';

/**
 * A relation field: a top-level property of a collection's schema with the
 * `x-relation` keyword, holding one record id (`many: false`, a string) or
 * several (an array of strings) of `collection` (another collection, this
 * one, or the built-in users).
 */
export interface Relation {
  readonly field: string;
  readonly collection: string;
  readonly onDelete: OnDelete;
  readonly many: boolean;
}

/** Ids one array relation may hold: each is checked and indexed on every write. */
export const MAX_RELATION_IDS = 1000;

/** The key `record_refs.target` stores for a relation's collection: users are not a collection, so they get a name no collection can have. */
export function refTarget(collection: string): string {
  return collection === USERS ? '@users' : collection;
}

const cache = new WeakMap<JsonObject, readonly Relation[]>();

/** The relations a (checked) schema declares, in property order; computed once per schema object. */
export function relationsOf(source: Collection | JsonObject): readonly Relation[] {
  const schema = 'schema' in source && 'rules' in source ? (source as Collection).schema : (source);
  let known = cache.get(schema);
  if (known === undefined) {
    const found: Relation[] = [];
    const properties = own(schema, 'properties');
    if (isObject(properties)) {
      for (const [field, property] of Object.entries(properties)) {
        if (!isObject(property)) continue;
        const keyword = own(property, 'x-relation');
        if (!isObject(keyword)) continue;
        const collection = own(keyword, 'collection');
        const onDelete = own(keyword, 'onDelete') ?? 'restrict';
        if (typeof collection !== 'string' || !(ON_DELETE as readonly JsonValue[]).includes(onDelete)) continue;
        found.push(Object.freeze({ field, collection, onDelete: onDelete as OnDelete, many: own(property, 'type') === 'array' }));
      }
    }
    known = Object.freeze(found);
    cache.set(schema, known);
  }
  return known;
}

/** The ids a record's relation field holds (none when the field is absent), without repeats. */
export function relationIds(relation: Relation, data: JsonObject): string[] {
  const value = own(data, relation.field);
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((item): item is string => typeof item === 'string'))];
}
