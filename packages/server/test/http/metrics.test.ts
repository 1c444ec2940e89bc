import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { createAdmin, register, startTestSigil, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type TestSocket } from '../helpers/ws-client.js';

const TOKEN = 'metrics-7QmV2pX9rT4wZ8yB3nK6cF1hJ5dL0sGaWq';

/** The value of one sample of a Prometheus text exposition, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(url: string, token: string | undefined = TOKEN): Promise<string> {
  const res = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe.each(STORES)('GET /metrics on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  const sockets: TestSocket[] = [];
  const metricsUrl = (): string => `${t.url!}/metrics`;

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name, {
      listen: true,
      env: { METRICS_TOKEN: TOKEN, AUTH_RATE_LIMIT_PER_ADDRESS: '1000/1m', AUTH_RATE_LIMIT_PER_USERNAME: '3/1m' },
    });
    admin = await createAdmin(t);
    const schema = { type: 'object', properties: { title: { type: 'string' } } };
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'notes', schema, rules: { list: 'public', view: 'public', create: 'public' } } });
    expect(res.statusCode, res.body).toBe(201);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  describe.skipIf(backend.skipReason !== null)('scraped over HTTP', () => {
    it('needs the token: none or a wrong one is 401 with the error body', async () => {
      for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }]) {
        const res = await fetch(metricsUrl(), { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        expect(await res.json()).toMatchObject({ error: { code: 'unauthorized', message: expect.stringContaining('METRICS_TOKEN') as unknown } });
      }
      // Refused scrapes never show the metrics themselves.
      const text = await scrape(metricsUrl());
      expect(text).toContain('# TYPE sigil_http_request_duration_seconds histogram');
    });

    it('counts requests by method, route pattern and status, with latency buckets', async () => {
      for (const id of ['a1', 'b2', 'c3']) await fetch(`${t.url!}/api/collections/notes/records/${id}`);
      await fetch(`${t.url!}/no/such/route/${Math.random()}`);
      const text = await scrape(metricsUrl());
      const route = '/api/collections/:name/records/:id';
      expect(sample(text, 'sigil_http_request_duration_seconds_count', { method: 'GET', route, status: '404' })).toBe(3);
      expect(sample(text, 'sigil_http_request_duration_seconds_bucket', { method: 'GET', route, status: '404', le: '+Inf' })).toBe(3);
      expect(sample(text, 'sigil_http_request_duration_seconds_sum', { method: 'GET', route, status: '404' })).toBeGreaterThan(0);
      // Unknown URLs share one series: a scanner cannot grow the label set.
      expect(sample(text, 'sigil_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
      expect(text).not.toMatch(/records\/a1|no\/such/);
    });

    it('counts auth failures and rate-limit hits, over HTTP and realtime', async () => {
      const before = await scrape(metricsUrl());
      const failures = (text: string, transport: string): number => sample(text, 'sigil_auth_failures_total', { transport }) ?? 0;
      const limited = (text: string, transport: string): number => sample(text, 'sigil_rate_limit_hits_total', { transport }) ?? 0;
      const user = await register(t);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: user.username, password: 'wrong password' } });
        statuses.push(res.statusCode);
      }
      // Registering spent one attempt of the username's budget (3/1m): two wrong passwords, then 429.
      expect(statuses).toEqual([401, 401, 429, 429, 429]);
      const s = await openSocket(wsUrl(t.url!));
      sockets.push(s);
      s.send({ type: 'auth', token: 'not.a.token' });
      expect((await s.closed).code).toBe(4001);
      const after = await scrape(metricsUrl());
      // inject() requests are counted like any other: they pass the same hooks.
      expect(failures(after, 'http') - failures(before, 'http')).toBe(2);
      expect(limited(after, 'http') - limited(before, 'http')).toBe(3);
      expect(failures(after, 'realtime') - failures(before, 'realtime')).toBe(1);
    });

    it('shows realtime connections, subscriptions, delivery lag and the change log', async () => {
      const s = await openSocket(wsUrl(t.url!));
      sockets.push(s);
      s.send({ type: 'subscribe', id: 'n', collection: 'notes' });
      await s.next((m) => m.type === 'subscribed');
      const before = await scrape(metricsUrl());
      expect(sample(before, 'sigil_realtime_connections')).toBeGreaterThanOrEqual(1);
      expect(sample(before, 'sigil_realtime_subscriptions')).toBeGreaterThanOrEqual(1);
      const lagCount = (text: string): number => sample(text, 'sigil_realtime_delivery_lag_seconds_count') ?? 0;
      for (let i = 0; i < 3; i++) {
        const res = await t.request({ method: 'POST', url: '/api/collections/notes/records', body: { title: `n${i}` } });
        expect(res.statusCode).toBe(201);
      }
      await s.collect((m) => m.type === 'change', 3);
      await expect.poll(async () => lagCount(await scrape(metricsUrl())), { timeout: 5000 }).toBe(lagCount(before) + 3);
      const after = await scrape(metricsUrl());
      // Three changes, delivered at once: well under a second each.
      expect(sample(after, 'sigil_realtime_delivery_lag_seconds_bucket', { le: '1' })! - (sample(before, 'sigil_realtime_delivery_lag_seconds_bucket', { le: '1' }) ?? 0)).toBe(3);
      const latest = sample(after, 'sigil_change_log_latest_seq')!;
      expect(latest).toBeGreaterThanOrEqual(3);
      // Nothing pruned yet: every change since the first is kept.
      expect(sample(after, 'sigil_change_log_entries')).toBe(latest);
    });

    it('shows the database pool on PostgreSQL (SQLite has none), and event-loop delay', async () => {
      const text = await scrape(metricsUrl());
      if (backend.name === 'postgres') {
        expect(sample(text, 'sigil_db_pool_connections', { state: 'max' })).toBe(10);
        expect(sample(text, 'sigil_db_pool_connections', { state: 'open' })).toBeGreaterThanOrEqual(1);
        // Queries waiting for a connection (also while a new one is being opened): this scrape's own, at most.
        expect(sample(text, 'sigil_db_pool_connections', { state: 'waiting' })).toBeGreaterThanOrEqual(0);
      } else {
        expect(sample(text, 'sigil_db_pool_connections', { state: 'max' })).toBeUndefined();
      }
      expect(sample(text, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    });
  });
});

describe('metrics', () => {
  it('are off by default: /metrics is 404', async () => {
    const t = await startTestSigil();
    try {
      const res = await t.request({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(t.sigil.metricsUrl).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('count a slow consumer closed with 4008', async () => {
    const t = await startTestSigil({ listen: true, env: { METRICS_TOKEN: TOKEN }, realtime: { maxBufferedBytes: 256 * 1024 } });
    try {
      const admin = await createAdmin(t);
      const schema = { type: 'object', properties: { blob: { type: 'string' } } };
      await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'open', schema, rules: { list: 'public', view: 'public', create: 'public' } } });
      const s = await openSocket(wsUrl(t.url!));
      s.send({ type: 'subscribe', id: 'slow', collection: 'open' });
      await s.next((m) => m.type === 'subscribed');
      expect(sample(await scrape(`${t.url!}/metrics`), 'sigil_realtime_slow_consumer_closes_total')).toBe(0);
      (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const blob = 'x'.repeat(32 * 1024);
      for (let i = 0; i < 200 && t.sigil.realtime.hub.size > 0; i++) {
        await t.request({ method: 'POST', url: '/api/collections/open/records', body: { blob } });
      }
      expect(t.sigil.realtime.hub.size).toBe(0);
      expect(sample(await scrape(`${t.url!}/metrics`), 'sigil_realtime_slow_consumer_closes_total')).toBe(1);
      s.ws.terminate();
    } finally {
      await t.close();
    }
  });

  it('with METRICS_LISTEN are served only on that separate address, with the token when one is set', async () => {
    const t = await startTestSigil({ listen: true, env: { METRICS_LISTEN: '127.0.0.1:0', METRICS_TOKEN: TOKEN } });
    try {
      expect((await fetch(`${t.url!}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
      const url = t.sigil.metricsUrl!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(new URL(url).port).not.toBe(new URL(t.url!).port);
      expect((await fetch(url)).status).toBe(401);
      expect(await scrape(url)).toContain('sigil_realtime_connections');
      expect((await fetch(url.replace('/metrics', '/api/health'))).status).toBe(404);
      expect((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
      // It stops with the server.
      await t.close();
      await expect(fetch(url)).rejects.toThrow();
    } finally {
      await t.close();
    }
  });

  it('with METRICS_LISTEN and no token are open to whoever reaches that address', async () => {
    const t = await startTestSigil({ listen: true, env: { METRICS_LISTEN: '127.0.0.1:0' } });
    try {
      expect(await scrape(t.sigil.metricsUrl!, undefined)).toContain('sigil_http_request_duration_seconds');
    } finally {
      await t.close();
    }
  });
});
