/**
 * The client under faults, against built server processes: a fault proxy
 * (test/fault-proxy.ts) between the client and the server cuts, stalls and
 * half-closes every connection 50–500 ms after it opens, while 4 writers
 * create, update and delete 2,000 records (some in batches), and the server
 * is SIGKILLed and restarted once; on PostgreSQL the client is also switched
 * to a second instance on the same database and back.
 *
 * Proven: each subscription delivered exactly the changes a plain `since`
 * replay of the log holds (every change once, in seq order, nothing else);
 * both live queries end equal to a fresh list; and every single result a
 * live query reported equals the query computed from the log at its seq.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, memoryTokenStore, type SigilClient } from '../src/index.js';
import { STORES } from '../../server/test/helpers/stores.js';
import type { ServerProcess } from '../../server/test/helpers/server-process.js';
import { api, deploy, portOf, registerAccount, replayLog, Replayer, seen, setUp, type Deployment } from './e2e-helpers.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { waitFor } from './helpers.js';
import { startWriters, type Writers } from './writers.js';

const RULES = { list: 'authenticated', view: 'authenticated', create: 'authenticated', update: 'authenticated', delete: 'authenticated' };
type Rec = Record<string, unknown> & { id: string; version: number; n?: number; done?: boolean };

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  cleanup = [];
});

const byId = (x: Rec, y: Rec): number => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
const QUERIES = {
  all: { filter: { done: false }, sort: '-n', compare: (x: Rec, y: Rec) => (y.n ?? 0) - (x.n ?? 0) || byId(y, x), limit: undefined },
  top: { filter: { done: false }, sort: 'n', compare: (x: Rec, y: Rec) => (x.n ?? 0) - (y.n ?? 0) || byId(x, y), limit: 20 },
} as const;

describe.each(STORES)('the client through a fault proxy on $name', (backend) => {
  it.skipIf(backend.skipReason !== null)('every subscription gets every change once in seq order; live queries stay exact and end equal to fresh lists', async () => {
    const d: Deployment = await deploy(backend.name);
    cleanup.push(() => d.dispose());
    let primary: ServerProcess = await d.start();
    const second = backend.name === 'postgres' ? await d.start() : null;
    await setUp(primary.url, 'items', RULES);
    const reader = await registerAccount(primary.url, 'reader');
    const writer = await registerAccount(primary.url, 'writer');
    const s0 = (await api(primary.url, 'GET', '/api/collections/items/records?limit=1', { token: reader.accessToken })).body['seq'] as number;

    const proxy: FaultProxy = await startFaultProxy(portOf(primary.url));
    cleanup.push(() => proxy.close());
    const client: SigilClient = createClient({
      url: proxy.url,
      webSocket: WebSocket,
      tokenStore: memoryTokenStore({ user: reader.user, accessToken: reader.accessToken, refreshToken: reader.refreshToken, expiresAt: Date.now() + 14 * 60_000 }),
      requestTimeoutMs: 2_000,
      realtime: { heartbeatMs: 500, heartbeatTimeoutMs: 1_000, backoffInitialMs: 50, backoffMaxMs: 500 },
    });
    cleanup.push(async () => client.close());
    const states = new Set<string>();
    client.realtime.onStateChange((state) => states.add(state));
    const problems: string[] = [];
    const received = { all: [] as string[], open: [] as string[] };
    const items = client.collection('items');
    items.subscribe({ since: s0 }, { onChanges: (cs) => received.all.push(...cs.map(seen)), onResync: () => problems.push('resync all'), onError: (e) => problems.push(`all: ${e.code}`) });
    items.subscribe({ since: s0, filter: { done: false } }, { onChanges: (cs) => received.open.push(...cs.map(seen)), onResync: () => problems.push('resync open'), onError: (e) => problems.push(`open: ${e.code}`) });
    const snapshots = { all: [] as { seq: number; key: string }[], top: [] as { seq: number; key: string }[] };
    const key = (list: readonly Rec[]): string => list.map((r) => `${r.id}@${r.version}`).join(',');
    const lives = {
      all: items.live({ filter: QUERIES.all.filter, sort: QUERIES.all.sort }, (s) => snapshots.all.push({ seq: s.seq, key: key(s.items) }), (e) => problems.push(`live all: ${e.code}`)),
      top: items.live({ filter: QUERIES.top.filter, sort: QUERIES.top.sort, limit: 20 }, (s) => snapshots.top.push({ seq: s.seq, key: key(s.items) }), (e) => problems.push(`live top: ${e.code}`)),
    };
    await Promise.all([lives.all.ready, lives.top.ready]);

    let writeUrl = primary.url;
    const writers: Writers = startWriters({ url: () => writeUrl, token: writer.accessToken, collection: 'items', writers: 4, createsEach: 500, pauseMs: 20 });
    cleanup.push(async () => writers.stop());
    const progress = (): string => `${writers.acked()} acked, failures ${writers.failures.slice(0, 3).join('; ')}`;
    if (second) {
      await waitFor(() => writers.acked() >= 800, '800 writes', 60_000, progress);
      proxy.setTarget(portOf(second.url)); // the client now talks to the other instance
    }
    await waitFor(() => writers.acked() >= 1_600, '1,600 writes', 60_000, progress);
    await primary.stop('SIGKILL');
    primary = await d.start();
    writeUrl = primary.url;
    if (second) {
      await waitFor(() => writers.acked() >= 2_400, '2,400 writes', 60_000, progress);
    }
    proxy.setTarget(portOf(primary.url));
    await writers.done;
    expect(writers.failures).toEqual([]);
    proxy.faults = false;

    const sentinel = await api(primary.url, 'POST', '/api/collections/items/records', { token: writer.accessToken, body: { id: 'sentinel', title: 'last', n: -1, done: false } });
    expect(sentinel.status).toBe(201);
    const has = (list: readonly string[]): boolean => list.some((c) => c.includes(':sentinel:'));
    await waitFor(
      () => has(received.all) && has(received.open) && (lives.all.snapshot?.items.some((r) => r.id === 'sentinel') ?? false) && (lives.top.snapshot?.items[0]?.id === 'sentinel'),
      'the sentinel everywhere',
      30_000,
      () => `${received.all.length} / ${received.open.length} changes, state ${client.realtime.state}, problems ${problems.join('; ')}`,
    );
    expect(problems).toEqual([]);

    // Subscriptions: exactly the log, as a plain since-replay reads it.
    const truthAll = await replayLog(primary.url, reader.accessToken, 'items', s0, 'sentinel');
    const truthOpen = await replayLog(primary.url, reader.accessToken, 'items', s0, 'sentinel', { done: false });
    expect(truthAll.length).toBeGreaterThan(3_000);
    expect(received.all).toEqual(truthAll.map(seen));
    expect(received.open).toEqual(truthOpen.map(seen));

    // Live queries: equal to fresh lists now.
    const allPages: Rec[] = [];
    let after: string | null = null;
    do {
      const res = await api(primary.url, 'GET', `/api/collections/items/records?filter=${encodeURIComponent('{"done":false}')}&sort=-n&limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`, { token: reader.accessToken });
      allPages.push(...(res.body['items'] as readonly Rec[]));
      after = res.body['nextCursor'] as string | null;
    } while (after !== null);
    expect(key(lives.all.snapshot!.items as readonly Rec[])).toBe(key(allPages));
    const top = await api(primary.url, 'GET', `/api/collections/items/records?filter=${encodeURIComponent('{"done":false}')}&sort=n&limit=20`, { token: reader.accessToken });
    expect(key(lives.top.snapshot!.items as readonly Rec[])).toBe(key(top.body['items'] as readonly Rec[]));

    // Every result reported was the query's answer at its seq.
    for (const name of ['all', 'top'] as const) {
      const q = QUERIES[name];
      const replay = new Replayer(truthAll);
      let previous = -1;
      for (const snapshot of snapshots[name]) {
        expect(snapshot.seq).toBeGreaterThanOrEqual(previous);
        previous = snapshot.seq;
        const expected = [...replay.until(snapshot.seq)].filter((r) => r['done'] === false).map((r) => r as Rec).sort(q.compare);
        const want = key(q.limit === undefined ? expected : expected.slice(0, q.limit));
        if (snapshot.key !== want) expect.fail(`live ${name} at seq ${snapshot.seq}:\n got ${snapshot.key.slice(0, 300)}\nwant ${want.slice(0, 300)}`);
      }
      expect(snapshots[name].length).toBeGreaterThan(100);
    }

    // The faults really happened, and the client lived through them.
    expect(proxy.injected.cut).toBeGreaterThan(10);
    expect(proxy.injected.stall).toBeGreaterThan(3);
    expect(proxy.injected['half-close']).toBeGreaterThan(3);
    expect(client.realtime.stats.lost).toBeGreaterThan(10);
    expect([...states].sort()).toEqual(['connecting', 'live', 'resuming']);
    console.log(`faults on ${backend.name}: ${JSON.stringify(proxy.injected)}, ${proxy.accepted()} connections, ${client.realtime.stats.opened} sockets, ${truthAll.length} changes, ${snapshots.all.length}/${snapshots.top.length} live results`);
  }, 150_000);
});
