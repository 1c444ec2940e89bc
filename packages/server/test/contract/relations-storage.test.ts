/**
 * The RelationRepository contract (core/storage/store.ts) on every backend:
 * references replaced per record, who references a record, target checks,
 * and the back-relation read (scope, newest first, per-parent bound).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, type Collection, type JsonObject } from '../../src/core/collections/collection.js';
import type { FilterNode } from '../../src/core/records/query/query-types.js';
import type { RecordRow } from '../../src/core/records/record.js';
import type { RecordRef, Store } from '../../src/core/storage/store.js';
import { wantedIndexes } from '../../src/adapters/collection-tables.js';
import { sqliteIndexColumns } from '../../src/adapters/sqlite/sqlite-query.js';
import { STORES, freshStoreEachTest } from '../helpers/stores.js';

describe('relation indexes', () => {
  it('a single relation field gets an index of its own, unless an index starts with it; an array relation does not', () => {
    const rel = (many: boolean): JsonObject => (many ? { type: 'array', items: { type: 'string' }, 'x-relation': { collection: 'posts' } } : { type: 'string', 'x-relation': { collection: 'posts' } });
    const base = collection('notes');
    const schema = { type: 'object', properties: { post: rel(false), tags: rel(true), other: rel(false) } };
    const plain = wantedIndexes(base, sqliteIndexColumns);
    const related = wantedIndexes({ ...base, schema }, sqliteIndexColumns);
    expect(related.size).toBe(plain.size + 2);
    const added = [...related].filter(([name]) => !plain.has(name)).map(([, ddl]) => ddl);
    expect(added.some((ddl) => ddl.includes('post')) && added.some((ddl) => ddl.includes('other'))).toBe(true);
    expect(added.some((ddl) => ddl.includes('tags'))).toBe(false);
    const covered = wantedIndexes({ ...base, schema, indexes: [['post', 'createdAt']] }, sqliteIndexColumns);
    expect(covered.size).toBe(plain.size + 2); // the declared (post, createdAt) and `other`
  });
});

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

function collection(name: string): Collection {
  return { id: `c_${name}`, name, schema: { type: 'object' }, rules: DEFAULT_RULES, indexes: [], schemaVersion: 1, createdAt: at(0), updatedAt: at(0) };
}

function row(id: string, seconds: number, data: RecordRow['data'] = {}): RecordRow {
  return { id, owner: null, version: 1, createdAt: at(seconds), updatedAt: at(seconds), data };
}

const ref = (sourceId: string, targetId: string, field = 'post'): RecordRef => ({ source: 'comments', sourceId, field, target: 'posts', targetId });

describe.each(STORES)('relations storage: $name', (factory) => {
  const skip = factory.skipReason !== null;
  let store: Store;
  freshStoreEachTest(factory, async (opened) => {
    store = opened.store;
    await store.collections.insertCollection(collection('posts'));
    await store.collections.insertCollection(collection('comments'));
  });

  it.skipIf(skip)('replaces the references of one record and finds who references a record', async () => {
    await store.transaction(async (tx) => {
      await tx.relations.replaceRefs('comments', 'c1', [ref('c1', 'p1'), ref('c1', 'p2', 'also')]);
      await tx.relations.replaceRefs('comments', 'c2', [ref('c2', 'p1')]);
    });
    expect(await store.relations.findReferrers('posts', 'p1', 10)).toEqual([ref('c1', 'p1'), ref('c2', 'p1')]);
    expect(await store.relations.findReferrers('posts', 'p1', 1)).toEqual([ref('c1', 'p1')]);
    await store.relations.replaceRefs('comments', 'c1', [ref('c1', 'p3')]);
    expect(await store.relations.findReferrers('posts', 'p1', 10)).toEqual([ref('c2', 'p1')]);
    expect(await store.relations.findReferrers('posts', 'p2', 10)).toEqual([]);
    await store.relations.replaceRefs('comments', 'c2', []);
    expect(await store.relations.findReferrers('posts', 'p1', 10)).toEqual([]);
    // A repeated reference is one row.
    await store.relations.replaceRefs('comments', 'c4', [ref('c4', 'p4'), ref('c4', 'p4')]);
    expect(await store.relations.findReferrers('posts', 'p4', 10)).toEqual([ref('c4', 'p4')]);
  });

  it.skipIf(skip)('drops the references of a collection, or of one field', async () => {
    await store.relations.replaceRefs('comments', 'c1', [ref('c1', 'p1'), ref('c1', 'p1', 'also')]);
    await store.relations.dropRefs('comments', 'also');
    expect(await store.relations.findReferrers('posts', 'p1', 10)).toEqual([ref('c1', 'p1')]);
    await store.relations.dropRefs('comments');
    expect(await store.relations.findReferrers('posts', 'p1', 10)).toEqual([]);
  });

  it.skipIf(skip)('tells which targets exist, for records and users, inside and outside transactions', async () => {
    await store.records.insertRecord('posts', row('p1', 1));
    await store.users.insertUser({ id: 'u1', username: 'ann', email: null, passwordHash: 'x', role: 'user', createdAt: at(0) });
    expect([...(await store.relations.lockTargets('posts', ['p1', 'p9']))]).toEqual(['p1']);
    expect([...(await store.relations.lockTargets('@users', ['u1', 'p1']))]).toEqual(['u1']);
    expect([...(await store.relations.lockTargets('posts', []))]).toEqual([]);
    const inside = await store.transaction(async (tx) => {
      await tx.records.insertRecord('posts', row('p2', 2));
      return [...(await tx.relations.lockTargets('posts', ['p1', 'p2']))].sort();
    }, { isolation: 'read committed' });
    expect(inside).toEqual(['p1', 'p2']);
    expect(await store.relations.findUserNames(['u1', 'nobody'])).toEqual([{ id: 'u1', username: 'ann' }]);
  });

  it.skipIf(skip)('reads referring records per parent: in scope only, newest first, at most perParent each, in one call', async () => {
    for (let i = 1; i <= 5; i++) {
      await store.records.insertRecord('comments', row(`a${i}`, i, { post: 'p1', hidden: i === 3 }));
      await store.relations.replaceRefs('comments', `a${i}`, [ref(`a${i}`, 'p1')]);
    }
    await store.records.insertRecord('comments', row('b1', 9, { post: 'p2' }));
    await store.relations.replaceRefs('comments', 'b1', [ref('b1', 'p2')]);
    // Same target id under another field: not this back-relation.
    await store.relations.replaceRefs('comments', 'b1', [ref('b1', 'p2'), ref('b1', 'p1', 'also')]);

    const all = await store.relations.findReferringRecords('comments', 'post', 'posts', ['p1', 'p2', 'p3'], null, 100);
    expect(all.map((r) => `${r.parent}:${r.record.id}`)).toEqual(['p1:a5', 'p1:a4', 'p1:a3', 'p1:a2', 'p1:a1', 'p2:b1']);
    expect(JSON.parse(all[0]!.record.dataJson)).toEqual({ post: 'p1', hidden: false });

    const visible: FilterNode = { op: 'ne', field: { kind: 'data', path: ['hidden'] }, value: true };
    const scoped = await store.relations.findReferringRecords('comments', 'post', 'posts', ['p1', 'p2'], visible, 2);
    // The hidden one does not count toward the bound: the two newest visible ones.
    expect(scoped.map((r) => `${r.parent}:${r.record.id}`)).toEqual(['p1:a5', 'p1:a4', 'p2:b1']);
    const older = await store.relations.findReferringRecords('comments', 'post', 'posts', ['p1'], visible, 3);
    expect(older.map((r) => r.record.id)).toEqual(['a5', 'a4', 'a2']);
    expect(await store.relations.findReferringRecords('comments', 'post', 'posts', [], null, 10)).toEqual([]);
  });

  it.skipIf(skip)('reads many records by id at once', async () => {
    await store.records.insertRecord('posts', row('p1', 1, { title: 'one' }));
    await store.records.insertRecord('posts', row('p2', 2));
    const rows = await store.records.readRecords('posts', ['p2', 'p1', 'nope']);
    expect(rows.map((r) => r.id).sort()).toEqual(['p1', 'p2']);
    expect(JSON.parse(rows.find((r) => r.id === 'p1')!.dataJson)).toEqual({ title: 'one' });
    expect(await store.records.readRecords('posts', [])).toEqual([]);
  });

  it.skipIf(skip)('bounded reads (ReadBound) stop past the bound, and are complete within it', async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 6; i++) {
      await store.records.insertRecord('posts', row(`p${i}`, i, { text: 'x'.repeat(100) }));
      await store.records.insertRecord('comments', row(`c${i}`, i, { post: 'p1', text: 'y'.repeat(100) }));
      await store.relations.replaceRefs('comments', `c${i}`, [ref(`c${i}`, 'p1')]);
      ids.push(`p${i}`);
    }
    const chars = (rows: readonly { dataJson: string }[]): number => rows.reduce((n, r) => n + r.dataJson.length, 0);
    const roomy = { rows: 6, chars: 10_000 };
    expect(await store.records.readRecords('posts', ids, roomy)).toHaveLength(6);
    expect(await store.relations.findReferringRecords('comments', 'post', 'posts', ['p1'], null, 100, roomy)).toHaveLength(6);
    // Over the row bound: stops after one more than it.
    expect(await store.records.readRecords('posts', ids, { rows: 2, chars: 10_000 })).toHaveLength(3);
    const back = await store.relations.findReferringRecords('comments', 'post', 'posts', ['p1'], null, 100, { rows: 2, chars: 10_000 });
    expect(back.map((r) => r.record.id)).toEqual(['c6', 'c5', 'c4']);
    // Over the character bound: stops at the record that reaches it.
    // As stored (PostgreSQL writes jsonb with spaces).
    const one = (await store.records.readRecords('posts', ['p1']))[0]!.dataJson.length;
    const cut = await store.records.readRecords('posts', ids, { rows: 100, chars: one * 2 + 1 });
    expect(cut).toHaveLength(3);
    expect(chars(cut)).toBeGreaterThanOrEqual(one * 2 + 1);
    const cutBack = await store.relations.findReferringRecords('comments', 'post', 'posts', ['p1'], null, 100, { rows: 100, chars: 10 });
    expect(cutBack.map((r) => r.record.id)).toEqual(['c6']);
  });
});
