/**
 * `expand` through the client against a real Sigil on both engines, typed by
 * what `sigil typegen` emits (types/generated-schema.ts): lists, GET with a
 * back-relation, users as {id, username}, a subscription whose events carry
 * the expansion, and a live query whose new rows arrive expanded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, type ChangeEvent, type SigilClient } from '../src/index.js';
import { STORES } from '../../server/test/helpers/stores.js';
import { createAdmin, startTestSigilOn, type TestSigil } from '../../server/test/helpers/test-sigil.js';
import { FIXTURE_COLLECTIONS } from './types/fixture-collections.js';
import type { SigilSchema } from './types/generated-schema.js';
import { PASSWORD, uniqueUser, waitFor } from './helpers.js';

describe.each(STORES)('expand through the client on $name', (backend) => {
  const skip = backend.skipReason !== null;
  let t: TestSigil;
  let client: SigilClient<SigilSchema>;
  let me: { id: string; username: string };

  beforeAll(async () => {
    if (skip) return;
    t = await startTestSigilOn(backend.name, { listen: true });
    const admin = await createAdmin(t);
    for (const c of FIXTURE_COLLECTIONS) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: c.name, schema: c.schema } });
      expect(res.statusCode, res.body).toBe(201);
    }
    client = createClient<SigilSchema>({ url: t.url!, webSocket: WebSocket });
    const user = await client.auth.register({ username: uniqueUser('exp'), password: PASSWORD });
    me = { id: user.id, username: user.username };
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  it.skipIf(skip)('lists and gets with expand: forward, nested, array, back-relation; users as id and username', async () => {
    const post = await client.collection('posts').create({ title: 'Hello', author: me.id });
    const tag = await client.collection('tags').create({ name: 'news' });
    const first = await client.collection('comments').create({ text: 'one', post: post.id, tags: [tag.id] });
    const second = await client.collection('comments').create({ text: 'two', post: post.id });

    const page = await client.collection('comments').list({ filter: { post: post.id }, sort: 'createdAt', expand: ['post.author', 'tags'] });
    expect(page.items.map((c) => c.text)).toEqual(['one', 'two']);
    expect(page.items[0]!.expand?.post?.title).toBe('Hello');
    expect(page.items[0]!.expand?.post?.expand?.author).toEqual(me);
    expect(page.items[0]!.expand?.tags?.map((x) => x.name)).toEqual(['news']);

    const got = await client.collection('posts').get(post.id, { expand: ['comments_via_post', 'author'] });
    expect(got.expand?.comments_via_post?.map((c) => c.id)).toEqual([second.id, first.id]);
    expect(got.expand?.author).toEqual(me);
    expect(Object.keys(got.expand!.author!).sort()).toEqual(['id', 'username']);
  });

  it.skipIf(skip)('a subscription with expand receives events carrying the expansion; a live query shows new rows expanded', async () => {
    const post = await client.collection('posts').create({ title: 'Live' });
    const events: ChangeEvent<{ id: string; text?: string; expand?: { post?: { title: string } } }>[] = [];
    const sub = client.collection('comments').subscribe({ filter: { post: post.id }, expand: ['post'] }, {
      onChanges: (changes) => events.push(...changes),
      onResync: () => undefined,
      onError: () => undefined,
    });
    const snapshots: { text: string; title: string | undefined }[][] = [];
    const live = client.collection('comments').live({ filter: { post: post.id }, sort: 'createdAt', expand: ['post'] }, ({ items }) => {
      snapshots.push(items.map((c) => ({ text: c.text, title: c.expand?.post?.title })));
    });
    await live.ready;
    await waitFor(() => client.realtime.state === 'live', 'a live socket');
    await client.collection('comments').create({ text: 'new', post: post.id });
    await waitFor(() => events.length > 0 && (snapshots.at(-1)?.length ?? 0) > 0, 'the event and the live row');
    expect(events[0]).toMatchObject({ op: 'create', record: { text: 'new', expand: { post: { title: 'Live' } } } });
    expect(snapshots.at(-1)).toEqual([{ text: 'new', title: 'Live' }]);
    sub.close();
    live.close();
  });
});
