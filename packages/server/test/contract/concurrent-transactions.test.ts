import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/storage/store.js';
import { STORES, freshStoreEachTest } from '../helpers/stores.js';

/**
 * Many transactions at once: they share commits (group commit; a failure
 * after a write makes the batch start over with a savepoint each) on SQLite,
 * and on PostgreSQL when READ COMMITTED; SERIALIZABLE ones run in parallel
 * on PostgreSQL. Either way each one commits or rolls back on its own.
 */
describe.each(STORES)('concurrent transactions on $name', (backend) => {
  let store: Store;
  freshStoreEachTest(backend, async (o) => {
    store = o.store;
    const now = new Date().toISOString();
    await store.collections.insertCollection({
      id: 'c_items',
      name: 'items',
      schema: { type: 'object' },
      rules: { list: 'public', view: 'public', create: 'public', update: 'public', delete: 'public' },
      indexes: [],
      schemaVersion: 1,
      createdAt: now,
      updatedAt: now,
    });
  });

  it.skipIf(backend.skipReason !== null)('a failing transaction among many leaves nothing; the others all commit', async () => {
    const now = new Date().toISOString();
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        store.transaction(
          async (tx) => {
            const record = { id: `r${i}`, owner: null, version: 1, createdAt: now, updatedAt: now, data: { i } };
            await tx.records.insertRecord('items', record);
            await tx.changes.appendChange({ collection: 'items', collectionId: 'c_items', recordId: record.id, op: 'create', record, previous: null, createdAt: now, txEnd: true });
            if (i % 7 === 3) throw new Error(`fail ${i}`);
            return i;
          },
          { isolation: 'read committed' },
        ),
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([3, 10, 17, 24, 31, 38]);
    for (let i = 0; i < 40; i++) {
      const found = await store.records.findRecord('items', `r${i}`);
      expect(found === null).toBe(failed.includes(i));
    }
    const changes = await store.changes.readChanges(0, 100);
    expect(changes).toHaveLength(34);
    expect(changes.map((c) => c.seq)).toEqual(Array.from({ length: 34 }, (_, k) => k + 1));
    expect(new Set(changes.map((c) => c.recordId))).toEqual(new Set(Array.from({ length: 40 }, (_, i) => i).filter((i) => !failed.includes(i)).map((i) => `r${i}`)));
  });

  it.skipIf(backend.skipReason !== null)('one that fails before writing anything is answered alone; the others run once and commit', async () => {
    const now = new Date().toISOString();
    const runs = new Array<number>(20).fill(0);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.transaction(async (tx) => {
          runs[i]! += 1;
          if (i === 5) {
            // Reads, then refuses: nothing written.
            await tx.records.findRecord('items', 'nothing');
            throw new Error('refused');
          }
          const record = { id: `q${i}`, owner: null, version: 1, createdAt: now, updatedAt: now, data: { i } };
          await tx.records.insertRecord('items', record);
          return i;
        }, { isolation: 'read committed' }),
      ),
    );
    expect(results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []))).toEqual([5]);
    expect(runs).toEqual(new Array<number>(20).fill(1));
    for (let i = 0; i < 20; i++) expect((await store.records.findRecord('items', `q${i}`)) === null).toBe(i === 5);
  });

  it.skipIf(backend.skipReason !== null)('one that creates a table and then fails leaves no table behind, among others that commit', async () => {
    const now = new Date().toISOString();
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        store.transaction(async (tx) => {
          if (i === 6) {
            await tx.collections.insertCollection({
              id: 'c_ghost', name: 'ghost', schema: { type: 'object' }, rules: { list: 'public', view: 'public', create: 'public', update: 'public', delete: 'public' },
              indexes: [['x']], schemaVersion: 1, createdAt: now, updatedAt: now,
            });
            throw new Error('changed my mind');
          }
          await tx.records.insertRecord('items', { id: `g${i}`, owner: null, version: 1, createdAt: now, updatedAt: now, data: {} });
          return i;
        }, { isolation: 'read committed' }),
      ),
    );
    expect(results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []))).toEqual([6]);
    expect(await store.collections.findCollection('ghost')).toBeNull();
    await expect(store.records.findRecord('ghost', 'x')).rejects.toThrow();
    for (let i = 0; i < 12; i++) expect((await store.records.findRecord('items', `g${i}`)) === null).toBe(i === 6);
  });
});
