/**
 * A collection's history belongs to that collection: deleting it ends the
 * history (its subscribers are told), a new collection of the same name never
 * replays the old one's changes, and replays are bounded (they read their own
 * collection in batches and wait for the client instead of queueing megabytes).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { createAdmin, startTestSigil, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type Message, type TestSocket } from '../helpers/ws-client.js';

const SCHEMA = { type: 'object', properties: { title: { type: 'string' }, blob: { type: 'string' } } };

describe.each(STORES)('realtime history on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  const sockets: TestSocket[] = [];

  async function socket(token?: string): Promise<TestSocket> {
    const s = await openSocket(wsUrl(t.url!));
    sockets.push(s);
    if (token) {
      s.send({ type: 'auth', token });
      await s.next((m) => m.type === 'authed');
    }
    return s;
  }
  async function subscribe(s: TestSocket, id: string, collection: string, since?: number): Promise<Message> {
    s.send({ type: 'subscribe', id, collection, ...(since === undefined ? {} : { since }) });
    return s.next((m) => (m.type === 'subscribed' || m.type === 'error' || m.type === 'resync') && m['id'] === id);
  }
  async function createCollection(name: string, rules: object): Promise<void> {
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: SCHEMA, rules } });
    expect(res.statusCode, res.body).toBe(201);
  }
  async function create(collection: string, body: object): Promise<string> {
    const res = await t.request({ method: 'POST', url: `/api/collections/${collection}/records`, token: admin.accessToken, body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }
  const changesOf = (sub: string) => (m: Message) => m.type === 'change' && m['sub'] === sub;

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name, { listen: true });
    admin = await createAdmin(t);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  it.skipIf(backend.skipReason !== null)('a collection created again under a deleted one\'s name never replays the old one\'s changes', async () => {
    await createCollection('reborn', { list: 'admin', view: 'admin' });
    await create('reborn', { title: 'classified' });
    await create('reborn', { title: 'also classified' });
    expect((await t.request({ method: 'DELETE', url: '/api/collections/reborn', token: admin.accessToken })).statusCode).toBe(204);
    await createCollection('reborn', { list: 'public', view: 'public', create: 'public' });
    const fresh = await create('reborn', { title: 'public' });

    for (const s of [await socket(), await socket(admin.accessToken)]) {
      expect(await subscribe(s, 'old', 'reborn', 0)).toMatchObject({ type: 'subscribed' });
      const [first] = await s.collect(changesOf('old'), 1);
      expect(first).toMatchObject({ op: 'create', record: { id: fresh, title: 'public' } });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(s.messages.filter(changesOf('old')).map((m) => (m['record'] as { title: string }).title)).toEqual(['public']);
    }
  });

  it.skipIf(backend.skipReason !== null)('subscribers of a deleted collection get not_found for their subscription; others go on', async () => {
    await createCollection('doomed', { list: 'public', view: 'public' });
    await createCollection('survivor', { list: 'public', view: 'public' });
    const s = await socket();
    expect(await subscribe(s, 'd', 'doomed')).toMatchObject({ type: 'subscribed' });
    expect(await subscribe(s, 'd_replay', 'doomed', 0)).toMatchObject({ type: 'subscribed' });
    expect(await subscribe(s, 'k', 'survivor')).toMatchObject({ type: 'subscribed' });
    await create('doomed', { title: 'last words' });
    await s.collect(changesOf('d'), 1);
    expect((await t.request({ method: 'DELETE', url: '/api/collections/doomed', token: admin.accessToken })).statusCode).toBe(204);
    for (const id of ['d', 'd_replay']) {
      expect(await s.next((m) => m.type === 'error' && m['id'] === id)).toEqual({ type: 'error', id, code: 'not_found', message: 'No collection "doomed".' });
    }
    // The subscriptions are gone: their ids are free again, and unsubscribing them is not_found.
    s.send({ type: 'unsubscribe', id: 'd' });
    expect(await s.next((m) => (m.type === 'error' || m.type === 'unsubscribed') && m['id'] === 'd')).toEqual({ type: 'error', id: 'd', code: 'not_found', message: 'No such subscription.' });
    await create('survivor', { title: 'still here' });
    expect((await s.next(changesOf('k')))['record']).toMatchObject({ title: 'still here' });
    expect(s.messages.filter((m) => m.type === 'change' && m['sub'] === 'd')).toHaveLength(1);
  });

  it.skipIf(backend.skipReason !== null)('a replay larger than the send-buffer bound arrives whole (no 4008), in order, without stalling other requests', async () => {
    await createCollection('heavy', { list: 'public', view: 'public' });
    await createCollection('other', { list: 'public', view: 'public' });
    const blob = 'x'.repeat(100_000);
    const ids: string[] = [];
    // ~8 MiB of history, twice the 4 MiB bound at which a client is cut off; interleaved with another collection's changes.
    for (let i = 0; i < 80; i++) {
      ids.push(await create('heavy', { title: `h${i}`, blob }));
      await create('other', { title: `o${i}` });
    }
    const s = await socket();
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    expect(await subscribe(s, 'h', 'heavy', 0)).toMatchObject({ type: 'subscribed' });
    const events = await s.collect(changesOf('h'), ids.length, 20_000);
    delay.disable();
    expect(events.map((e) => (e['record'] as { id: string }).id)).toEqual(ids);
    const seqs = events.map((e) => e['seq'] as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(s.messages.some((m) => m.type === 'change' && m['collection'] === 'other')).toBe(false);
    // Batches yield to other work: no single stall of the event loop comes near the whole replay.
    expect(delay.max / 1e6).toBeLessThan(250);
    const closed = await Promise.race([s.closed, new Promise((resolve) => setTimeout(() => resolve('open'), 50))]);
    expect(closed).toBe('open');
  });
});

describe('replays take turns', () => {
  let t: TestSigil;
  let admin: Account;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestSigil({ listen: true, realtime: { maxConcurrentReplays: 1, replayBatchSize: 20 } });
    admin = await createAdmin(t);
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'pile', schema: SCHEMA, rules: { list: 'public', view: 'public' } } });
    expect(res.statusCode).toBe(201);
    const blob = 'p'.repeat(50_000);
    for (let i = 0; i < 400; i++) {
      expect((await t.request({ method: 'POST', url: '/api/collections/pile/records', token: admin.accessToken, body: { title: `p${i}`, blob } })).statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  it('a replay waiting for a client that does not read holds up no other replay; both arrive whole', async () => {
    const slow = await openSocket(wsUrl(t.url!));
    const other = await openSocket(wsUrl(t.url!));
    sockets.push(slow, other);
    const tcp = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    slow.send({ type: 'subscribe', id: 's', collection: 'pile', since: 0 });
    await slow.next((m) => m.type === 'subscribed');
    // ~20 MB of history: far more than loopback buffers hold, so this replay waits for its client to read.
    tcp.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    other.send({ type: 'subscribe', id: 'o', collection: 'pile', since: 0 });
    // With one replay slot, this arrives only because the stalled replay holds none while it waits.
    const otherEvents = await other.collect((m) => m.type === 'change', 400, 20_000);
    const stalled = slow.messages.filter((m) => m.type === 'change').length;
    expect(stalled).toBeLessThan(400);
    tcp.resume();
    const slowEvents = await slow.collect((m) => m.type === 'change', 400, 20_000);
    expect(slowEvents.map((e) => (e['record'] as { title: string }).title)).toEqual(Array.from({ length: 400 }, (_, i) => `p${i}`));
    expect(otherEvents.map((e) => e['seq'])).toEqual(slowEvents.map((e) => e['seq']));
  });
});
