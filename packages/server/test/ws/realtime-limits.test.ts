import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REALTIME_DEFAULTS } from '../../src/app.js';
import { createAdmin, register, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type TestSocket } from '../helpers/ws-client.js';

/** Transport limits, on SQLite with short timeouts. */
describe('realtime limits and hostile clients', () => {
  let t: TestSigil;
  let admin: Account;
  let user: Account;
  const sockets: TestSocket[] = [];
  const open = async (headers?: Record<string, string>): Promise<TestSocket> => {
    const s = await openSocket(wsUrl(t.url!), headers ? { headers } : {});
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    t = await startTestSigil({
      listen: true,
      env: { CORS_ORIGINS: 'https://app.example.com', ACCESS_TOKEN_TTL: '2s' },
      realtime: { idleTimeoutMs: 300, pingIntervalMs: 200, maxBufferedBytes: 256 * 1024 },
    });
    admin = await createAdmin(t);
    user = await register(t);
    const schema = { type: 'object', properties: { title: { type: 'string' }, blob: { type: 'string' } } };
    for (const [name, rules] of [
      ['open', { list: 'public', view: 'public', create: 'public' }],
      ['private', {}],
    ] as const) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema, rules } });
      expect(res.statusCode, res.body).toBe(201);
    }
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t.close();
  });

  it('refuses browser upgrades from origins not in CORS_ORIGINS', async () => {
    await expect(open({ origin: 'https://evil.example.com' })).rejects.toThrow(/403/);
    // The server's own origin (a page it serves) is always accepted.
    const own = await open({ origin: t.url! });
    own.send({ type: 'subscribe', id: 'own', collection: 'open' });
    expect(await own.next((m) => m.type === 'subscribed')).toMatchObject({ id: 'own' });
    const ok = await open({ origin: 'https://app.example.com' });
    ok.send({ type: 'subscribe', id: 'a', collection: 'open' });
    expect(await ok.next((m) => m.type === 'subscribed')).toMatchObject({ id: 'a' });
  });

  it('answers a plain GET without the upgrade with the error body, not an empty 404', async () => {
    const res = await fetch(`${t.url!}/api/realtime`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'bad_request', message: expect.stringMatching(/WebSocket/) as unknown } });
  });

  it('drops a connection that neither authenticates nor subscribes in time (4009)', async () => {
    const s = await open();
    expect((await s.closed).code).toBe(4009);
  });

  it('pings, and drops a peer that stops answering', async () => {
    const s = await open();
    s.send({ type: 'subscribe', id: 'p', collection: 'open' });
    await s.next((m) => m.type === 'subscribed');
    let pings = 0;
    s.ws.on('ping', () => (pings += 1));
    await new Promise((r) => setTimeout(r, 500));
    expect(pings).toBeGreaterThan(0);
    // A dead peer: stop answering pings (ws answers automatically, so pause the socket entirely).
    const raw = (s.ws as unknown as { _socket: { pause(): void } })._socket;
    raw.pause();
    const before = (t.sigil.realtime.hub as { size: number }).size;
    await expect.poll(() => t.sigil.realtime.hub.size, { timeout: 3000 }).toBeLessThan(before);
  });

  it('closes a slow consumer with 4008 before its buffer grows without bound', async () => {
    // Its own server without frequent pings: a paused client would otherwise be dropped as dead first.
    const slow = await startTestSigil({ listen: true, realtime: { maxBufferedBytes: 256 * 1024 } });
    const slowAdmin = await createAdmin(slow);
    const schema = { type: 'object', properties: { title: { type: 'string' }, blob: { type: 'string' } } };
    await slow.request({ method: 'POST', url: '/api/collections', token: slowAdmin.accessToken, body: { name: 'open', schema, rules: { list: 'public', view: 'public', create: 'public' } } });
    const s = await openSocket(wsUrl(slow.url!));
    sockets.push(s);
    s.send({ type: 'subscribe', id: 'slow', collection: 'open' });
    await s.next((m) => m.type === 'subscribed');
    (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const blob = 'x'.repeat(32 * 1024);
    let writes = 0;
    while (writes < 200 && slow.sigil.realtime.hub.size > 0) {
      await slow.request({ method: 'POST', url: '/api/collections/open/records', body: { title: `big ${writes}`, blob } });
      writes += 1;
    }
    // Cut off after a bounded amount: far fewer than 200 × 32 KiB were queued.
    expect(slow.sigil.realtime.hub.size).toBe(0);
    expect(writes).toBeLessThan(200);
    (s.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await s.closed).code).toBe(4008);
    await slow.close();
  });

  it('error replies to invalid frames count against the outbound cap: a client that does not read them is closed with 4008', async () => {
    // A generous error budget, so only the outbound cap can end it.
    const capped = await startTestSigil({ listen: true, realtime: { maxBufferedBytes: 64 * 1024, maxErrorsPerMinute: 1_000_000 } });
    const s = await openSocket(wsUrl(capped.url!));
    sockets.push(s);
    s.send({ type: 'subscribe', id: 'keep', collection: 'nothing_here' });
    await s.next((m) => m.type === 'error');
    const raw = (s.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    // Far more replies than the kernel's socket buffers hold, so they pile up in the server.
    for (let i = 0; i < 200_000 && s.ws.readyState === s.ws.OPEN; i++) s.ws.send('x');
    await expect.poll(() => capped.sigil.realtime.hub.size, { timeout: 10_000 }).toBe(0);
    raw.resume();
    expect((await s.closed).code).toBe(4008);
    await capped.close();
  });

  it('closes a client that sends only invalid messages with 1008 once it used up its error budget', async () => {
    const s = await open();
    const garbage: unknown[] = ['not json', Buffer.from([1, 2, 3]), { type: 'nonsense' }, { type: 'unsubscribe' }];
    for (let i = 0; i < 200 && s.ws.readyState === s.ws.OPEN; i++) {
      const item = garbage[i % garbage.length];
      if (Buffer.isBuffer(item)) s.ws.send(item, { binary: true });
      else s.send(item);
    }
    const closed = await s.closed;
    expect(closed.code).toBe(1008);
    // Every invalid message before the cut got its error, and no more than the budget did.
    const errors = s.messages.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(REALTIME_DEFAULTS.maxErrorsPerMinute);
  });

  it('ping is answered with pong, in order, and never spends the error budget', async () => {
    const s = await open();
    for (let i = 0; i < REALTIME_DEFAULTS.maxErrorsPerMinute * 2; i++) s.send({ type: 'ping' });
    s.send({ type: 'subscribe', id: 'after', collection: 'open' });
    const pongs = await s.collect((m) => m.type === 'pong', REALTIME_DEFAULTS.maxErrorsPerMinute * 2);
    expect(pongs).toHaveLength(REALTIME_DEFAULTS.maxErrorsPerMinute * 2);
    expect(await s.next((m) => m.type === 'subscribed')).toMatchObject({ id: 'after' });
    expect(s.messages.filter((m) => m.type === 'error')).toHaveLength(0);
    expect(s.ws.readyState).toBe(s.ws.OPEN);
    s.close();
  });

  it('a well-behaved client that makes occasional mistakes keeps its connection', async () => {
    const s = await open();
    s.send({ type: 'subscribe', id: 'ok', collection: 'open' });
    await s.next((m) => m.type === 'subscribed');
    for (let i = 0; i < 10; i++) s.send('oops');
    await s.collect((m) => m.type === 'error', 10);
    s.send({ type: 'unsubscribe', id: 'ok' });
    expect(await s.next((m) => m.type === 'unsubscribed')).toMatchObject({ id: 'ok' });
  });

  it.each([
    ['a frame over 64 KiB', 1009, (s: TestSocket) => s.send('x'.repeat(70 * 1024))],
    ['invalid UTF-8 in a text frame', 1007, (s: TestSocket) => s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })],
    // A final frame with the reserved opcode 0x3, masked, empty: written to the TCP socket by hand.
    ['a reserved opcode', 1002, (s: TestSocket) => (s.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0]))],
  ])('logs %s at debug level, not as an error with a stack', async (_name, code, misbehave) => {
    const s = await open();
    const before = t.logs.length;
    misbehave(s);
    expect((await s.closed).code).toBe(code);
    await expect.poll(() => t.logs.slice(before).some((line) => line.includes('WS_ERR_')), { timeout: 2000 }).toBe(true);
    const lines = t.logs.slice(before).map((line) => JSON.parse(line) as { level: number; msg?: string; err?: { stack?: string } });
    const wsLines = lines.filter((l) => JSON.stringify(l).includes('WS_ERR_'));
    expect(wsLines.length).toBeGreaterThan(0);
    for (const line of wsLines) {
      expect(line.level).toBe(20);
      expect(line.err?.stack).toBeUndefined();
    }
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('sends auth_expired when the token expires, holds non-public events, and catches up after a fresh auth', async () => {
    const fresh = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: user.username, password: user.password } });
    const s = await open();
    s.send({ type: 'auth', token: fresh.json<{ accessToken: string }>().accessToken });
    await s.next((m) => m.type === 'authed');
    s.send({ type: 'subscribe', id: 'priv', collection: 'private' });
    await s.next((m) => m.type === 'subscribed');
    await s.next((m) => m.type === 'auth_expired', 4000);
    const adminLogin = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: admin.username, password: admin.password } });
    const adminToken = adminLogin.json<{ accessToken: string }>().accessToken;
    const during = await t.request({ method: 'POST', url: '/api/collections/private/records', token: adminToken, body: { title: 'while expired' } });
    expect(during.statusCode).toBe(201);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.messages.filter((m) => m.type === 'change')).toHaveLength(0);
    const login = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: user.username, password: user.password } });
    s.send({ type: 'auth', token: login.json<{ accessToken: string }>().accessToken });
    const event = await s.next((m) => m.type === 'change');
    expect(event['record']).toMatchObject({ title: 'while expired' });
  });
});

/** The HTTP answer to an upgrade that was refused, or 101 if it went through (then the socket is kept open). */
function upgrade(
  url: string,
  localAddress: string,
  held: WebSocket[],
  headers: Record<string, string> = {},
): Promise<{ status: number; retryAfter: string | undefined; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url), { localAddress, headers });
    ws.once('open', () => {
      held.push(ws);
      resolve({ status: 101, retryAfter: undefined, code: undefined });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        const code = (JSON.parse(body) as { error: { code: string } }).error.code;
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], code });
      });
    });
    ws.once('error', reject);
  });
}

describe('WebSocket connection caps', () => {
  let t: TestSigil;
  const held: WebSocket[] = [];
  beforeAll(async () => {
    t = await startTestSigil({ listen: true, env: { REALTIME_MAX_CONNECTIONS: '5', REALTIME_MAX_CONNECTIONS_PER_IP: '3' } });
  });
  afterAll(async () => {
    for (const ws of held) ws.terminate();
    await t.close();
  });

  it('per client address: the 4th upgrade from one address is refused with 429 before upgrading', async () => {
    for (let i = 0; i < 3; i++) expect((await upgrade(t.url!, '127.0.0.1', held)).status).toBe(101);
    const refused = await upgrade(t.url!, '127.0.0.1', held);
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await upgrade(t.url!, '127.0.0.2', held)).status).toBe(101);
  });

  it('in total: past REALTIME_MAX_CONNECTIONS every address gets 503 with Retry-After', async () => {
    expect((await upgrade(t.url!, '127.0.0.3', held)).status).toBe(101); // the 5th
    const refused = await upgrade(t.url!, '127.0.0.4', held);
    expect(refused).toMatchObject({ status: 503, code: 'unavailable' });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // HTTP requests are not counted against it.
    expect((await fetch(`${t.url!}/api/health`)).status).toBe(200);
  });

  it('a closed connection frees its place', async () => {
    const first = held.shift()!;
    await new Promise<void>((resolve) => {
      first.once('close', () => resolve());
      first.close();
    });
    await expect.poll(async () => (await upgrade(t.url!, '127.0.0.1', held)).status, { timeout: 2000 }).toBe(101);
  });
});

describe('WebSocket caps behind a reverse proxy (TRUST_PROXY)', () => {
  let t: TestSigil;
  const held: WebSocket[] = [];
  beforeAll(async () => {
    t = await startTestSigil({ listen: true, env: { TRUST_PROXY: 'true', REALTIME_MAX_CONNECTIONS_PER_IP: '1' } });
  });
  afterAll(async () => {
    for (const ws of held) ws.terminate();
    await t.close();
  });

  it('counts the forwarded client address, IPv6 by /64', async () => {
    const from = (address: string) => upgrade(t.url!, '127.0.0.1', held, { 'x-forwarded-for': address });
    expect((await from('198.51.100.7')).status).toBe(101);
    expect((await from('198.51.100.8')).status).toBe(101);
    expect((await from('198.51.100.7')).status).toBe(429);
    expect((await from('2001:db8:5:6::1')).status).toBe(101);
    expect((await from('2001:db8:5:6::ffff')).status).toBe(429);
    expect((await from('2001:db8:5:7::1')).status).toBe(101);
  });
});
