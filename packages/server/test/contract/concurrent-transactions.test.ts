import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/storage/store.js';
import { STORES, freshStoreEachTest } from '../helpers/stores.js';

/**
 * Many transactions at once: on SQLite they share commits (group commit, one
 * savepoint each); on PostgreSQL they run in parallel. Either way each one
 * commits or rolls back on its own.
 */
describe.each(STORES)('concurrent transactions on $name', (backend) => {
  let store: Store;
  freshStoreEachTest(backend, async (o) => {
    store = o.store;
    const now = new Date().toISOString();
    await store.collections.insertCollection({
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
            await tx.changes.appendChange({ collection: 'items', recordId: record.id, op: 'create', record, previous: null, createdAt: now });
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
});
