/**
 * SPEC §4.6, relations: declared with `x-relation`, checked on every write
 * path inside the write's transaction (a reference must name a record the
 * writer may see), and what deleting a referenced record does — restrict
 * (409 naming the referencing records), cascade and setNull, each logged in
 * the delete's transaction so realtime sees it. Users as targets; schema
 * changes that add or drop relations; collections that others reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type Message, type TestSocket } from '../helpers/ws-client.js';

type Body = Record<string, unknown>;
interface ErrorBody { error: { code: string; message: string; details?: { path: string; message: string; index?: number }[] } }

const relation = (collection: string, onDelete?: string, many = false): Body => {
  const keyword = { collection, ...(onDelete ? { onDelete } : {}) };
  return many ? { type: 'array', items: { type: 'string' }, 'x-relation': keyword } : { type: 'string', 'x-relation': keyword };
};

describe.each(STORES)('relations on $name', (backend) => {
  const skip = backend.skipReason !== null;
  let t: TestSigil;
  let admin: Account;
  let alice: Account;
  let bob: Account;
  const sockets: TestSocket[] = [];

  async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = admin.accessToken) {
    return t.request({ method, url, token, body });
  }
  async function collection(name: string, properties: Body, extra: Body = {}): Promise<void> {
    const res = await call('POST', '/api/collections', { name, schema: { type: 'object', properties, ...(extra['required'] ? { required: extra['required'] } : {}) }, rules: extra['rules'] ?? { list: 'authenticated', view: 'authenticated', create: 'authenticated', update: 'authenticated', delete: 'authenticated' } });
    expect(res.statusCode, res.body).toBe(201);
  }
  async function create(name: string, body: Body, token = admin.accessToken): Promise<Body & { id: string; version: number }> {
    const res = await call('POST', `/api/collections/${name}/records`, body, token);
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }
  async function get(name: string, id: string): Promise<(Body & { version: number }) | null> {
    const res = await call('GET', `/api/collections/${name}/records/${id}`);
    if (res.statusCode === 404) return null;
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }
  async function subscribe(name: string): Promise<TestSocket> {
    const s = await openSocket(wsUrl(t.url!));
    sockets.push(s);
    s.send({ type: 'auth', token: admin.accessToken });
    await s.next((m) => m.type === 'authed');
    // From the seq of a read made now: changes committed before it are not delivered, however late the feed is.
    const { seq } = (await call('GET', `/api/collections/${name}/records?limit=1`)).json<{ seq: number }>();
    s.send({ type: 'subscribe', id: name, collection: name, since: seq });
    await s.next((m) => m.type === 'subscribed');
    return s;
  }
  async function transaction(s: TestSocket): Promise<Message[]> {
    const events: Message[] = [];
    for (;;) {
      const m = await s.next((x) => x.type === 'change');
      events.push(m);
      if (m['txEnd'] === true) return events;
    }
  }

  beforeAll(async () => {
    if (skip) return;
    t = await startTestSigilOn(backend.name, { listen: true });
    admin = await createAdmin(t);
    alice = await register(t, 'rel_alice');
    bob = await register(t, 'rel_bob');
    // posts: alice's drafts are hers alone.
    await collection('posts', { title: { type: 'string' }, draft: { type: 'boolean' } }, { rules: { list: 'authenticated', view: { $or: [{ draft: { $ne: true } }, { owner: '@auth.id' }] }, create: 'authenticated', update: 'owner', delete: 'authenticated' } });
    await collection('tags', { name: { type: 'string' } });
    await collection('comments', {
      text: { type: 'string' },
      post: relation('posts', 'cascade'),
      pinned: relation('posts', 'setNull'),
      tags: { ...relation('tags', 'setNull', true), minItems: 0 },
      author: relation('users', 'setNull'),
      parent: relation('comments', 'cascade'),
    });
    await collection('quotes', { post: relation('posts') }); // restrict by default
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  it.skipIf(skip)('refuses relations that cannot hold: nested, wrong type, unknown target, bad onDelete, a required setNull, a field named expand', async () => {
    const cases: [Body, Body, string][] = [
      [{ o: { type: 'object', properties: { p: relation('posts') } } }, {}, '/schema/properties/o/properties/p/x-relation'],
      [{ p: { type: 'integer', 'x-relation': { collection: 'posts' } } }, {}, '/schema/properties/p/x-relation'],
      [{ p: { type: 'array', items: { type: 'integer' }, 'x-relation': { collection: 'posts' } } }, {}, '/schema/properties/p/x-relation'],
      [{ p: relation('nowhere') }, {}, '/schema/properties/p/x-relation/collection'],
      [{ p: relation('posts', 'explode') }, {}, '/schema/properties/p/x-relation'],
      [{ p: { type: 'string', 'x-relation': { collection: 'posts', extra: 1 } } }, {}, '/schema/properties/p/x-relation'],
      [{ p: relation('posts', 'setNull') }, { required: ['p'] }, '/schema/properties/p/x-relation/onDelete'],
      [{ expand: { type: 'string' } }, {}, '/schema/properties/expand'],
    ];
    for (const [properties, extra, path] of cases) {
      const res = await call('POST', '/api/collections', { name: 'bad_rel', schema: { type: 'object', properties, ...extra } });
      expectError(res, 400, 'validation_failed');
      const details = res.json<ErrorBody>().error.details ?? [];
      expect(details.some((d) => d.path.startsWith(path)), `${JSON.stringify(properties)}: ${res.body}`).toBe(true);
    }
    expectError(await call('GET', '/api/collections/bad_rel'), 404, 'not_found');
  });

  it.skipIf(skip)('refuses a write whose reference names no record, on POST, PATCH, PUT and in a batch, changing nothing', async () => {
    const post = await create('posts', { title: 'p' });
    const missing = await call('POST', '/api/collections/comments/records', { text: 'x', post: 'nope' });
    expectError(missing, 400, 'validation_failed');
    expect(missing.json<ErrorBody>().error.details).toEqual([{ path: '/post', message: 'must name an existing record of "posts"' }]);

    const tag = await create('tags', { name: 't' });
    const inArray = await call('POST', '/api/collections/comments/records', { text: 'x', tags: [tag.id, 'gone'] });
    expectError(inArray, 400, 'validation_failed');
    expect(inArray.json<ErrorBody>().error.details![0]!.path).toBe('/tags/1');
    expectError(await call('POST', '/api/collections/comments/records', { text: 'x', author: 'no-such-user' }), 400, 'validation_failed');
    expectError(await call('POST', '/api/collections/comments/records', { text: 'x', tags: Array.from({ length: 1001 }, (_, i) => `t${i}`) }), 400, 'validation_failed');

    const comment = await create('comments', { text: 'ok', post: post.id, tags: [tag.id, tag.id], author: alice.id });
    expectError(await call('PATCH', `/api/collections/comments/records/${comment.id}`, { post: 'nope' }), 400, 'validation_failed');
    expectError(await call('PUT', `/api/collections/comments/records/${comment.id}`, { text: 'ok', post: 'nope' }), 400, 'validation_failed');
    const batch = await call('POST', '/api/batch', { operations: [
      { op: 'create', collection: 'tags', record: { id: 'fresh_tag', name: 'n' } },
      { op: 'update', collection: 'comments', id: comment.id, patch: { tags: ['fresh_tag'] } },
      { op: 'create', collection: 'comments', record: { text: 'y', post: 'nope' } },
    ] });
    expectError(batch, 400, 'validation_failed');
    expect(batch.json<ErrorBody>().error.details![0]!.index).toBe(2);
    expect(await get('tags', 'fresh_tag')).toBeNull();
    expect(await get('comments', comment.id)).toMatchObject({ version: 1, post: post.id, tags: [tag.id, tag.id] });

    // Within one batch, a later operation sees an earlier one's record.
    const ok = await call('POST', '/api/batch', { operations: [
      { op: 'create', collection: 'posts', record: { id: 'batch_post', title: 'b' } },
      { op: 'create', collection: 'comments', record: { text: 'z', post: 'batch_post', parent: comment.id } },
    ] });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it.skipIf(skip)('treats a record the writer may not view as one that does not exist', async () => {
    const draft = await create('posts', { title: 'secret', draft: true }, alice.accessToken);
    const asBob = await call('POST', '/api/collections/comments/records', { text: 'x', post: draft.id }, bob.accessToken);
    const asBobMissing = await call('POST', '/api/collections/comments/records', { text: 'x', post: 'does-not-exist' }, bob.accessToken);
    expectError(asBob, 400, 'validation_failed');
    expect(asBob.json<ErrorBody>().error).toEqual(asBobMissing.json<ErrorBody>().error);
    await create('comments', { text: 'mine', post: draft.id }, alice.accessToken);
  });

  it.skipIf(skip)('restrict: deleting a referenced record is 409 naming the referencing records, and changes nothing', async () => {
    const post = await create('posts', { title: 'quoted' });
    const quote = await create('quotes', { post: post.id });
    const res = await call('DELETE', `/api/collections/posts/records/${post.id}`);
    expectError(res, 409, 'conflict');
    expect(res.json<ErrorBody>().error.message).toContain(`quotes/${quote.id}`);
    expect(res.json<ErrorBody>().error.details).toEqual([{ path: `/quotes/${quote.id}/post`, message: 'references this record (onDelete: restrict)' }]);
    expect(await get('posts', post.id)).not.toBeNull();
    // Bob sees the quote (authenticated rule) too; once it points elsewhere, the delete goes through.
    const other = await create('posts', { title: 'other' });
    expect((await call('PATCH', `/api/collections/quotes/records/${quote.id}`, { post: other.id })).statusCode).toBe(200);
    expect((await call('DELETE', `/api/collections/posts/records/${post.id}`)).statusCode).toBe(204);
  });

  it.skipIf(skip)('restrict names only the referencing records the caller may see', async () => {
    await collection('secret_notes', { post: relation('posts') }, { rules: { list: 'admin', view: 'admin', create: 'admin', update: 'admin', delete: 'admin' } });
    const post = await create('posts', { title: 'noted' }, bob.accessToken);
    await create('secret_notes', { post: post.id });
    const res = await call('DELETE', `/api/collections/posts/records/${post.id}`, undefined, bob.accessToken);
    expectError(res, 409, 'conflict');
    expect(res.body).not.toContain('secret_notes');
    expect(res.json<ErrorBody>().error.message).toContain('1 record you cannot see');
  });

  it.skipIf(skip)('cascade deletes the referencing records (and theirs), logged in the same transaction', async () => {
    const post = await create('posts', { title: 'doomed' });
    const c1 = await create('comments', { text: 'a', post: post.id });
    const reply = await create('comments', { text: 'b', parent: c1.id });
    const keep = await create('comments', { text: 'c' });
    const socket = await subscribe('comments');
    expect((await call('DELETE', `/api/collections/posts/records/${post.id}`)).statusCode).toBe(204);
    const events = await transaction(socket);
    expect(events.map((e) => [e['op'], (e['record'] as Body)['id']])).toEqual([['delete', c1.id], ['delete', reply.id]]);
    expect(await get('comments', c1.id)).toBeNull();
    expect(await get('comments', reply.id)).toBeNull();
    expect(await get('comments', keep.id)).not.toBeNull();
  });

  it.skipIf(skip)('setNull removes the field or takes the id out of the array, as an update in the same transaction', async () => {
    const post = await create('posts', { title: 'pin' });
    const tagA = await create('tags', { name: 'a' });
    const tagB = await create('tags', { name: 'b' });
    const comment = await create('comments', { text: 'pinned', pinned: post.id, tags: [tagA.id, tagB.id] });
    const socket = await subscribe('comments');
    expect((await call('DELETE', `/api/collections/posts/records/${post.id}`)).statusCode).toBe(204);
    const [event] = await transaction(socket);
    expect(event).toMatchObject({ op: 'update', record: { id: comment.id, version: 2 } });
    expect(event!['record']).not.toHaveProperty('pinned');
    expect((await call('DELETE', `/api/collections/tags/records/${tagA.id}`)).statusCode).toBe(204);
    expect(await get('comments', comment.id)).toMatchObject({ version: 3, tags: [tagB.id] });
  });

  it.skipIf(skip)('setNull that would leave a record invalid refuses the delete', async () => {
    await collection('badges', { name: { type: 'string' } });
    await collection('holders', { badges: { ...relation('badges', 'setNull', true), minItems: 1 } });
    const badge = await create('badges', { name: 'only' });
    const holder = await create('holders', { badges: [badge.id] });
    const res = await call('DELETE', `/api/collections/badges/records/${badge.id}`);
    expectError(res, 409, 'conflict');
    expect(res.json<ErrorBody>().error.message).toContain(holder.id);
    expect(await get('badges', badge.id)).not.toBeNull();
    expect(await get('holders', holder.id)).toMatchObject({ version: 1, badges: [badge.id] });
  });

  it.skipIf(skip)('users as targets: a missing user is refused; deleting a user applies onDelete', async () => {
    const carol = await register(t, 'rel_carol');
    const dave = await register(t, 'rel_dave');
    await collection('assignments', { who: relation('users', 'cascade'), reviewer: relation('users') });
    const mine = await create('comments', { text: 'by carol', author: carol.id });
    const job = await create('assignments', { who: carol.id });
    const reviewed = await create('assignments', { reviewer: dave.id });
    const socket = await subscribe('comments');

    expect((await call('DELETE', `/api/users/${carol.username}`)).statusCode).toBe(204);
    const [event] = await transaction(socket);
    expect(event).toMatchObject({ op: 'update', record: { id: mine.id, version: 2 } });
    expect(event!['record']).not.toHaveProperty('author');
    expect(await get('assignments', job.id)).toBeNull();

    const refused = await call('DELETE', `/api/users/${dave.username}`);
    expectError(refused, 409, 'conflict');
    expect(refused.json<ErrorBody>().error.message).toContain(`assignments/${reviewed.id}`);
    expect((await call('GET', `/api/users/${dave.username}`)).statusCode).toBe(200);
  });

  it.skipIf(skip)('a user deleted while a write referencing them commits: the reference is seen and set null, never left dangling', async () => {
    const erin = await register(t, 'rel_erin');
    const { store } = t.sigil;
    const comments = await t.sigil.catalog.get('comments');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const now = new Date().toISOString();
    // A record write, as the record service does it, held open after locking the user and writing the reference.
    const writer = store.transaction(async (tx) => {
      expect([...(await tx.relations.lockTargets('@users', [erin.id]))]).toEqual([erin.id]);
      await tx.records.insertRecord('comments', { id: 'held_comment', owner: null, version: 1, createdAt: now, updatedAt: now, data: { text: 'held', author: erin.id } });
      await tx.relations.replaceRefs('comments', 'held_comment', [{ source: 'comments', sourceId: 'held_comment', field: 'author', target: '@users', targetId: erin.id }]);
      await tx.changes.appendChange({ collection: 'comments', collectionId: comments.id, recordId: 'held_comment', op: 'create', record: { id: 'held_comment', owner: null, version: 1, createdAt: now, updatedAt: now, data: { text: 'held', author: erin.id } }, previous: null, createdAt: now, txEnd: true });
      locked();
      await gate;
    }, { isolation: 'read committed' });
    await holding;
    const deletion = call('DELETE', `/api/users/${erin.username}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await writer;
    expect((await deletion).statusCode).toBe(204);
    const comment = await get('comments', 'held_comment');
    expect(comment).toMatchObject({ text: 'held', version: 2 });
    expect(comment).not.toHaveProperty('author');
    expect(await store.relations.findReferrers('@users', erin.id, 10)).toEqual([]);
  });

  it.skipIf(skip)('a schema change that adds a relation checks existing values and indexes them; dropping it frees the targets', async () => {
    await collection('links', { post: { type: 'string' } });
    const post = await create('posts', { title: 'linked' });
    const good = await create('links', { post: post.id });
    const bad = await create('links', { post: 'dangling' });
    const withRelation = { type: 'object', properties: { post: relation('posts') } };
    const conflict = await call('PUT', '/api/collections/links', { schema: withRelation });
    expectError(conflict, 409, 'schema_conflict');
    expect(conflict.body).toContain(bad.id);
    expect(conflict.body).not.toContain(good.id);
    expect((await call('DELETE', `/api/collections/links/records/${bad.id}`)).statusCode).toBe(204);
    expect((await call('PUT', '/api/collections/links', { schema: withRelation })).statusCode).toBe(200);
    // Indexed now: the existing record restricts deleting its post.
    expectError(await call('DELETE', `/api/collections/posts/records/${post.id}`), 409, 'conflict');
    expect((await call('PUT', '/api/collections/links', { schema: { type: 'object', properties: { post: { type: 'string' } } } })).statusCode).toBe(200);
    expect((await call('DELETE', `/api/collections/posts/records/${post.id}`)).statusCode).toBe(204);
  });

  it.skipIf(skip)('a collection that others reference cannot be deleted; a deleted collection references nothing', async () => {
    await collection('shelves', { name: { type: 'string' } });
    await collection('books', { shelf: relation('shelves') });
    const shelf = await create('shelves', { name: 's' });
    await create('books', { shelf: shelf.id });
    const res = await call('DELETE', '/api/collections/shelves');
    expectError(res, 409, 'conflict');
    expect(res.json<ErrorBody>().error.message).toContain('books');
    expect((await call('DELETE', '/api/collections/books')).statusCode).toBe(204);
    expect((await call('DELETE', `/api/collections/shelves/records/${shelf.id}`)).statusCode).toBe(204);
    expect((await call('DELETE', '/api/collections/shelves')).statusCode).toBe(204);
  });
});
