/**
 * Records with relations for expand tests. `createRecord` posts a record and
 * then writes its `record_refs` rows itself with `replaceRefs` (what the
 * write path does on every write): a no-op where the write path already
 * did, so back-relation tests do not depend on which one filled them.
 */
import { expect } from 'vitest';
import type { JsonObject } from '../../src/core/collections/collection.js';
import { refTarget, relationIds, relationsOf } from '../../src/core/collections/relations.js';
import type { TestSigil } from './test-sigil.js';

export type RecordOut = JsonObject & { id: string; createdAt: string; owner: string | null; expand?: Record<string, unknown> };

export async function syncRefs(t: TestSigil, collection: string, record: { id: string } & JsonObject): Promise<void> {
  const c = await t.sigil.catalog.get(collection);
  const refs = relationsOf(c).flatMap((r) => relationIds(r, record).map((targetId) => ({ source: collection, sourceId: record.id, field: r.field, target: refTarget(r.collection), targetId })));
  await t.sigil.store.relations.replaceRefs(collection, record.id, refs);
}

export async function createRecord(t: TestSigil, token: string | undefined, collection: string, body: JsonObject): Promise<RecordOut> {
  const res = await t.request({ method: 'POST', url: `/api/collections/${collection}/records`, ...(token === undefined ? {} : { token }), body });
  expect(res.statusCode, res.body).toBe(201);
  const record = res.json<RecordOut>();
  await syncRefs(t, collection, record);
  return record;
}

export async function createCollection(t: TestSigil, adminToken: string, body: JsonObject): Promise<void> {
  const res = await t.request({ method: 'POST', url: '/api/collections', token: adminToken, body });
  expect(res.statusCode, res.body).toBe(201);
}

/** A relation property of a schema. */
export const relation = (collection: string): JsonObject => ({ type: 'string', 'x-relation': { collection } });
export const relations = (collection: string): JsonObject => ({ type: 'array', items: { type: 'string' }, 'x-relation': { collection } });
