/**
 * `expand` on GET, lists and subscribe (SPEC §4.6), on every backend: one
 * SQL statement per relation path per page however many records (counted
 * as the database runs them), shared by every subscriber of an event; the
 * parser's limits and errors; ETags that never vouch for a stale expansion;
 * and answers and events that stay bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollection, createRecord, relation, relations, type RecordOut } from '../helpers/relations.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigilOn, uniqueName, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type TestSocket } from '../helpers/ws-client.js';

/** What expansions and lists read: records tables, record_refs and user names (not sessions, collections or the change log). */
const READS = /^\s*(SELECT|WITH)\b[\s\S]*("c_\w+"|record_refs|FROM users WHERE id (IN|= ANY))/;
/** The expansion read of posts by id (readRecords), not the write path's existence checks. */
const POSTS_BY_ID = /SELECT id, owner, version, created_at, updated_at, data[\s\S]*FROM "c_posts" WHERE id (IN|= ANY)/;
const BIG = 'x'.repeat(300_000);

describe.each(STORES)('expand API on $name', (backend) => {
  const skip = backend.skipReason !== null;
  let t: TestSigil;
  let admin: Account;
  let ann: Account;
  let counting = false;
  const statements: string[] = [];
  const posts: RecordOut[] = [];
  const comments: RecordOut[] = [];

  beforeAll(async () => {
    if (skip) return;
    // No read cache, so every read reaches the database and is counted; pages of at most 1 MiB.
    t = await startTestSigilOn(backend.name, {
      listen: true,
      env: { READ_CACHE_MB: '0', LIST_PAGE_MB: '1' },
      onStatement: (sql) => {
        if (counting) statements.push(sql);
      },
    });
    admin = await createAdmin(t);
    ann = await register(t, uniqueName('ann'));
    const open = { list: 'public', view: 'public', create: 'authenticated' };
    await createCollection(t, admin.accessToken, { name: 'posts', schema: { type: 'object', properties: { title: { type: 'string' }, body: { type: 'string' }, author: relation('users') } }, rules: open });
    await createCollection(t, admin.accessToken, {
      name: 'comments',
      schema: { type: 'object', properties: { text: { type: 'string' }, post: relation('posts'), author: relation('users'), tags: relations('posts') } },
      rules: open,
    });
    for (let i = 0; i < 3; i++) posts.push(await createRecord(t, ann.accessToken, 'posts', { title: `post ${i}`, author: ann.id }));
    for (let i = 0; i < 30; i++) comments.push(await createRecord(t, ann.accessToken, 'comments', { text: `comment ${i}`, post: posts[i % 3]!.id, author: ann.id }));
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  async function count(url: string): Promise<{ reads: number; body: RecordOut }> {
    statements.length = 0;
    counting = true;
    const res = await t.request({ method: 'GET', url });
    counting = false;
    expect(res.statusCode, res.body).toBe(200);
    return { reads: statements.filter((s) => READS.test(s)).length, body: res.json<RecordOut>() };
  }

  it.skipIf(skip)('one statement per relation path per page, whatever the page size (no N+1)', async () => {
    for (const limit of [5, 30]) {
      const plain = await count(`/api/collections/comments/records?limit=${limit}`);
      expect(plain.reads).toBe(1);
      const expanded = await count(`/api/collections/comments/records?limit=${limit}&expand=post,post.author,author`);
      // The page, then posts, their authors and the comments' authors: one each.
      expect(expanded.reads, `limit ${limit}`).toBe(4);
      const items = expanded.body['items'] as unknown as RecordOut[];
      expect(items).toHaveLength(limit);
      for (const item of items) {
        expect((item.expand!['post'] as RecordOut).id).toBe(item['post']);
        expect((item.expand!['post'] as RecordOut).expand).toEqual({ author: { id: ann.id, username: ann.username } });
      }
    }
    const back = await count('/api/collections/posts/records?expand=comments_via_post,comments_via_post.author');
    expect(back.reads).toBe(3);
    for (const post of back.body['items'] as unknown as RecordOut[]) expect(post.expand!['comments_via_post']).toHaveLength(10);
    const one = await count(`/api/collections/comments/records/${comments[0]!.id}?expand=post,author,tags`);
    expect(one.reads).toBe(3); // the record, posts, users; an absent array relation reads nothing
    expect(one.body.expand).toEqual({ post: expect.objectContaining({ id: posts[0]!.id }) as unknown, author: { id: ann.id, username: ann.username }, tags: [] });
  });

  it.skipIf(skip)('limits and errors: depth, number of paths, length, unknown relations, users; no expand member unless asked', async () => {
    const at = (expand: string): string => `/api/collections/comments/records/${comments[0]!.id}?expand=${encodeURIComponent(expand)}`;
    const refused = async (expand: string, words: RegExp): Promise<void> => {
      const res = await t.request({ method: 'GET', url: at(expand) });
      expectError(res, 400, 'bad_request');
      expect(res.json<{ error: { message: string; details: { path: string }[] } }>().error).toMatchObject({ message: expect.stringMatching(words) as unknown, details: [{ path: '/expand' }] });
      const listed = await t.request({ method: 'GET', url: `/api/collections/comments/records?expand=${encodeURIComponent(expand)}` });
      expect(listed.body).toBe(res.body);
    };
    await refused('post.comments_via_post.post.author', /more than 3 relations/);
    await refused(['post', 'author', 'tags', 'post.author', 'tags.author', 'post.comments_via_post', 'x1', 'x2', 'x3', 'x4', 'x5'].join(','), /at most 10 paths/);
    await refused(`post,${'a'.repeat(1100)}`, /at most 1024 characters/);
    await refused('nope', /"nope" names no relation/);
    await refused('post.nope', /"post.nope" names no relation/);
    await refused('author.posts_via_author', /users expand to \{id, username\} only/);
    await refused('post,', /empty/);
    const plain = await t.request({ method: 'GET', url: `/api/collections/comments/records/${comments[0]!.id}?expand=` });
    expect(plain.json()).not.toHaveProperty('expand');
    expect(plain.headers['etag']).toBe('"1"');
    const repeated = await count(`/api/collections/comments/records/${comments[0]!.id}?expand=post,post,post`);
    expect(Object.keys(repeated.body.expand!)).toEqual(['post']);
  });

  it.skipIf(skip)('ETag: an expanded GET is tagged by the whole answer, so a 304 never serves a stale expansion', async () => {
    const url = `/api/collections/comments/records/${comments[1]!.id}?expand=post`;
    const first = await t.request({ method: 'GET', url });
    const tag = first.headers['etag'] as string;
    expect(tag).toMatch(/^"1-[A-Za-z0-9_-]+"$/);
    expect((await t.request({ method: 'GET', url, headers: { 'if-none-match': tag } })).statusCode).toBe(304);
    // The version alone is not the expanded answer's tag.
    expect((await t.request({ method: 'GET', url, headers: { 'if-none-match': '"1"' } })).statusCode).toBe(200);
    const post = posts[1]!;
    const renamed = await t.request({ method: 'PATCH', url: `/api/collections/posts/records/${post.id}`, token: ann.accessToken, body: { title: 'renamed' } });
    expect(renamed.statusCode, renamed.body).toBe(200);
    const after = await t.request({ method: 'GET', url, headers: { 'if-none-match': tag } });
    expect(after.statusCode).toBe(200);
    expect(after.headers['etag']).not.toBe(tag);
    expect((after.json<RecordOut>().expand!['post'] as RecordOut)['title']).toBe('renamed');
  });

  it.skipIf(skip)('bounded: expansions count toward the page budget (LIST_PAGE_MB), and past it the answer is a clear 400', async () => {
    const big: RecordOut[] = [];
    for (let i = 0; i < 4; i++) big.push(await createRecord(t, ann.accessToken, 'posts', { title: `big ${i}`, body: BIG }));
    const heavy = await createRecord(t, ann.accessToken, 'comments', { text: 'heavy', tags: big.map((p) => p.id) });
    const light = await createRecord(t, ann.accessToken, 'comments', { text: 'light', tags: [big[0]!.id] });
    const ok = await t.request({ method: 'GET', url: `/api/collections/comments/records/${light.id}?expand=tags` });
    expect(ok.statusCode).toBe(200);
    const res = await t.request({ method: 'GET', url: `/api/collections/comments/records/${heavy.id}?expand=tags` });
    expectError(res, 400, 'bad_request');
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/more than 5000 related records or 1 MiB/);
    const listed = await t.request({ method: 'GET', url: '/api/collections/comments/records?limit=200&expand=tags' });
    expectError(listed, 400, 'bad_request');
  });

  it.skipIf(skip)('realtime: subscribers with the same expand share one read per path; too large an expansion is marked, not sent', async () => {
    const sockets: TestSocket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = await openSocket(wsUrl(t.url!));
        s.send({ type: 'subscribe', id: 's', collection: 'comments', expand: ['post', 'tags'] });
        await s.next((m) => m.type === 'subscribed');
        sockets.push(s);
      }
      const bad = sockets[0]!;
      bad.send({ type: 'subscribe', id: 'b1', collection: 'comments', expand: 'post' });
      bad.send({ type: 'subscribe', id: 'b2', collection: 'comments', expand: ['post.nope'] });
      bad.send({ type: 'subscribe', id: 'b3', collection: 'comments', expand: ['post,author'] });
      for (const id of ['b1', 'b2', 'b3']) expect(await bad.next((m) => m.type === 'error' && m['id'] === id)).toMatchObject({ code: 'bad_request' });

      statements.length = 0;
      counting = true;
      const made = await createRecord(t, ann.accessToken, 'comments', { text: 'live', post: posts[2]!.id, tags: [posts[0]!.id, posts[1]!.id] });
      for (const s of sockets) {
        const event = await s.next((m) => m.type === 'change' && (m['record'] as RecordOut).id === made.id);
        const record = event['record'] as RecordOut;
        expect((record.expand!['post'] as RecordOut).id).toBe(posts[2]!.id);
        expect((record.expand!['tags'] as RecordOut[]).map((p) => p.id)).toEqual([posts[0]!.id, posts[1]!.id]);
      }
      counting = false;
      // Two paths, each read once (both name posts: one statement each) for three subscribers.
      expect(statements.filter((s) => POSTS_BY_ID.test(s))).toHaveLength(2);

      const big: RecordOut[] = [];
      for (let i = 0; i < 4; i++) big.push(await createRecord(t, ann.accessToken, 'posts', { title: `big event ${i}`, body: BIG }));
      const heavy = await createRecord(t, ann.accessToken, 'comments', { text: 'heavy event', tags: big.map((p) => p.id) });
      for (const s of sockets) {
        const event = await s.next((m) => m.type === 'change' && (m['record'] as RecordOut).id === heavy.id);
        expect(event['expandTooLarge']).toBe(true);
        expect(event['record']).not.toHaveProperty('expand');
        expect(event['txEnd']).toBe(true);
      }
    } finally {
      for (const s of sockets) s.close();
    }
  });
});
