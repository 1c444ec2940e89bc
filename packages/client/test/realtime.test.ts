/**
 * Realtime and live queries through the client against a real Sigil:
 * one lazily opened socket for every subscription, transactions delivered
 * whole, resync and refusals reported, and live queries whose every result
 * equals a fresh list (mixed-type sort values, a limited window that leaves
 * and refills, batches applied at once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent, ConnectionState, LiveSnapshot, SigilClient } from '../src/index.js';
import { STORES } from '../../server/test/helpers/stores.js';
import { nodeClient, PASSWORD, startFixture, uniqueUser, waitFor, type Fixture } from './helpers.js';

type Rec = { id: string; version: number } & Record<string, unknown>;

describe.each(STORES)('realtime through the client on $name', (backend) => {
  let f: Fixture;
  let client: SigilClient;
  beforeAll(async () => {
    if (backend.skipReason !== null) return;
    f = await startFixture(backend.name, { collections: { tasks: {}, notes: {} } });
    client = nodeClient(f.url);
    await client.auth.register({ username: uniqueUser(), password: PASSWORD });
  });
  afterAll(async () => {
    client?.close();
    await f?.close();
  });

  it.skipIf(backend.skipReason !== null)('opens one socket lazily, goes live, delivers each transaction whole; resync and refusals are reported', async () => {
    const states: ConnectionState[] = [];
    client.realtime.onStateChange((s) => states.push(s));
    expect(client.realtime.state).toBe('offline');
    const txs: ChangeEvent[][] = [];
    const notes: ChangeEvent[][] = [];
    const a = client.collection('tasks').subscribe({}, { onChanges: (c) => txs.push([...c]), onResync: () => undefined });
    const b = client.collection('notes').subscribe({ filter: { done: false } }, { onChanges: (c) => notes.push([...c]), onResync: () => undefined });
    await waitFor(() => client.realtime.state === 'live', 'live');
    expect(states).toEqual(['connecting', 'live']);
    expect(client.realtime.stats.opened).toBe(1);

    await client.collection('tasks').create({ id: 'r1', title: 'one' });
    await client.batch().create('tasks', { id: 'r2', title: 'two' }).create('notes', { id: 'n1', title: 'n', done: false }).update('tasks', 'r1', { done: true }).send();
    await waitFor(() => txs.length === 2 && notes.length === 1, 'the changes');
    expect(txs.map((tx) => tx.map((c) => `${c.op}:${c.record.id}`))).toEqual([['create:r1'], ['create:r2', 'update:r1']]);
    expect(notes[0]!.map((c) => c.record.id)).toEqual(['n1']);
    expect(a.position).toBe(txs[1]!.at(-1)!.seq);

    let resynced = 0;
    const ahead = client.collection('tasks').subscribe({ since: 10 ** 9 }, { onChanges: () => undefined, onResync: () => (resynced += 1) });
    let refused: unknown;
    client.collection('vault').subscribe({}, { onChanges: () => undefined, onResync: () => undefined, onError: (e) => (refused = e) });
    await waitFor(() => resynced === 1 && refused !== undefined, 'resync and the refusal');
    expect(refused).toMatchObject({ code: 'not_found', status: 404 });
    ahead.close();
    a.close();
    b.close();
    await waitFor(() => client.realtime.state === 'offline', 'the socket to close when nothing is subscribed');
    expect(client.realtime.stats.opened).toBe(1);
  });

  it.skipIf(backend.skipReason !== null)('a live query reports the connection state until it is closed', async () => {
    const own = nodeClient(f.url);
    await own.auth.login({ username: (client.auth.session!).user.username, password: PASSWORD });
    const live = own.collection('tasks').live({ limit: 1 }, () => undefined);
    const heard: ConnectionState[] = [];
    const later: ConnectionState[] = [];
    live.onConnectionChange((s) => heard.push(s));
    const off = live.onConnectionChange((s) => later.push(s));
    expect(live.connection).toBe('offline'); // it lists before it subscribes
    await live.ready;
    await waitFor(() => live.connection === 'live', 'live');
    expect(heard).toEqual(['connecting', 'live']);
    expect(later).toEqual(['connecting', 'live']);
    off();
    live.close();
    expect(live.connection).toBe('offline'); // its subscription was the only one: the socket closes
    expect(heard).toEqual(['connecting', 'live']); // closed: no longer told
    expect(later).toEqual(['connecting', 'live']);
    const other = own.collection('tasks').subscribe({}, { onChanges: () => undefined, onResync: () => undefined });
    await waitFor(() => own.realtime.state === 'live', 'live again');
    expect(heard).toEqual(['connecting', 'live']);
    expect(live.onConnectionChange(() => heard.push('offline'))).toBeTypeOf('function');
    other.close();
    expect(heard).toEqual(['connecting', 'live']);
    own.close();
  });

  it.skipIf(backend.skipReason !== null)('a limited live query over mixed-type sort values equals a fresh list after every write', async () => {
    const tasks = client.collection('tasks');
    const values: unknown[] = [null, false, true, -3, 0, 2.5, 7, '', 'B', 'a', 'é', '😀', '\uffff', [1], { x: 1 }];
    let k = 0;
    const pick = (): unknown => values[(k = (k * 7 + 3) % values.length)];
    const ids = Array.from({ length: 24 }, (_, i) => `m${i}`);
    for (const id of ids.slice(0, 12)) await tasks.create({ id, title: id, priority: pick(), done: false });
    const query = { filter: { done: false, id: { $startsWith: 'm' } }, sort: '-priority', limit: 5 } as const;
    const snapshots: LiveSnapshot<Rec>[] = [];
    const live = tasks.live(query, (s) => snapshots.push(s));
    await live.ready;
    let rnd = 1;
    const next = (n: number): number => (rnd = (rnd * 48271) % 2147483647) % n;
    for (let step = 0; step < 60; step++) {
      const id = ids[next(ids.length)]!;
      const existing = await tasks.get(id).catch(() => null);
      const r = next(4);
      if (!existing) await tasks.create({ id, title: id, priority: pick(), done: next(3) === 0 });
      else if (r === 0) await tasks.delete(id);
      else if (r === 1) await tasks.update(id, { done: !existing['done'] });
      else if (r === 2) await client.batch().update('tasks', id, { priority: pick() }).update('tasks', ids[next(12)]!, { priority: pick(), done: false }).send().catch(() => undefined);
      else await tasks.update(id, { priority: pick() });
      const fresh = await tasks.list(query);
      const key = (items: readonly Record<string, unknown>[]): string => JSON.stringify(items.map((r) => [r['id'], r['version']]));
      // A write this query does not see moves no seq of it, so wait for the content, never past the list's seq.
      await waitFor(() => key(live.snapshot!.items) === key(fresh.items), `the live query to equal the list at seq ${fresh.seq}`, 5_000, () => `${key(live.snapshot!.items)} vs ${key(fresh.items)}`);
      expect(live.snapshot!.seq).toBeLessThanOrEqual(fresh.seq);
      expect(live.snapshot!.items).toEqual(fresh.items);
      expect(live.snapshot!.hasMore).toBe(fresh.nextCursor !== null);
    }
    live.close();
    // Each transaction was reported once, at increasing seqs.
    const seqs = snapshots.map((s) => s.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
  });

  it.skipIf(backend.skipReason !== null)('an unlimited live query over several pages ends equal to every page of the list', async () => {
    const tasks = client.collection('tasks');
    for (let i = 0; i < 450; i += 50) {
      await client.batch().create('tasks', { id: `big${i}`, title: 'x', n: i }).send();
      const ops = client.batch();
      for (let j = i + 1; j < i + 50; j++) ops.create('tasks', { id: `big${j}`, title: 'x', n: j % 17, done: j % 4 === 0 });
      await ops.send();
    }
    const query = { filter: { id: { $startsWith: 'big' }, done: { $ne: true } }, sort: ['n', '-id'] } as const;
    const live = tasks.live(query, () => undefined);
    const first = await live.ready;
    const all = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const page of tasks.pages({ ...query, limit: 200 })) out.push(...page.items.map((r) => r.id));
      return out;
    };
    expect(first.items.map((r) => r.id)).toEqual(await all());
    await tasks.update('big3', { done: true });
    await tasks.update('big4', { n: -1 });
    const last = await tasks.create({ id: 'big999', title: 'x', n: 5 });
    await waitFor(() => live.snapshot!.items.some((r) => r.id === last.id), 'the last create');
    expect(live.snapshot!.items.map((r) => r.id)).toEqual(await all());
    live.close();
  });
});
