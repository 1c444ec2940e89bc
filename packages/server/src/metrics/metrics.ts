import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read at scrape time, wired once the services exist. */
export interface MetricsSources {
  realtime(): { readonly connections: number; readonly subscriptions: number };
  /** The change log's oldest and newest seq (gap-free between them); oldest null when empty. */
  changeLog(): Promise<{ readonly oldestSeq: number | null; readonly latestSeq: number }>;
  /** The database pool's connections; null when the engine has none (SQLite). */
  pool(): { readonly total: number; readonly idle: number; readonly waiting: number; readonly max: number } | null;
}

export type Transport = 'http' | 'realtime';

export interface Metrics {
  /** Prometheus text exposition of everything below. */
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
  attach(sources: MetricsSources): void;
  /** One answered HTTP request; `route` is the route's pattern (never the raw URL: bounded labels). */
  request(method: string, route: string, status: number, seconds: number): void;
  /** A refused credential or token (401), over HTTP or a realtime `auth`. */
  authFailure(transport: Transport): void;
  rateLimited(transport: Transport): void;
  /** A realtime client closed with 4008 for not reading. */
  slowConsumerClosed(): void;
  /** A live change (committed at `committedAtMs`) was just written to its subscribers' sockets. */
  delivered(committedAtMs: number): void;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Sigil's Prometheus metrics, on a registry of their own (several servers in
 * one process keep theirs apart). Built only when metrics are configured: a
 * server without them pays nothing per request. Documented in
 * docs/operations.md.
 */
export function createMetrics(opts: { readonly now: () => number }): Metrics {
  const registry = new Registry();
  // Process CPU and memory, heap, GC, handles, and event-loop delay (nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry });
  let sources: MetricsSources | undefined;

  const requests = new Histogram({
    name: 'sigil_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status: latency from the request arriving to the answer written (_count: how many).',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'sigil_auth_failures_total',
    help: 'Refused credentials and tokens (401 answers; realtime auth errors).',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  const rateLimits = new Counter({
    name: 'sigil_rate_limit_hits_total',
    help: 'Requests and realtime messages refused by a rate limit (429, rate_limited).',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  const slowConsumers = new Counter({
    name: 'sigil_realtime_slow_consumer_closes_total',
    help: 'Realtime clients closed with 4008 because they did not read fast enough.',
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'sigil_realtime_delivery_lag_seconds',
    help: 'From a change being written (just before its commit) to its event written to the subscribers\' sockets; live delivery only, not replays.',
    buckets: LAG_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'sigil_realtime_connections',
    help: 'Open realtime (WebSocket) connections.',
    registers: [registry],
    collect() {
      if (sources) this.set(sources.realtime().connections);
    },
  });
  new Gauge({
    name: 'sigil_realtime_subscriptions',
    help: 'Subscriptions of the open realtime connections (live, replaying or paused).',
    registers: [registry],
    collect() {
      if (sources) this.set(sources.realtime().subscriptions);
    },
  });
  new Gauge({
    name: 'sigil_change_log_entries',
    help: 'Entries in the change log clients resume from (REALTIME_RETENTION of history).',
    registers: [registry],
    async collect() {
      if (!sources) return;
      const { oldestSeq, latestSeq } = await sources.changeLog();
      this.set(oldestSeq === null ? 0 : latestSeq - oldestSeq + 1);
    },
  });
  new Gauge({
    name: 'sigil_change_log_latest_seq',
    help: 'The newest seq of the change log.',
    registers: [registry],
    async collect() {
      if (sources) this.set((await sources.changeLog()).latestSeq);
    },
  });
  new Gauge({
    name: 'sigil_db_pool_connections',
    help: 'Database pool connections by state (PostgreSQL; absent on SQLite, which has no pool): open, idle, max, and waiting (queries waiting for a connection).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const pool = sources?.pool();
      if (!pool) return;
      this.set({ state: 'open' }, pool.total);
      this.set({ state: 'idle' }, pool.idle);
      this.set({ state: 'max' }, pool.max);
      this.set({ state: 'waiting' }, pool.waiting);
    },
  });

  return {
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    attach(s) {
      sources = s;
    },
    request(method, route, status, seconds) {
      requests.observe({ method, route, status }, seconds);
      if (status === 401) authFailures.inc({ transport: 'http' });
      else if (status === 429) rateLimits.inc({ transport: 'http' });
    },
    authFailure(transport) {
      authFailures.inc({ transport });
    },
    rateLimited(transport) {
      rateLimits.inc({ transport });
    },
    slowConsumerClosed() {
      slowConsumers.inc();
    },
    delivered(committedAtMs) {
      lag.observe(Math.max(0, opts.now() - committedAtMs) / 1000);
    },
  };
}
