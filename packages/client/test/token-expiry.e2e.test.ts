/**
 * Access tokens of 2 s (ACCESS_TOKEN_TTL=2s) during live queries, for 20 s
 * in `npm test` (TOKEN_EXPIRY_SECONDS=60 runs the full minute),
 * against a built server process: one client refreshes ahead of expiry
 * (the default), one only when the server refuses its token (`auth_expired`
 * on the socket, `token_expired` over HTTP).
 * Neither loses a change (each subscription equals the log's replay), none
 * reconnects (one socket each, never lost: the token is replaced in place),
 * and the session is never revoked (refreshes keep working to the end).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, type LiveQuery, type SigilClient } from '../src/index.js';
import { api, deploy, replayLog, seen, setUp } from './e2e-helpers.js';
import { PASSWORD, waitFor } from './helpers.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  cleanup = [];
});

const DURATION_MS = Number(process.env['TOKEN_EXPIRY_SECONDS'] ?? 20) * 1000;

describe('short-lived access tokens during live queries', () => {
  it('no lost change, no reconnect, no revoked session', async () => {
    const d = await deploy('sqlite', { ACCESS_TOKEN_TTL: '2s' });
    cleanup.push(() => d.dispose());
    const server = await d.start();
    await setUp(server.url, 'items', { list: 'authenticated', view: 'authenticated', create: 'authenticated', update: 'authenticated' });
    const make = (margin?: number): SigilClient => {
      const client = createClient({ url: server.url, webSocket: WebSocket, ...(margin === undefined ? {} : { auth: { refreshMarginMs: margin } }) });
      cleanup.push(async () => client.close());
      return client;
    };
    const writer = make();
    await writer.auth.register({ username: 'writer', password: PASSWORD });
    const readers = [make(), make(-60_000)];
    await readers[0]!.auth.register({ username: 'ahead', password: PASSWORD });
    await readers[1]!.auth.register({ username: 'late', password: PASSWORD });
    const s0 = (await writer.collection('items').list({ limit: 1 })).seq;

    const received = readers.map(() => [] as string[]);
    const lives: LiveQuery<{ id: string }>[] = [];
    const problems: string[] = [];
    readers.forEach((reader, i) => {
      reader.collection('items').subscribe({ since: s0 }, { onChanges: (cs) => received[i]!.push(...cs.map(seen)), onResync: () => problems.push('resync'), onError: (e) => problems.push(e.code) });
      lives.push(reader.collection('items').live({ filter: { done: false }, sort: '-n', limit: 10 }, () => undefined, (e) => problems.push(`live ${e.code}`)));
    });
    await Promise.all(lives.map((l) => l.ready));

    // Writes at ~40 a second for the duration, through a client that refreshes too.
    const items = writer.collection('items');
    const end = Date.now() + DURATION_MS;
    let n = 0;
    while (Date.now() < end) {
      const id = `r${n++}`;
      await items.create({ id, title: id, n: n % 50, done: n % 3 === 0 });
      if (n % 4 === 0) await items.update(`r${n - 3}`, { done: n % 8 === 0, n: (n * 7) % 50 });
      await new Promise((r) => setTimeout(r, 20));
    }
    const last = await items.create({ id: 'last', title: 'last', n: 999, done: false });
    await waitFor(() => received.every((list) => list.some((c) => c.includes(':last:'))) && lives.every((l) => l.snapshot?.items[0]?.id === 'last'), 'the last change everywhere', 15_000, () => problems.join('; '));
    expect(problems).toEqual([]);

    for (const [i, reader] of readers.entries()) {
      const token = (await reader.auth.getAccessToken())!;
      expect(received[i]).toEqual((await replayLog(server.url, token, 'items', s0, last.id)).map(seen));
      const fresh = await api(server.url, 'GET', `/api/collections/items/records?filter=${encodeURIComponent('{"done":false}')}&sort=-n&limit=10`, { token });
      expect(lives[i]!.snapshot!.items).toEqual(fresh.body['items']);
      expect(reader.realtime.stats).toMatchObject({ opened: 1, lost: 0 });
      expect(reader.realtime.state).toBe('live');
      expect(reader.auth.refreshCount).toBeGreaterThanOrEqual(DURATION_MS / 2_000 - 1);
      // The session was never revoked: it still refreshes and answers.
      expect(await reader.auth.refresh()).not.toBeNull();
      expect((await reader.auth.me()).username).toBe(i === 0 ? 'ahead' : 'late');
    }
    // The late client's refreshes came from the server's auth_expired.
    expect(readers[1]!.realtime.stats.authExpired).toBeGreaterThanOrEqual(DURATION_MS / 2_000 - 2);
    console.log(`auth_expired: ahead ${readers[0]!.realtime.stats.authExpired}, late ${readers[1]!.realtime.stats.authExpired}; refreshes: ahead ${readers[0]!.auth.refreshCount}, late ${readers[1]!.auth.refreshCount}, writer ${writer.auth.refreshCount}; ${received[0]!.length} changes`);
  }, DURATION_MS + 70_000);
});
