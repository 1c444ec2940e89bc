import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';
import { createAdmin, register, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type Message, type TestSocket } from '../helpers/ws-client.js';

const SCHEMA = {
  type: 'object',
  required: ['title'],
  properties: { title: { type: 'string' }, done: { type: 'boolean' }, n: { type: 'integer' } },
};

describe.each(STORES)('realtime on $name', (backend) => {
  let t: TestSigil;
  let url: string;
  let admin: Account;
  let alice: Account;
  let bob: Account;
  let disposeDb: () => Promise<void> = async () => undefined;
  const sockets: TestSocket[] = [];

  async function socket(token?: string): Promise<TestSocket> {
    const s = await openSocket(wsUrl(url));
    sockets.push(s);
    if (token) {
      s.send({ type: 'auth', token });
      await s.next((m) => m.type === 'authed');
    }
    return s;
  }

  async function subscribe(s: TestSocket, id: string, collection: string, extra: Record<string, unknown> = {}): Promise<Message> {
    s.send({ type: 'subscribe', id, collection, ...extra });
    return s.next((m) => (m.type === 'subscribed' || m.type === 'error' || m.type === 'resync') && m['id'] === id);
  }

  async function create(collection: string, body: object, token: string): Promise<Record<string, unknown>> {
    const res = await t.request({ method: 'POST', url: `/api/collections/${collection}/records`, token, body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  const changesOf = (s: TestSocket, sub: string) => (m: Message) => m.type === 'change' && m['sub'] === sub;

  beforeAll(async () => {
    if (backend.skipReason) return;
    const db = await createTestDatabaseUrl(backend.name);
    disposeDb = db.dispose;
    t = await startTestSigil({ databaseUrl: db.url, listen: true });
    url = t.url!;
    admin = await createAdmin(t);
    alice = await register(t, 'rt_alice');
    bob = await register(t, 'rt_bob');
    for (const [name, rules] of [
      ['tasks', {}],
      ['diary', { list: 'owner', view: 'owner' }],
      ['board', { list: 'public', view: 'public', create: 'public' }],
      ['vault', { list: 'admin', view: 'admin', create: 'admin' }],
    ] as const) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: SCHEMA, rules } });
      expect(res.statusCode, res.body).toBe(201);
    }
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
    await disposeDb();
  });

  describe.skipIf(backend.skipReason !== null)('protocol', () => {
    it('streams create, update, leave and delete in seq order, filtered', async () => {
      const s = await socket(alice.accessToken);
      const ack = await subscribe(s, 'open', 'tasks', { filter: { done: false } });
      expect(ack).toMatchObject({ type: 'subscribed', id: 'open' });
      expect(typeof ack['seq']).toBe('number');
      const record = await create('tasks', { title: 'a', done: false }, alice.accessToken);
      const path = `/api/collections/tasks/records/${record['id'] as string}`;
      await t.request({ method: 'PATCH', url: path, token: alice.accessToken, body: { title: 'b' } });
      await t.request({ method: 'PATCH', url: path, token: alice.accessToken, body: { done: true } }); // leaves the filter
      await t.request({ method: 'PATCH', url: path, token: alice.accessToken, body: { title: 'c' } }); // still outside: nothing
      await t.request({ method: 'PATCH', url: path, token: alice.accessToken, body: { done: false } }); // back in: an update with the full record
      await t.request({ method: 'DELETE', url: path, token: alice.accessToken });
      const events = await s.collect(changesOf(s, 'open'), 5);
      expect(events.map((e) => e['op'])).toEqual(['create', 'update', 'leave', 'update', 'delete']);
      expect(events.map((e) => (e['record'] as { title: string }).title)).toEqual(['a', 'b', 'b', 'c', 'c']);
      const seqs = events.map((e) => e['seq'] as number);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(events[0]).toMatchObject({ collection: 'tasks', record: { id: record['id'], owner: alice.id, version: 1 } });
    });

    it('without auth only public collections can be subscribed', async () => {
      const s = await socket();
      // A collection an anonymous caller may not read is answered like a missing one (SPEC §4.5).
      expect(await subscribe(s, 'x', 'tasks')).toEqual({ type: 'error', id: 'x', code: 'not_found', message: 'No collection "tasks".' });
      expect(await subscribe(s, 'b', 'board')).toMatchObject({ type: 'subscribed' });
      await t.request({ method: 'POST', url: '/api/collections/board/records', body: { title: 'hello' } });
      expect((await s.next(changesOf(s, 'b')))['op']).toBe('create');
      expect(await subscribe(s, 'nope', 'missing')).toMatchObject({ type: 'error', code: 'not_found' });
    });

    it('authorizes every event for its subscriber: owner rules hide others records', async () => {
      const bobSocket = await socket(bob.accessToken);
      await subscribe(bobSocket, 'd', 'diary');
      await create('diary', { title: 'alice private' }, alice.accessToken);
      await create('diary', { title: 'bob private' }, bob.accessToken);
      const [event] = await bobSocket.collect(changesOf(bobSocket, 'd'), 1);
      expect((event!['record'] as { title: string }).title).toBe('bob private');
      await create('diary', { title: 'bob again' }, bob.accessToken);
      const events = await bobSocket.collect(changesOf(bobSocket, 'd'), 2);
      expect(events.every((e) => (e['record'] as { owner: string }).owner === bob.id)).toBe(true);
    });

    it('since replays what was missed, then continues live with no gap and no duplicate', async () => {
      const { seq } = (await t.request({ method: 'GET', url: '/api/collections/tasks/records?limit=1', token: alice.accessToken })).json<{ seq: number }>();
      for (let i = 0; i < 30; i++) await create('tasks', { title: `missed ${i}`, n: i }, alice.accessToken);
      const s = await socket(alice.accessToken);
      const writes = (async () => {
        for (let i = 30; i < 60; i++) await create('tasks', { title: `live ${i}`, n: i }, alice.accessToken);
      })();
      await subscribe(s, 'r', 'tasks', { since: seq, filter: { n: { $exists: true } } });
      await writes;
      const events = await s.collect(changesOf(s, 'r'), 60);
      const ns = events.map((e) => (e['record'] as { n: number }).n);
      expect(ns).toEqual(Array.from({ length: 60 }, (_, i) => i));
      const seqs = events.map((e) => e['seq'] as number);
      expect(new Set(seqs).size).toBe(60);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      await new Promise((r) => setTimeout(r, 100));
      expect(s.messages.filter(changesOf(s, 'r'))).toHaveLength(60);
    });

    it('a since the log no longer holds gets resync', async () => {
      await create('tasks', { title: 'x' }, alice.accessToken);
      const latest = await t.sigil.store.changes.latestSeq();
      await t.sigil.store.changes.pruneChanges(new Date(Date.now() + 60_000).toISOString());
      await create('tasks', { title: 'after prune' }, alice.accessToken);
      const s = await socket(alice.accessToken);
      expect(await subscribe(s, 'old', 'tasks', { since: 0 })).toMatchObject({ type: 'resync', id: 'old' });
      expect(await subscribe(s, 'future', 'tasks', { since: latest + 1000 })).toMatchObject({ type: 'resync', id: 'future' });
      expect(await subscribe(s, 'ok', 'tasks', { since: latest })).toMatchObject({ type: 'subscribed' });
      expect((await s.next(changesOf(s, 'ok')))['record']).toMatchObject({ title: 'after prune' });
    });

    it('unsubscribe stops delivery', async () => {
      const s = await socket(alice.accessToken);
      await subscribe(s, 'u', 'tasks');
      s.send({ type: 'unsubscribe', id: 'u' });
      await s.next((m) => m.type === 'unsubscribed');
      await create('tasks', { title: 'unseen' }, alice.accessToken);
      await new Promise((r) => setTimeout(r, 150));
      expect(s.messages.filter(changesOf(s, 'u'))).toHaveLength(0);
    });
  });

  describe.skipIf(backend.skipReason !== null)('identity on open sockets', () => {
    it('disabling a user closes their sockets with 4003', async () => {
      const victim = await register(t);
      const s = await socket(victim.accessToken);
      await subscribe(s, 't', 'tasks');
      await t.request({ method: 'PATCH', url: `/api/users/${victim.username}`, token: admin.accessToken, body: { disabled: true } });
      expect((await s.closed).code).toBe(4003);
    });

    it('deleting a user closes their sockets with 4003', async () => {
      const victim = await register(t);
      const s = await socket(victim.accessToken);
      await t.request({ method: 'DELETE', url: `/api/users/${victim.username}`, token: admin.accessToken });
      expect((await s.closed).code).toBe(4003);
    });

    it('a role change applies at once: a demoted admin stops receiving admin-only records', async () => {
      const second = await createAdmin(t);
      const s = await socket(second.accessToken);
      await subscribe(s, 'v', 'vault');
      await create('vault', { title: 'before' }, admin.accessToken);
      await s.next(changesOf(s, 'v'));
      await t.request({ method: 'PATCH', url: `/api/users/${second.username}`, token: admin.accessToken, body: { role: 'user' } });
      await new Promise((r) => setTimeout(r, 100));
      await create('vault', { title: 'after' }, admin.accessToken);
      await new Promise((r) => setTimeout(r, 200));
      expect(s.messages.filter(changesOf(s, 'v')).map((m) => (m['record'] as { title: string }).title)).toEqual(['before']);
    });

    it('revoking the session (logout) closes its sockets with 4003', async () => {
      const leaver = await register(t);
      const s = await socket(leaver.accessToken);
      await t.request({ method: 'POST', url: '/api/auth/logout', body: { refreshToken: leaver.refreshToken } });
      expect((await s.closed).code).toBe(4003);
    });

    it('an invalid token closes with 4001', async () => {
      const s = await socket();
      s.send({ type: 'auth', token: 'garbage' });
      expect((await s.closed).code).toBe(4001);
    });
  });

  describe.skipIf(backend.skipReason !== null)('hostile clients', () => {
    it('malformed JSON and bad messages get errors; the connection survives', async () => {
      const s = await socket(alice.accessToken);
      s.send('{not json');
      expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: 'bad_request' });
      s.send({ type: 'launch' });
      expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: 'bad_request' });
      s.send([1, 2]);
      expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: 'bad_request' });
      expect(await subscribe(s, 'f', 'tasks', { filter: { $where: 'x' } })).toMatchObject({ type: 'error', code: 'invalid_filter' });
      expect(await subscribe(s, 'g', 'tasks', { since: -1 })).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(await subscribe(s, 'ok', 'tasks')).toMatchObject({ type: 'subscribed' });
      expect(await subscribe(s, 'ok', 'tasks')).toMatchObject({ type: 'error', code: 'conflict' });
    });

    it('at most 100 subscriptions per connection', async () => {
      const s = await socket(alice.accessToken);
      for (let i = 0; i < 100; i++) s.send({ type: 'subscribe', id: `s${i}`, collection: 'tasks' });
      await s.collect((m) => m.type === 'subscribed', 100);
      expect(await subscribe(s, 's100', 'tasks')).toMatchObject({ type: 'error', code: 'bad_request' });
    });

    it('a message over 64 KiB closes the connection (1009); the server carries on', async () => {
      const s = await socket(alice.accessToken);
      s.send({ type: 'subscribe', id: 'big', collection: 'tasks', filter: { title: 'x'.repeat(70 * 1024) } });
      expect((await s.closed).code).toBe(1009);
      expect((await t.request({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
    });
  });
});
