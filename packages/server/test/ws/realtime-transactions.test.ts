import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeRow } from '../../src/core/records/record.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, register, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type Message, type TestSocket } from '../helpers/ws-client.js';

const SCHEMA = { type: 'object', properties: { tag: { type: 'string' }, n: { type: 'integer' } } };
const WRITERS = 8;
const ROUNDS = 25;

type Change = Message & { seq: number; op: string; collection: string; record: { id: string; tag: string; n: number }; txEnd?: true };

/**
 * SPEC §4.8 and §5: a transaction's changes reach each subscription
 * contiguously in seq order, and the last change of a transaction that a
 * subscription receives carries `txEnd: true`, so a client that applies
 * changes up to each `txEnd` never shows half a transaction.
 */
describe.each(STORES)('realtime transactions on $name', (backend) => {
  let t: TestSigil;
  let user: Account;
  const sockets: TestSocket[] = [];
  let counter = 0;
  const unique = (prefix: string): string => `${prefix}${++counter}`;

  beforeAll(async () => {
    if (backend.skipReason) return;
    // Small replay batches, so that one transaction straddles several of them.
    t = await startTestSigilOn(backend.name, { listen: true, realtime: { replayBatchSize: 2 } });
    const admin = await createAdmin(t);
    for (const name of ['orders', 'lines']) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: SCHEMA } });
      expect(res.statusCode, res.body).toBe(201);
    }
    user = await register(t);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  async function subscriber(collection: string, extra: Record<string, unknown> = {}): Promise<TestSocket> {
    const s = await openSocket(wsUrl(t.url!));
    sockets.push(s);
    s.send({ type: 'auth', token: user.accessToken });
    await s.next((m) => m.type === 'authed');
    s.send({ type: 'subscribe', id: 's', collection, ...extra });
    await s.next((m) => m.type === 'subscribed');
    return s;
  }

  async function batch(operations: unknown[]): Promise<void> {
    const res = await t.request({ method: 'POST', url: '/api/batch', token: user.accessToken, body: { operations } });
    expect(res.statusCode, res.body).toBe(200);
  }

  const create = (collection: string, tag: string, n: number, id?: string) => ({ op: 'create', collection, record: { ...(id ? { id } : {}), tag, n } });
  const changesOf = (s: TestSocket, tag: string): Change[] => (s.messages as Change[]).filter((m) => m.type === 'change' && m.record.tag === tag);
  const marks = (changes: Change[]): [number, boolean][] => changes.map((c) => [c.record.n, c.txEnd === true]);

  async function settle(s: TestSocket, tag: string, collection = 'orders'): Promise<void> {
    // A single write after the transaction under test: once it arrives, everything before it has.
    const res = await t.request({ method: 'POST', url: `/api/collections/${collection}/records`, token: user.accessToken, body: { tag: `${tag}-done`, n: 0 } });
    expect(res.statusCode).toBe(201);
    await s.next((m) => m.type === 'change' && (m as Change).record.tag === `${tag}-done`);
  }

  describe.skipIf(backend.skipReason !== null)('live', () => {
    it('a single write is a transaction of its own: its event carries txEnd', async () => {
      const s = await subscriber('orders');
      const tag = unique('single');
      const res = await t.request({ method: 'POST', url: '/api/collections/orders/records', token: user.accessToken, body: { tag, n: 1 } });
      expect(res.statusCode).toBe(201);
      const event = await s.next((m) => m.type === 'change' && (m as Change).record.tag === tag);
      expect(event['txEnd']).toBe(true);
    });

    it('marks the last change a subscription receives of a transaction, even when the transaction ends in another collection', async () => {
      const orders = await subscriber('orders');
      const lines = await subscriber('lines');
      const tag = unique('cross');
      await batch([create('orders', tag, 1), create('lines', tag, 2), create('orders', tag, 3), create('lines', tag, 4), create('lines', tag, 5)]);
      await settle(orders, tag);
      await settle(lines, tag, 'lines');
      expect(marks(changesOf(orders, tag))).toEqual([[1, false], [3, true]]);
      expect(marks(changesOf(lines, tag))).toEqual([[2, false], [4, false], [5, true]]);
      // Contiguous and in seq order: nothing of another transaction between them.
      const received = (orders.messages as Change[]).filter((m) => m.type === 'change');
      const first = received.findIndex((m) => m.record.tag === tag);
      expect(received.slice(first, first + 2).map((m) => m.record.tag)).toEqual([tag, tag]);
      expect(received[first]!.seq).toBeLessThan(received[first + 1]!.seq);
    });

    it('a filter that matches only some records of a transaction still ends it on the last one it receives', async () => {
      const s = await subscriber('orders', { filter: { n: { $lte: 2 } } });
      const tag = unique('filtered');
      await batch([create('orders', tag, 1), create('orders', tag, 2), create('orders', tag, 3), create('orders', tag, 4)]);
      const id = unique('upd');
      await batch([create('orders', tag, 9, id), { op: 'update', collection: 'orders', id, patch: { n: 2 } }, create('orders', tag, 7)]);
      await settle(s, tag);
      // The second batch: the create is not seen (n 9), the update makes the record match (sent as update), and ends it for this subscriber.
      expect(marks(changesOf(s, tag))).toEqual([[1, false], [2, true], [2, true]]);
      expect(changesOf(s, tag).map((c) => c.op)).toEqual(['create', 'create', 'update']);
    });

    it('a transaction none of whose changes concern a subscription sends it nothing', async () => {
      const s = await subscriber('orders', { filter: { n: 100 } });
      const tag = unique('none');
      await batch([create('orders', tag, 1), create('lines', tag, 2)]);
      const res = await t.request({ method: 'POST', url: '/api/collections/orders/records', token: user.accessToken, body: { tag, n: 100 } });
      expect(res.statusCode).toBe(201);
      await s.next((m) => m.type === 'change' && (m as Change).record.tag === tag);
      expect(marks(changesOf(s, tag))).toEqual([[100, true]]);
    });
  });

  describe.skipIf(backend.skipReason !== null)('replay', () => {
    it('replays with since mark txEnd the same way, across replay batches and when the transaction ends in another collection', async () => {
      const since = await t.sigil.store.changes.latestSeq();
      const tag = unique('replayed');
      await batch([create('orders', tag, 1), create('orders', tag, 2), create('orders', tag, 3), create('lines', tag, 4)]);
      await batch([create('orders', tag, 5), create('lines', tag, 6), create('orders', tag, 7), create('orders', tag, 8), create('orders', tag, 9)]);
      await batch([create('orders', tag, 10), create('lines', tag, 11)]);
      const filtered = await subscriber('orders', { since, filter: { n: { $ne: 9 } } });
      const all = await subscriber('orders', { since });
      await settle(all, tag);
      await settle(filtered, tag);
      expect(marks(changesOf(all, tag))).toEqual([[1, false], [2, false], [3, true], [5, false], [7, false], [8, false], [9, true], [10, true]]);
      expect(marks(changesOf(filtered, tag))).toEqual([[1, false], [2, false], [3, true], [5, false], [7, false], [8, true], [10, true]]);
    });
  });

  describe.skipIf(backend.skipReason !== null)('under concurrent writers', () => {
    it(`${WRITERS} writers of batches and single writes: seq gap-free, each transaction contiguous, and a client applying up to each txEnd never sees part of one`, async () => {
      const since = await t.sigil.store.changes.latestSeq();
      const live = await subscriber('orders', { filter: { n: { $gte: 1 } } });
      const expected = new Map<string, number>();
      await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
        for (let round = 0; round < ROUNDS; round++) {
          const tag = `w${w}r${round}`;
          if (round % 3 === 0) {
            const res = await t.request({ method: 'POST', url: '/api/collections/orders/records', token: user.accessToken, body: { tag, n: 1 } });
            expect(res.statusCode).toBe(201);
            expected.set(tag, 1);
          } else {
            // 2–6 operations; n 0 is outside the live subscriber's filter, and lines are another collection.
            const ops = Array.from({ length: 2 + ((w + round) % 5) }, (_, i) => create(i % 3 === 2 ? 'lines' : 'orders', tag, i % 4));
            await batch(ops);
            expected.set(tag, ops.length);
          }
        }
      }));
      const log = await t.sigil.store.changes.readChanges(since, 100_000);
      expect(log.map((c) => c.seq)).toEqual(log.map((_, i) => since + 1 + i));
      // Cut the log at each txEnd: every piece is exactly one transaction, whole.
      const transactions: ChangeRow[][] = [];
      let current: ChangeRow[] = [];
      for (const change of log) {
        current.push(change);
        if (change.txEnd) {
          transactions.push(current);
          current = [];
        }
      }
      expect(current).toEqual([]);
      const tags = transactions.map((tx) => new Set(tx.map((c) => c.record.data['tag'] as string)));
      expect(tags.every((set) => set.size === 1)).toBe(true);
      expect(transactions.map((tx) => [tx[0]!.record.data['tag'], tx.length]).sort()).toEqual([...expected.entries()].sort());

      // What the live subscriber and a replaying one must show: per transaction, its matching orders, whole.
      const matching = (tx: ChangeRow[], filter: (n: number) => boolean): string[] =>
        tx.filter((c) => c.collection === 'orders' && filter(c.record.data['n'] as number)).map((c) => c.recordId);
      const replayed = await subscriber('orders', { since });
      for (const [s, filter] of [[live, (n: number) => n >= 1], [replayed, () => true]] as const) {
        const want = transactions.map((tx) => matching(tx, filter)).filter((ids) => ids.length > 0);
        const count = want.reduce((sum, ids) => sum + ids.length, 0);
        const got = (await s.collect((m) => m.type === 'change', count, 30_000)) as Change[];
        const applied: string[][] = [];
        let pending: string[] = [];
        for (const change of got) {
          pending.push(change.record.id);
          if (change.txEnd) {
            applied.push(pending);
            pending = [];
          }
        }
        expect(pending).toEqual([]);
        expect(applied).toEqual(want);
      }
    }, 120_000);
  });
});
