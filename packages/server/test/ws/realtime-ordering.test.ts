import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/core/auth/principal.js';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';
import { createAdmin, register, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type Message, type TestSocket } from '../helpers/ws-client.js';

const WRITERS = 8;
const WRITES_PER_WRITER = 500;

/**
 * The classic outbox bug: on PostgreSQL, sequence values are taken before
 * commit and transactions commit out of order, so a tailer of `seq > last`
 * skips rows. These tests hammer the log with concurrent writers and demand
 * that every subscriber sees every write exactly once, in seq order.
 */
describe.each(STORES)('realtime ordering under concurrent writers on $name', (backend) => {
  let t: TestSigil;
  let principal: Principal;
  let token: string;
  let disposeDb: () => Promise<void> = async () => undefined;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    if (backend.skipReason) return;
    const db = await createTestDatabaseUrl(backend.name);
    disposeDb = db.dispose;
    t = await startTestSigil({ databaseUrl: db.url, listen: true });
    const admin = await createAdmin(t);
    const res = await t.request({
      method: 'POST',
      url: '/api/collections',
      token: admin.accessToken,
      body: { name: 'events', schema: { type: 'object', properties: { writer: { type: 'integer' }, n: { type: 'integer' } } } },
    });
    expect(res.statusCode, res.body).toBe(201);
    const user = await register(t);
    token = user.accessToken;
    principal = await t.sigil.auth.authenticate(token);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
    await disposeDb();
  });

  async function subscriber(extra: Record<string, unknown> = {}): Promise<TestSocket> {
    const s = await openSocket(wsUrl(t.url!));
    sockets.push(s);
    s.send({ type: 'auth', token });
    await s.next((m) => m.type === 'authed');
    s.send({ type: 'subscribe', id: 'e', collection: 'events', ...extra });
    await s.next((m) => m.type === 'subscribed');
    return s;
  }

  function writeConcurrently(tag: number): Promise<string[][]> {
    return Promise.all(
      Array.from({ length: WRITERS }, async (_, writer) => {
        const ids: string[] = [];
        for (let n = 0; n < WRITES_PER_WRITER; n++) {
          const record = await t.sigil.records.create(principal, 'events', { writer: writer + tag, n });
          ids.push(record.id);
        }
        return ids;
      }),
    );
  }

  function assertExactlyOnceInOrder(events: Message[], expectedIds: string[]): void {
    const ids = events.map((e) => (e['record'] as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(expectedIds));
    const seqs = events.map((e) => e['seq'] as number);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
  }

  it.skipIf(backend.skipReason !== null)(`${WRITERS} writers × ${WRITES_PER_WRITER}: a live subscriber sees every write once, in seq order`, async () => {
    const s = await subscriber();
    const ids = (await writeConcurrently(0)).flat();
    const events = await s.collect((m) => m.type === 'change', ids.length, 60_000);
    assertExactlyOnceInOrder(events, ids);
    // Seqs of one subscription with no filter are consecutive: no gap either.
    const seqs = events.map((e) => e['seq'] as number);
    expect(seqs.at(-1)! - seqs[0]!).toBe(ids.length - 1);
  }, 120_000);

  it.skipIf(backend.skipReason !== null)('list, then subscribe with since = its seq, while writes land: every later write exactly once', async () => {
    const writes = writeConcurrently(100);
    // Let some writes land before the snapshot, and keep writing through it.
    await new Promise((r) => setTimeout(r, 50));
    const list = await t.request({ method: 'GET', url: '/api/collections/events/records?limit=200&sort=-createdAt', token });
    expect(list.statusCode).toBe(200);
    const snapshot = list.json<{ seq: number }>();
    const s = await subscriber({ since: snapshot.seq, filter: { writer: { $gte: 100 } } });
    const allIds = (await writes).flat();
    // Writes committed at or before the snapshot's seq are in the snapshot's view; the rest must come as events.
    const changes = await t.sigil.store.changes.readChanges(snapshot.seq, 100_000);
    const later = changes.filter((c) => c.collection === 'events' && (c.record.data['writer'] as number) >= 100).map((c) => c.recordId);
    const events = await s.collect((m) => m.type === 'change', later.length, 60_000);
    assertExactlyOnceInOrder(events, later);
    expect(events.every((e) => (e['seq'] as number) > snapshot.seq)).toBe(true);
    const before = await t.sigil.store.changes.readChanges(0, 100_000);
    const earlierIds = new Set(before.filter((c) => c.seq <= snapshot.seq).map((c) => c.recordId));
    // The list shows nothing committed after its seq.
    const listed = list.json<{ items: { id: string }[] }>().items.map((r) => r.id);
    expect(listed.every((id) => earlierIds.has(id))).toBe(true);
    // Every write is either in the snapshot's view (seq <= snapshot) or delivered: none lost at the seam.
    expect(allIds.every((id) => earlierIds.has(id) || later.includes(id))).toBe(true);
  }, 120_000);
});
