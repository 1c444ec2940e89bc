import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSigil, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl } from '../helpers/ws-client.js';
import { measure, sleep, timed } from './measure.js';

/** A raw TCP connection to the server that records what it receives and when it is closed. */
function rawConnection(url: string): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let received = '';
    const socket = connect({ host: hostname, port: Number(port) });
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - started)));
    socket.on('data', (c: Buffer) => (received += c.toString()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => received, closed }));
    socket.once('error', reject);
  });
}

describe('abuse: slow requests and connection floods', () => {
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil({ listen: true, env: { REQUEST_TIMEOUT: '2s', MAX_CONNECTIONS: '60' } });
  });
  afterAll(() => t.close());

  it('a body dripping one byte at a time is cut off at REQUEST_TIMEOUT with 408, and others are served meanwhile', async () => {
    const probe = measure('slow-drip bodies (20 connections, 1 byte / 200 ms, REQUEST_TIMEOUT=2s)');
    const drips = await Promise.all(Array.from({ length: 20 }, () => rawConnection(t.url!)));
    for (const d of drips) d.socket.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const timer = setInterval(() => {
      for (const d of drips) if (!d.socket.destroyed) d.socket.write(' ');
    }, 200);
    const health = await timed(() => fetch(`${t.url!}/api/health`));
    const lifetimes = await Promise.all(drips.map((d) => d.closed));
    clearInterval(timer);
    const figures = probe.stop({ longestDripMs: Math.round(Math.max(...lifetimes)), healthDuringMs: Math.round(health.ms) });
    expect(health.value.status).toBe(200);
    expect(health.ms).toBeLessThan(500);
    // REQUEST_TIMEOUT plus Node's one-second check interval, plus slack.
    expect(Math.max(...lifetimes)).toBeLessThan(4500);
    expect(Math.min(...lifetimes)).toBeGreaterThan(1500);
    for (const d of drips) expect(d.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(figures.rssGrowthMiB).toBeLessThan(64);
  });

  it('a connection that sends nothing is closed at REQUEST_TIMEOUT', async () => {
    const silent = await rawConnection(t.url!);
    const lifetime = await silent.closed;
    expect(lifetime).toBeGreaterThan(1500);
    expect(lifetime).toBeLessThan(4500);
  });

  it('a WebSocket outlives REQUEST_TIMEOUT: only requests are timed', async () => {
    const s = await openSocket(wsUrl(t.url!));
    s.send({ type: 'subscribe', id: 'x', collection: 'none' });
    await s.next((m) => m.type === 'error');
    await sleep(3500);
    s.send({ type: 'unsubscribe', id: 'x' });
    expect(await s.next((m) => m.type === 'unsubscribed' || m.type === 'error')).toBeTruthy();
    expect(s.ws.readyState).toBe(s.ws.OPEN);
    s.close();
  });

  it('past MAX_CONNECTIONS new connections are closed at once; the server recovers when they go', async () => {
    const probe = measure('connection flood (200 idle TCP connections, MAX_CONNECTIONS=60)');
    const flood = await Promise.all(Array.from({ length: 200 }, () => rawConnection(t.url!)));
    await sleep(300);
    const cut = flood.filter((c) => c.socket.destroyed || c.socket.readableEnded).length;
    for (const c of flood) c.socket.destroy();
    await sleep(100);
    const after = await timed(() => fetch(`${t.url!}/api/health`));
    probe.stop({ refusedConnections: cut, healthAfterMs: Math.round(after.ms) });
    expect(cut).toBeGreaterThanOrEqual(130);
    expect(200 - cut).toBeLessThanOrEqual(60);
    expect(after.value.status).toBe(200);
  });
});
