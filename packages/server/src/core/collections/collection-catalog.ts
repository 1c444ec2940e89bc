import type { ErrorDetail } from '@sigil/protocol';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { Store } from '../storage/store.js';
import { COLLECTION_NAME_RE, type Collection, type JsonObject } from './collection.js';
import { createSchemaCompiler, type SchemaCompiler } from './schema-compiler.js';

export interface CollectionCatalogOptions {
  readonly store: Store;
  readonly clock: Clock;
  /**
   * How long a collection is served from memory. Changes made through this
   * instance invalidate at once; this bounds how long another instance's
   * change (rules, indexes) takes to be seen. Schema changes are safe
   * regardless: record writes compare `schemaVersion` inside their transaction
   * and call `refresh`.
   */
  readonly cacheTtlMs: number;
  /** Shared with the collection service, so both compile with the same Ajv options. */
  readonly compiler?: SchemaCompiler;
}

/** The collections as the records service and realtime see them: cached, with compiled validators. */
export interface CollectionCatalog {
  /** The collection, or `AppError('not_found')`. */
  get(name: string): Promise<Collection>;
  /** Problems of a record's user fields under the collection's schema; empty when valid. */
  validate(collection: Collection, data: JsonObject): ErrorDetail[];
  /** Drops one cached collection, or all. */
  invalidate(name?: string): void;
  /** Reads the collection from the database now (after a stale `schemaVersion` was seen). */
  refresh(name: string): Promise<Collection>;
}

export function createCollectionCatalog(opts: CollectionCatalogOptions): CollectionCatalog {
  const { store, clock, cacheTtlMs } = opts;
  const compiler = opts.compiler ?? createSchemaCompiler();
  // Map, not an object: names come from URLs, and a Map has no prototype keys.
  const cache = new Map<string, { collection: Collection; expiresAt: number }>();
  const loading = new Map<string, Promise<Collection>>();
  // Bumped on every invalidation, so a read that started before it is not cached after it.
  let generation = 0;

  function load(name: string): Promise<Collection> {
    const pending = loading.get(name);
    if (pending) return pending;
    const started = generation;
    const promise = (async () => {
      // Not a valid name: no such collection, and no query for it.
      const collection = COLLECTION_NAME_RE.test(name) ? await store.collections.findCollection(name) : null;
      if (!collection) throw new AppError('not_found', `No collection "${name}".`);
      if (started === generation && cacheTtlMs > 0) cache.set(name, { collection, expiresAt: clock.now() + cacheTtlMs });
      return collection;
    })().finally(() => {
      if (loading.get(name) === promise) loading.delete(name);
    });
    loading.set(name, promise);
    return promise;
  }

  function invalidate(name?: string): void {
    generation += 1;
    if (name === undefined) {
      cache.clear();
      loading.clear();
    } else {
      cache.delete(name);
      loading.delete(name);
    }
  }

  return {
    async get(name) {
      const hit = cache.get(name);
      if (hit && hit.expiresAt > clock.now()) return hit.collection;
      return load(name);
    },
    validate: (collection, data) => compiler.validate(collection, data),
    invalidate,
    refresh(name) {
      invalidate(name);
      return load(name);
    },
  };
}
