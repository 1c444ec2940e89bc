/**
 * SPEC §4.6: no dangling reference is ever committed, even with concurrent
 * writers deleting the targets. Eight writers on two Sigil instances sharing
 * one database create, retarget and delete records that reference posts
 * (cascade, setNull, restrict, an array, and users), while others delete
 * the posts and the users.
 * At the end every reference resolves, and `record_refs` holds exactly the
 * references the records' fields hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordRef } from '../../src/core/storage/store.js';
import { STORES, createTestDatabaseUrl, type TestDatabase } from '../helpers/stores.js';
import { createAdmin, register, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';

const WRITERS = 8;
const OPERATIONS = 60;
const POSTS = 12;

const relation = (onDelete: string, many = false) =>
  many ? { type: 'array', items: { type: 'string' }, 'x-relation': { collection: 'posts', onDelete } } : { type: 'string', 'x-relation': { collection: 'posts', onDelete } };

/** A small deterministic generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe.each(STORES)('relations under concurrent writers on $name', (backend) => {
  const skip = backend.skipReason !== null;
  let db: TestDatabase;
  let a: TestSigil;
  let b: TestSigil;
  let admin: Account;

  beforeAll(async () => {
    if (skip) return;
    db = await createTestDatabaseUrl(backend.name);
    a = await startTestSigil({ databaseUrl: db.url });
    b = await startTestSigil({ databaseUrl: db.url });
    admin = await createAdmin(a);
    const open = { list: 'authenticated', view: 'authenticated', create: 'authenticated', update: 'authenticated', delete: 'authenticated' };
    for (const body of [
      { name: 'posts', schema: { type: 'object', properties: { n: { type: 'integer' } } }, rules: open },
      { name: 'notes', schema: { type: 'object', properties: { post: relation('cascade'), pin: relation('setNull'), quote: relation('restrict'), also: relation('setNull', true), who: { type: 'string', 'x-relation': { collection: 'users', onDelete: 'setNull' } } } }, rules: open },
    ]) {
      const res = await a.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body });
      expect(res.statusCode, res.body).toBe(201);
    }
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.dispose();
  });

  it.skipIf(skip)(`${WRITERS} writers on two instances never commit a dangling reference`, async () => {
    const posts: string[] = [];
    const notes: string[] = [];
    for (let i = 0; i < POSTS; i++) {
      const res = await a.request({ method: 'POST', url: '/api/collections/posts/records', token: admin.accessToken, body: { n: i } });
      posts.push(res.json<{ id: string }>().id);
    }
    const users: { id: string; username: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const account = await register(a, `conc_${backend.name}_${i}`);
      users.push({ id: account.id, username: account.username });
    }
    const statuses = new Map<number, number>();

    async function writer(w: number): Promise<void> {
      const next = random(1000 + w);
      const t = w % 2 === 0 ? a : b;
      const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(next() * list.length)];
      const call = async (method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: object): Promise<{ statusCode: number; json: () => unknown }> => {
        const res = await t.request({ method, url, token: admin.accessToken, body });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        // Every answer is one of the expected outcomes; a 5xx would be a bug.
        expect([200, 201, 204, 400, 404, 409], res.body).toContain(res.statusCode);
        return res;
      };
      const someFields = (): Record<string, unknown> => {
        const fields: Record<string, unknown> = {};
        for (const key of ['post', 'pin', 'quote'] as const) if (next() < 0.6) fields[key] = pick(posts);
        if (next() < 0.5) fields['also'] = [pick(posts), pick(posts)].filter(Boolean);
        if (next() < 0.5) fields['who'] = pick(users)?.id;
        return fields;
      };
      for (let i = 0; i < OPERATIONS; i++) {
        const roll = next();
        if (roll < 0.35) {
          const res = await call('POST', '/api/collections/notes/records', someFields());
          if (res.statusCode === 201) notes.push((res.json() as { id: string }).id);
        } else if (roll < 0.55) {
          const id = pick(notes);
          if (id) await call('PATCH', `/api/collections/notes/records/${id}`, someFields());
        } else if (roll < 0.65) {
          const id = pick(notes);
          if (id) await call('DELETE', `/api/collections/notes/records/${id}`);
        } else if (roll < 0.7) {
          const user = pick(users);
          if (user) await call('DELETE', `/api/users/${user.username}`);
        } else if (roll < 0.8) {
          const res = await call('POST', '/api/collections/posts/records', { n: i });
          if (res.statusCode === 201) posts.push((res.json() as { id: string }).id);
        } else {
          const id = pick(posts);
          if (id) await call('DELETE', `/api/collections/posts/records/${id}`);
        }
      }
    }
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

    // The run did exercise every outcome: deletes that went through, restricts and refused references.
    expect(statuses.get(204) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(409) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);

    const all = async (name: string): Promise<Record<string, unknown>[]> => {
      const items: Record<string, unknown>[] = [];
      let after = '';
      for (;;) {
        const res = await a.request({ method: 'GET', url: `/api/collections/${name}/records?limit=200${after ? `&after=${after}` : ''}`, token: admin.accessToken });
        const page = res.json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
        items.push(...page.items);
        if (!page.nextCursor) return items;
        after = page.nextCursor;
      }
    };
    const livePosts = new Set((await all('posts')).map((p) => p['id'] as string));
    const liveUsers = new Set<string>();
    for (const user of users) if ((await a.request({ method: 'GET', url: `/api/users/${user.username}`, token: admin.accessToken })).statusCode === 200) liveUsers.add(user.id);
    expect(liveUsers.size).toBeLessThan(users.length);
    const liveNotes = await all('notes');
    expect(liveNotes.length).toBeGreaterThan(0);
    const expected: RecordRef[] = [];
    for (const note of liveNotes) {
      for (const field of ['post', 'pin', 'quote'] as const) {
        const value = note[field] as string | undefined;
        if (value === undefined) continue;
        expect(livePosts.has(value), `${note['id'] as string}.${field} → ${value}`).toBe(true);
        expected.push({ source: 'notes', sourceId: note['id'] as string, field, target: 'posts', targetId: value });
      }
      const who = note['who'] as string | undefined;
      if (who !== undefined) {
        expect(liveUsers.has(who), `${note['id'] as string}.who → ${who}`).toBe(true);
        expected.push({ source: 'notes', sourceId: note['id'] as string, field: 'who', target: '@users', targetId: who });
      }
      for (const value of new Set((note['also'] as string[] | undefined) ?? [])) {
        expect(livePosts.has(value), `${note['id'] as string}.also → ${value}`).toBe(true);
        expected.push({ source: 'notes', sourceId: note['id'] as string, field: 'also', target: 'posts', targetId: value });
      }
    }
    const stored: RecordRef[] = [];
    // Every post ever made, deleted ones too: no row may point at a deleted post.
    for (const post of new Set(posts)) stored.push(...(await a.sigil.store.relations.findReferrers('posts', post, 10_000)));
    for (const user of users) stored.push(...(await a.sigil.store.relations.findReferrers('@users', user.id, 10_000)));
    const key = (r: RecordRef): string => `${r.sourceId} ${r.field} ${r.targetId}`;
    expect(stored.map(key).sort()).toEqual(expected.map(key).sort());
  }, 120_000);
});
