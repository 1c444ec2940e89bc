import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeRow, RecordRow } from '../../src/core/records/record.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, register, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type Message, type TestSocket } from '../helpers/ws-client.js';

/**
 * A subscription made while the hub is in the middle of dispatching a
 * transaction (its first change dispatched, its last not yet: the feed
 * awaits between changes and between reads of the log) must still get the
 * transaction whole, not its tail. The feed is kept from reading on its own
 * (no commit pokes it, the poll is an hour) so the test dispatches the first
 * change itself.
 */
describe.each(STORES)('a subscription made in the middle of a transaction, on $name', (backend) => {
  let t: TestSigil;
  let user: Account;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name, { listen: true, realtime: { pollIntervalMs: 3_600_000 } });
    const admin = await createAdmin(t);
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'orders', schema: { type: 'object' } } });
    expect(res.statusCode, res.body).toBe(201);
    user = await register(t);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  it.skipIf(backend.skipReason !== null)('starts at the transaction\'s beginning and gets it whole, ended by txEnd', async () => {
    const collection = await t.sigil.catalog.get('orders');
    const at = new Date().toISOString();
    const row = (id: string): RecordRow => ({ id, owner: user.id, version: 1, createdAt: at, updatedAt: at, data: { n: id } });
    const before = await t.sigil.store.changes.latestSeq();
    // A transaction of two changes, written without telling the feed.
    await t.sigil.store.transaction(async (tx) => {
      for (const [i, id] of ['m1', 'm2'].entries()) {
        await tx.records.insertRecord('orders', row(id));
        await tx.changes.appendChange({ collection: 'orders', collectionId: collection.id, recordId: id, op: 'create', record: row(id), previous: null, createdAt: at, txEnd: i === 1 });
      }
    });
    const [first, last] = (await t.sigil.store.changes.readChanges(before, 10)) as [ChangeRow, ChangeRow];
    const hub = t.sigil.realtime.hub;
    await hub.dispatch(first);

    const s = await openSocket(wsUrl(t.url!));
    sockets.push(s);
    s.send({ type: 'auth', token: user.accessToken });
    await s.next((m) => m.type === 'authed');
    s.send({ type: 'subscribe', id: 's', collection: 'orders' });
    expect((await s.next((m) => m.type === 'subscribed'))['seq']).toBe(before);
    await hub.dispatch(last);
    const events = await s.collect((m) => m.type === 'change', 2);
    expect(events.map((e: Message) => [(e['record'] as { id: string }).id, e['txEnd'] === true])).toEqual([['m1', false], ['m2', true]]);
  });
});
