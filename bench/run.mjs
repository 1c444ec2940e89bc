#!/usr/bin/env node
// `npm run bench` (which builds first): HTTP load with autocannon, in this
// process, against servers running as child processes — a bare `node:http`
// JSON server (the baseline) and Sigil — one workload at a time, on loopback.
// Prints a markdown table and writes it to bench/results/<YYYY-MM-DD>.md.
//
// Exit code: 0 when every workload ran clean (no errors, no timeouts, no
// non-2xx answers); 1 otherwise, or when a server fails to start or crashes.
// Missing a ratio target is reported (PASS/FAIL) but does not fail the run.
//
// Environment (all optional):
//   BENCH_DURATION      seconds measured per workload (default 10)
//   BENCH_WARMUP        seconds of warm-up before each measured run (default 2; 0 = none)
//   BENCH_CONNECTIONS   concurrent connections (default 50)
//   BENCH_ONLY          comma-separated workload ids to run (default: all)
//   BENCH_DATABASE_URL  PostgreSQL admin URL: Sigil runs on a fresh database created
//                       there for the run and dropped afterwards (default: SQLite)
//   BENCH_SIGIL_CMD     command that starts the server under test instead of the built
//                       Sigil CLI, whitespace-separated, `{port}` replaced by the port
//   BENCH_RESULTS_DIR   where the results file goes (default bench/results)
//   BENCH_RT_SUBSCRIBERS  WebSocket subscribers of the realtime fan-out workloads (default 1000)
//   BENCH_RT_RATE       writes per second of the realtime fan-out workloads (default 200)
//
// Adding a workload: append an entry to `workloads` below. Adding a ratio
// target: append an entry to `ratios`; a realtime latency target: to
// `realtimeTargets`. A lost realtime event fails the run.
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connectLeanWebSocket } from './lean-websocket.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SIGIL_CLI = join(ROOT, 'packages/server/dist/cli/main.js');
const BARE_SERVER = join(ROOT, 'bench/bare-server.mjs');

const settings = {
  duration: numberFromEnv('BENCH_DURATION', 10, { min: 1 }),
  warmup: numberFromEnv('BENCH_WARMUP', 2, { min: 0 }),
  connections: numberFromEnv('BENCH_CONNECTIONS', 50, { min: 1, integer: true }),
  pipelining: 1,
  only: (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
  databaseAdminUrl: process.env.BENCH_DATABASE_URL?.trim() || undefined,
  sigilCommand: process.env.BENCH_SIGIL_CMD?.trim() || undefined,
  resultsDir: resolve(ROOT, process.env.BENCH_RESULTS_DIR?.trim() || 'bench/results'),
  rtSubscribers: numberFromEnv('BENCH_RT_SUBSCRIBERS', 1000, { min: 1, integer: true }),
  rtRate: numberFromEnv('BENCH_RT_RATE', 200, { min: 1 }),
};
/** The database Sigil runs on in this run: realtime targets are per database. */
const DIALECT = settings.databaseAdminUrl ? 'postgres' : 'sqlite';

/** The user every Sigil workload acts as. */
const BENCH_USER = { username: 'bench_user', password: 'bench-password-1' };
/** An admin Sigil creates at start-up, for workloads that need to set up collections. */
const BENCH_ADMIN = { username: 'bench_admin', password: randomBytes(18).toString('base64url') };

// ---------------------------------------------------------------------------
// Workloads. Each one: a stable `id`, a display `name`, the `target` server
// ('bare' or 'sigil'), and `setup(ctx)`, which prepares data, checks once that
// the request answers as expected, and returns autocannon options (`path`,
// `method`, `headers`, `body`, `requests`, …) merged over the defaults
// (url of the target, connections, pipelining, duration, warm-up).
// ctx.bare / ctx.sigil: { url } (sigil also: user {user, accessToken,
// refreshToken}, admin credentials, databaseLabel); ctx.request(target,
// method, path, {headers, body, token}) → {status, json, text}.
// A workload that is not plain HTTP load provides `measure` (see customMeasure).
// ---------------------------------------------------------------------------
const workloads = [
  {
    id: 'bare',
    name: 'bare node:http GET /',
    target: 'bare',
    async setup(ctx) {
      const res = await ctx.request(ctx.bare, 'GET', '/');
      expectAnswer(res, 200, (j) => typeof j?.user?.username === 'string', 'bare GET /');
      return { method: 'GET', path: '/' };
    },
  },
  {
    id: 'auth-me',
    name: 'Sigil GET /api/auth/me',
    target: 'sigil',
    async setup(ctx) {
      const token = ctx.sigil.user.accessToken;
      const res = await ctx.request(ctx.sigil, 'GET', '/api/auth/me', { token });
      expectAnswer(res, 200, (j) => j?.user?.username === BENCH_USER.username, 'GET /api/auth/me');
      return { method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${token}` } };
    },
  },
  {
    id: 'login',
    name: 'Sigil POST /api/auth/login (argon2id)',
    target: 'sigil',
    async setup(ctx) {
      const res = await ctx.request(ctx.sigil, 'POST', '/api/auth/login', { body: BENCH_USER });
      expectAnswer(res, 200, (j) => typeof j?.accessToken === 'string', 'POST /api/auth/login');
      return {
        method: 'POST',
        path: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(BENCH_USER),
      };
    },
  },
  {
    id: 'records-get',
    name: 'Sigil GET record by id (10k records)',
    target: 'sigil',
    async setup(ctx) {
      const { ids } = await ensureRecords(ctx);
      const token = ctx.sigil.user.accessToken;
      const first = await ctx.request(ctx.sigil, 'GET', `/api/collections/${BENCH_COLLECTION}/records/${ids[0]}`, { token });
      expectAnswer(first, 200, (j) => j?.id === ids[0], 'GET record');
      let i = 0;
      return {
        headers: { authorization: `Bearer ${token}` },
        requests: [
          {
            method: 'GET',
            // A different record each time, spread over the whole table.
            setupRequest: (req) => ({ ...req, path: `/api/collections/${BENCH_COLLECTION}/records/${ids[(i = (i + 7919) % ids.length)]}` }),
          },
        ],
      };
    },
  },
  {
    id: 'records-list',
    name: 'Sigil GET records, filter on indexed field + sort, limit 20',
    target: 'sigil',
    async setup(ctx) {
      await ensureRecords(ctx);
      const token = ctx.sigil.user.accessToken;
      const query = `filter=${encodeURIComponent(JSON.stringify({ priority: 3 }))}&sort=-createdAt&limit=20`;
      const path = `/api/collections/${BENCH_COLLECTION}/records?${query}`;
      const res = await ctx.request(ctx.sigil, 'GET', path, { token });
      expectAnswer(res, 200, (j) => j?.items?.length === 20 && j.items.every((r) => r.priority === 3), 'GET records list');
      return { method: 'GET', path, headers: { authorization: `Bearer ${token}` } };
    },
  },
  {
    id: 'records-list-refs',
    name: 'Sigil GET records with a relation field, limit 20 (no expand)',
    target: 'sigil',
    async setup(ctx) {
      await ensureRelations(ctx);
      return listOfComments(ctx, '');
    },
  },
  {
    id: 'records-list-expand',
    name: 'Sigil GET the same 20 records, expand=post (one single relation)',
    target: 'sigil',
    async setup(ctx) {
      await ensureRelations(ctx);
      return listOfComments(ctx, '&expand=post');
    },
  },
  {
    id: 'records-list-rule',
    name: 'Sigil GET records, same list under an expression view rule',
    target: 'sigil',
    async setup(ctx) {
      await ensureRecords(ctx, RULED_COLLECTION);
      const token = ctx.sigil.user.accessToken;
      const query = `filter=${encodeURIComponent(JSON.stringify({ priority: 3 }))}&sort=-createdAt&limit=20`;
      const path = `/api/collections/${RULED_COLLECTION}/records?${query}`;
      const res = await ctx.request(ctx.sigil, 'GET', path, { token });
      expectAnswer(res, 200, (j) => j?.items?.length === 20 && j.items.every((r) => r.priority === 3), 'GET records list under a rule');
      return { method: 'GET', path, headers: { authorization: `Bearer ${token}` } };
    },
  },
  {
    id: 'records-create',
    name: 'Sigil POST record',
    target: 'sigil',
    async setup(ctx) {
      await ensureRecords(ctx);
      const token = ctx.sigil.user.accessToken;
      const body = JSON.stringify({ title: 'benchmark item', priority: 2, done: false, tags: ['bench'] });
      const path = `/api/collections/${BENCH_COLLECTION}/records`;
      const res = await ctx.request(ctx.sigil, 'POST', path, { token, body: JSON.parse(body) });
      expectAnswer(res, 201, (j) => typeof j?.id === 'string', 'POST record');
      return { method: 'POST', path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body };
    },
  },
  {
    id: 'records-batch',
    name: 'Sigil POST /api/batch of 10 creates',
    target: 'sigil',
    // Each request writes this many records: ratios `per: 'record'` count records/s.
    recordsPerRequest: 10,
    async setup(ctx) {
      await ensureRecords(ctx);
      const token = ctx.sigil.user.accessToken;
      const record = { title: 'benchmark item', priority: 2, done: false, tags: ['bench'] };
      const body = JSON.stringify({ operations: Array.from({ length: 10 }, () => ({ op: 'create', collection: BENCH_COLLECTION, record })) });
      const res = await ctx.request(ctx.sigil, 'POST', '/api/batch', { token, body: JSON.parse(body) });
      expectAnswer(res, 200, (j) => j?.results?.length === 10 && j.results.every((r) => r.status === 201), 'POST /api/batch');
      return { method: 'POST', path: '/api/batch', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body };
    },
  },
  {
    id: 'realtime-fanout',
    name: 'Sigil realtime fan-out',
    target: 'sigil',
    measure: (ctx) => measureFanout(ctx, { writeTo: ctx.sigil, subscribeTo: ctx.sigil, collection: 'rt_fanout' }),
  },
  {
    id: 'realtime-fanout-cross',
    name: 'Sigil realtime fan-out, subscribers on a 2nd instance',
    target: 'sigil2',
    // Instances share a database only on PostgreSQL: skipped on SQLite.
    requires: 'postgres',
    measure: (ctx) => measureFanout(ctx, { writeTo: ctx.sigil, subscribeTo: ctx.sigil2, collection: 'rt_fanout_cross' }),
  },
];

/** Targets as ratios of one workload's mean req/s to another's, measured in the same run. */
const ratios = [
  { numerator: 'auth-me', denominator: 'bare', target: 0.5 },
  // The records targets, on the embedded database and (issue 14) on PostgreSQL.
  { numerator: 'records-get', denominator: 'bare', target: 0.4, dialect: 'sqlite' },
  { numerator: 'records-list', denominator: 'bare', target: 0.25, dialect: 'sqlite' },
  { numerator: 'records-create', denominator: 'bare', target: 0.2, dialect: 'sqlite' },
  { numerator: 'records-get', denominator: 'bare', target: 0.25, dialect: 'postgres' },
  { numerator: 'records-list', denominator: 'bare', target: 0.15, dialect: 'postgres' },
  { numerator: 'records-create', denominator: 'bare', target: 0.15, dialect: 'postgres' },
  // Issue 10: a list under an expression `view` rule keeps 80% of the same list under a keyword rule.
  { numerator: 'records-list-rule', denominator: 'records-list', target: 0.8 },
  // Expand (docs/relations.md): a page of 20 with one single-relation expand keeps 60% of the same page without it.
  { numerator: 'records-list-expand', denominator: 'records-list-refs', target: 0.6 },
  // Records per second written by batches of 10 against single creates (issue 10): at least 5×.
  { numerator: 'records-batch', denominator: 'records-create', target: 5, per: 'record', dialect: 'sqlite' },
];

/**
 * Realtime targets (SPEC §7): delivery latency p99 below `p99Ms` on
 * `dialect`; lost events must be 0 everywhere (a loss fails the run).
 */
const realtimeTargets = [
  { workload: 'realtime-fanout', dialect: 'sqlite', p99Ms: 50 },
  // Issue 14: 1,000 subscribers × 200 writes/s on PostgreSQL, on one instance and through a second one.
  { workload: 'realtime-fanout', dialect: 'postgres', p99Ms: 100 },
  { workload: 'realtime-fanout-cross', dialect: 'postgres', p99Ms: 100 },
];

const BENCH_COLLECTION = 'bench_items';
/** The same records under a rule expression on indexed fields. */
const RULED_COLLECTION = 'bench_ruled';
const RULED_VIEW = { $or: [{ done: false }, { owner: '@auth.id' }] };
const SEED_RECORDS = 10_000;
const seeded = new Map();

/**
 * Once per run: the benchmark collection (indexed on `priority`) with 10,000
 * records, created through the API by the bench admin and user.
 */
async function ensureRecords(ctx, collection = BENCH_COLLECTION) {
  if (!seeded.has(collection)) seeded.set(collection, seed(ctx, collection));
  return seeded.get(collection);
}

async function seed(ctx, collection) {
  return (async () => {
    const token0 = await adminToken(ctx);
    const schema = {
      type: 'object',
      required: ['title'],
      properties: { title: { type: 'string' }, priority: { type: 'integer' }, done: { type: 'boolean' }, tags: { type: 'array', items: { type: 'string' } } },
    };
    const ruled = collection === RULED_COLLECTION;
    const body = { name: collection, schema, indexes: [['priority'], ['priority', 'createdAt'], ...(ruled ? [['done']] : [])], ...(ruled ? { rules: { view: RULED_VIEW } } : {}) };
    const created = await ctx.request(ctx.sigil, 'POST', '/api/collections', { token: token0, body });
    expectAnswer(created, 201, (j) => j?.collection?.name === collection, 'create collection');
    const token = ctx.sigil.user.accessToken;
    const ids = [];
    let next = 0;
    const worker = async () => {
      while (next < SEED_RECORDS) {
        const n = next++;
        const res = await ctx.request(ctx.sigil, 'POST', `/api/collections/${collection}/records`, {
          token,
          body: { title: `item ${n}`, priority: n % 5, done: n % 2 === 0, tags: ['seed'] },
        });
        expectAnswer(res, 201, (j) => typeof j?.id === 'string', 'seed record');
        ids.push(res.json.id);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return { ids };
  })();
}

const RELATED_POSTS = 'bench_posts';
const RELATED_COMMENTS = 'bench_comments';
let relationsSeeded;

/** Once per run: 20 posts and 200 comments, each naming one of the posts in its `post` relation. */
function ensureRelations(ctx) {
  relationsSeeded ??= (async () => {
    const admin = await adminToken(ctx);
    const token = ctx.sigil.user.accessToken;
    const posts = { name: RELATED_POSTS, schema: { type: 'object', properties: { title: { type: 'string' }, body: { type: 'string' } } } };
    expectAnswer(await ctx.request(ctx.sigil, 'POST', '/api/collections', { token: admin, body: posts }), 201, (j) => j?.collection?.name === RELATED_POSTS, 'create posts');
    const comments = {
      name: RELATED_COMMENTS,
      schema: { type: 'object', properties: { text: { type: 'string' }, post: { type: 'string', 'x-relation': { collection: RELATED_POSTS } } } },
      indexes: [['post']],
    };
    expectAnswer(await ctx.request(ctx.sigil, 'POST', '/api/collections', { token: admin, body: comments }), 201, (j) => j?.collection?.name === RELATED_COMMENTS, 'create comments');
    const ids = [];
    for (let i = 0; i < 20; i++) {
      const res = await ctx.request(ctx.sigil, 'POST', `/api/collections/${RELATED_POSTS}/records`, { token, body: { title: `post ${i}`, body: 'A post of the benchmark, about as long as a short paragraph of text.' } });
      expectAnswer(res, 201, (j) => typeof j?.id === 'string', 'seed post');
      ids.push(res.json.id);
    }
    for (let i = 0; i < 200; i++) {
      const res = await ctx.request(ctx.sigil, 'POST', `/api/collections/${RELATED_COMMENTS}/records`, { token, body: { text: `comment ${i}`, post: ids[i % 20] } });
      expectAnswer(res, 201, (j) => typeof j?.id === 'string', 'seed comment');
    }
  })();
  return relationsSeeded;
}

/** The newest 20 comments, with `extra` appended to the query. */
async function listOfComments(ctx, extra) {
  const token = ctx.sigil.user.accessToken;
  const path = `/api/collections/${RELATED_COMMENTS}/records?sort=-createdAt&limit=20${extra}`;
  const res = await ctx.request(ctx.sigil, 'GET', path, { token });
  const expanded = extra !== '';
  expectAnswer(res, 200, (j) => j?.items?.length === 20 && j.items.every((r) => (expanded ? r.expand?.post?.id === r.post : r.expand === undefined)), `GET comments${extra}`);
  return { method: 'GET', path, headers: { authorization: `Bearer ${token}` } };
}

let adminTokenPromise;
/** The bench admin's access token (logged in once per run). */
function adminToken(ctx) {
  adminTokenPromise ??= (async () => {
    const login = await ctx.request(ctx.sigil, 'POST', '/api/auth/login', { body: { username: ctx.sigil.admin.username, password: ctx.sigil.admin.password } });
    expectAnswer(login, 200, (j) => typeof j?.accessToken === 'string', 'admin login');
    return login.json.accessToken;
  })();
  return adminTokenPromise;
}

// ---------------------------------------------------------------------------
// Realtime fan-out: N WebSocket subscribers in this process, M writes/s over
// HTTP, delivery latency per (subscriber, event) and lost events.
// ---------------------------------------------------------------------------

/**
 * After the last write, the runner waits for deliveries as long as they keep
 * coming: events still missing when none has arrived for RT_STALL_MS (or
 * RT_DRAIN_CAP_MS after the last write) count as lost. A late event is not
 * lost: it counts as delivered, with its latency.
 */
const RT_STALL_MS = 5_000;
const RT_DRAIN_CAP_MS = 120_000;
/** WebSocket connections opened at a time while connecting the subscribers. */
const RT_CONNECT_PARALLELISM = 50;


/**
 * One fan-out measurement. `subscribeTo` gets `settings.rtSubscribers`
 * WebSocket clients, each authenticated as bench_user and subscribed to a
 * fresh collection; then records are POSTed to `writeTo` at
 * `settings.rtRate` per second (open loop: each write starts on schedule,
 * whether or not the previous one has been answered), first for the warm-up
 * (discarded), then for the measured duration. Each record carries the
 * `performance.now()` of its write's start; a subscriber's delivery latency
 * is its receipt time minus that. Everything runs in this process, so both
 * times come from one clock.
 */
async function measureFanout(ctx, { writeTo, subscribeTo, collection }) {
  const count = settings.rtSubscribers;
  const token = ctx.sigil.user.accessToken;
  const schema = {
    type: 'object',
    required: ['p', 'i', 't'],
    properties: { p: { type: 'integer' }, i: { type: 'integer' }, t: { type: 'number' } },
  };
  const created = await ctx.request(ctx.sigil, 'POST', '/api/collections', { token: await adminToken(ctx), body: { name: collection, schema } });
  expectAnswer(created, 201, (j) => j?.collection?.name === collection, `create collection ${collection}`);

  /** Phases by number (0 warm-up, 1 measured); filled in by the writer, read by the subscribers. */
  const phases = [];
  const lastSeq = new Float64Array(count);
  let outOfOrder = 0;
  const problems = [];

  function onChange(index, message, receivedAt) {
    const { p, i, t } = message.record;
    const phase = phases[p];
    if (phase === undefined || !(i >= 0 && i < phase.n)) return;
    if (message.seq <= lastSeq[index]) outOfOrder += 1;
    lastSeq[index] = message.seq;
    const k = index * phase.n + i;
    if (phase.counts[k] === 0) phase.unique += 1;
    else phase.duplicates += 1;
    if (phase.counts[k] < 255) phase.counts[k] += 1;
    phase.latency[k] = receivedAt - t;
  }

  process.stdout.write(`bench:   connecting ${count.toLocaleString('en-US')} subscribers to ${subscribeTo.url}…\n`);
  const connectStart = performance.now();
  /** Subscribers cut off or sent something unexpected: they will not get the rest. */
  const subscriberProblems = [];
  const subscribers = await openSubscribers(subscribeTo.url, token, collection, count, onChange, subscriberProblems);
  process.stdout.write(`bench:   ${count.toLocaleString('en-US')} subscribed in ${((performance.now() - connectStart) / 1000).toFixed(1)} s\n`);
  try {
    if (settings.warmup > 0) {
      process.stdout.write(`bench:   warm-up: ${settings.rtRate} writes/s for ${settings.warmup} s…\n`);
      const warm = await runFanoutPhase(0, settings.warmup);
      if (warm.lost > 0) problems.push(`warm-up: ${warm.lost} events lost`);
      if (warm.duplicates > 0) problems.push(`warm-up: ${warm.duplicates} events delivered more than once`);
    }
    process.stdout.write(`bench:   measuring: ${settings.rtRate} writes/s for ${settings.duration} s…\n`);
    const servers = [...new Set([writeTo, subscribeTo])];
    const cpuBefore = {
      at: performance.now(), runner: process.cpuUsage(), servers: servers.map((x) => processCpuMs(x.child?.proc?.pid)),
      postgres: DIALECT === 'postgres' ? postgresCpuMs() : NaN,
    };
    const r = await runFanoutPhase(1, settings.duration);
    const elapsed = performance.now() - cpuBefore.at;
    const runnerUsage = process.cpuUsage(cpuBefore.runner);
    if (process.env.BENCH_DEBUG_CPU) process.stdout.write(`bench:   runner user ${(runnerUsage.user / 1000 / elapsed).toFixed(2)} system ${(runnerUsage.system / 1000 / elapsed).toFixed(2)}\n`);
    const cpu = {
      runner: (runnerUsage.user + runnerUsage.system) / 1000 / elapsed,
      sigil: servers.map((x, k) => (processCpuMs(x.child?.proc?.pid) - cpuBefore.servers[k]) / elapsed),
      postgres: (postgresCpuMs() - cpuBefore.postgres) / elapsed,
    };
    if (r.lost > 0) problems.push(`${r.lost.toLocaleString('en-US')} events lost (of ${r.expected.toLocaleString('en-US')} expected)`);
    if (r.duplicates > 0) problems.push(`${r.duplicates} events delivered more than once`);
    if (outOfOrder > 0) problems.push(`${outOfOrder} events out of seq order`);
    if (r.errorSamples.length) problems.push(`write errors: ${r.errorSamples.join('; ')}`);
    problems.push(...subscriberProblems);
    return {
      kind: 'realtime',
      rps: r.writeRate,
      p50: r.p50,
      p99: r.p99,
      max: r.max,
      ok: r.delivered,
      delivered: r.delivered,
      lost: r.lost,
      subscribers: count,
      writes: r.acked,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      statusCodes: r.statusCodes,
      cpu,
      problems,
    };
  } finally {
    subscribers.close();
  }

  async function runFanoutPhase(p, seconds) {
    const n = Math.max(1, Math.round(settings.rtRate * seconds));
    const phase = {
      n,
      counts: new Uint8Array(n * count),
      latency: new Float32Array(n * count),
      acked: new Uint8Array(n),
      unique: 0,
      duplicates: 0,
    };
    phases[p] = phase;
    let ackedCount = 0;
    let non2xx = 0;
    let errors = 0;
    let timeouts = 0;
    const errorSamples = new Set();
    const statusCodes = {};
    const url = new URL(`/api/collections/${collection}/records`, writeTo.url);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const write = async (i) => {
      const t = performance.now();
      try {
        const res = await post(url, headers, JSON.stringify({ p, i, t }));
        if (res.status === 201) {
          phase.acked[i] = 1;
          ackedCount += 1;
        } else {
          non2xx += 1;
          statusCodes[res.status] = (statusCodes[res.status] ?? 0) + 1;
        }
      } catch (err) {
        errors += 1;
        // post() gives up after 10 s.
        if (err?.name === 'TimeoutError') timeouts += 1;
        else if (errorSamples.size < 3) errorSamples.add(errorMessage(err?.cause ?? err));
      }
    };
    const interval = 1000 / settings.rtRate;
    const start = performance.now();
    const inFlight = [];
    for (let i = 0; i < n; i++) {
      const wait = start + i * interval - performance.now();
      if (wait >= 1) await sleep(wait);
      inFlight.push(write(i));
    }
    const writeRate = n / ((performance.now() - start + interval) / 1000);
    await Promise.all(inFlight);
    const expected = ackedCount * count;
    const drainStart = performance.now();
    let seen = phase.unique;
    let progressAt = drainStart;
    // A subscriber that was cut off will not get the rest: stop waiting then.
    while (phase.unique < expected && subscriberProblems.length === 0) {
      const now = performance.now();
      if (phase.unique !== seen) {
        seen = phase.unique;
        progressAt = now;
      } else if (now - progressAt > RT_STALL_MS) break;
      if (now - drainStart > RT_DRAIN_CAP_MS) break;
      await sleep(20);
    }

    // Only acknowledged writes count: a failed write's event, if any, is neither expected nor measured.
    const latencies = new Float64Array(expected);
    let delivered = 0;
    for (let s = 0; s < count; s++) {
      for (let i = 0; i < n; i++) {
        const k = s * n + i;
        if (phase.acked[i] === 1 && phase.counts[k] > 0) latencies[delivered++] = phase.latency[k];
      }
    }
    const sorted = latencies.subarray(0, delivered).sort();
    const pick = (q) => (delivered === 0 ? 0 : sorted[Math.min(delivered - 1, Math.ceil(q * delivered) - 1)]);
    phases[p] = undefined;
    return {
      acked: ackedCount,
      expected,
      delivered,
      lost: expected - delivered,
      duplicates: phase.duplicates,
      writeRate,
      p50: pick(0.5),
      p99: pick(0.99),
      max: delivered === 0 ? 0 : sorted[delivered - 1],
      non2xx,
      errors,
      timeouts,
      errorSamples: [...errorSamples],
      statusCodes,
    };
  }
}

/**
 * Opens `count` WebSockets to `baseUrl`, each authenticated with `token` and
 * subscribed to `collection`; resolves once all are subscribed. Changes go to
 * `onChange(index, message, receivedAt)`; anything unexpected afterwards (an
 * error or resync message, a close) is pushed to `problems`.
 */
const CHANGE_PREFIX = Buffer.from('{"type":"change","sub":"s","seq":');
const RECORD_KEY = Buffer.from('"record":{');
const FIELD_KEYS = { p: Buffer.from('"p":'), i: Buffer.from('"i":'), t: Buffer.from('"t":') };
let changesRead = 0;

/** The number written in `data` right after `key`, searched from `from` (NaN if absent). */
function numberAfter(data, key, from) {
  const at = data.indexOf(key, from);
  if (at < 0) return NaN;
  const start = at + key.length;
  let end = start;
  let integer = 0;
  let digitsOnly = true;
  for (; end < data.length && data[end] !== 0x2c && data[end] !== 0x7d; end++) { // , }
    const digit = data[end] - 0x30;
    if (digit >= 0 && digit <= 9) integer = integer * 10 + digit;
    else digitsOnly = false;
  }
  if (end === start) return NaN;
  // Plain digits (seq, p, i) need no string; t, a fraction, goes through Number.
  return digitsOnly ? integer : Number(data.latin1Slice(start, end));
}

/**
 * The fields the fan-out measurement needs from a change event — seq and the
 * record's p, i and t — or null for any other message. At 200,000 events a
 * second a full JSON.parse per event was a large share of the runner's work
 * (one process, sharing the machine with the server), and that inflates the
 * latencies it measures. This reads the bytes instead: the server writes
 * `{"type":"change","sub":"s","seq":N,…,"record":{…}}`, and p, i and t are
 * looked up inside the record in any order (PostgreSQL's jsonb reorders
 * keys). Every 997th event is also parsed in full and must agree, or the run
 * stops.
 */
function readChange(data) {
  if (data.length < CHANGE_PREFIX.length || data.compare(CHANGE_PREFIX, 0, CHANGE_PREFIX.length, 0, CHANGE_PREFIX.length) !== 0) return null;
  const seq = numberAfter(data, CHANGE_PREFIX, 0);
  const record = data.indexOf(RECORD_KEY, CHANGE_PREFIX.length);
  const p = numberAfter(data, FIELD_KEYS.p, record);
  const i = numberAfter(data, FIELD_KEYS.i, record);
  const t = numberAfter(data, FIELD_KEYS.t, record);
  const change = { seq, record: { p, i, t } };
  if (++changesRead % 997 === 0) {
    const full = JSON.parse(data.toString('utf8'));
    const agrees = full.type === 'change' && full.seq === seq && full.record.p === p && full.record.i === i && full.record.t === t;
    if (!agrees) throw new Error(`bench: the change reader disagrees with JSON.parse on ${data.toString('utf8').slice(0, 300)}`);
  }
  return change;
}

/** Keep-alive connections for the fan-out writes (node:http costs the runner less CPU than fetch). */
const writeAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** POSTs `body`; resolves with the status once the answer is read, rejects after 10 s. */
function post(url, headers, body) {
  return new Promise((resolveRequest, rejectRequest) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent: writeAgent }, (res) => {
      res.resume();
      res.on('end', () => resolveRequest({ status: res.statusCode }));
      res.on('error', rejectRequest);
    });
    req.setTimeout(10_000, () => {
      const err = new Error('no answer within 10 s');
      err.name = 'TimeoutError';
      req.destroy(err);
    });
    req.on('error', rejectRequest);
    req.end(body);
  });
}

/**
 * CPU time PostgreSQL's processes on this machine have used, in ms (Linux;
 * NaN elsewhere, and 0 when PostgreSQL runs on another machine): the
 * database's share of a workload, reported beside Sigil's.
 */
function postgresCpuMs() {
  try {
    let total = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (!stat.includes(' (postgres) ')) continue;
        const fields = stat.split(') ')[1].split(' ');
        // utime + stime, and cutime + cstime: the postmaster reaps the backends that
        // end, so their time moves there and the sum never goes back.
        total += ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / 100;
      } catch {
        // The process ended meanwhile.
      }
    }
    return total;
  } catch {
    return NaN;
  }
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

async function openSubscribers(baseUrl, token, collection, count, onChange, problems) {
  const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/api/realtime`;
  const sockets = [];
  let closing = false;
  const auth = JSON.stringify({ type: 'auth', token });
  const subscribe = JSON.stringify({ type: 'subscribe', id: 's', collection });
  const openOne = (index) =>
    new Promise((resolveOpen, rejectOpen) => {
      let subscribed = false;
      let socket;
      const fail = (why) => {
        if (!subscribed) {
          clearTimeout(timer);
          rejectOpen(new Error(`subscriber ${index}: ${why}`));
        } else if (!closing && problems.length < 20) {
          problems.push(`subscriber ${index}: ${why}`);
        }
      };
      const timer = setTimeout(() => {
        fail('not subscribed within 30 s');
        socket?.terminate();
      }, 30_000);
      connectLeanWebSocket(wsUrl, {
        message: (payload) => {
          const receivedAt = performance.now();
          const change = readChange(payload);
          if (change !== null) {
            onChange(index, change, receivedAt);
            return;
          }
          const message = JSON.parse(payload.toString('utf8'));
          if (message.type === 'subscribed') {
            subscribed = true;
            clearTimeout(timer);
            resolveOpen();
          } else if (message.type === 'change') fail(`a change the fast reader could not read: ${payload.toString('utf8').slice(0, 200)}`);
          else if (message.type !== 'authed') fail(`unexpected message ${JSON.stringify(message).slice(0, 200)}`);
        },
        error: (err) => fail(errorMessage(err)),
        close: (code, reason) => fail(`closed (${code} ${reason})`),
      }).then((ws) => {
        socket = ws;
        sockets.push(ws);
        ws.send(auth);
        ws.send(subscribe);
      }, (err) => fail(errorMessage(err)));
    });
  const close = () => {
    closing = true;
    for (const ws of sockets) ws.terminate();
  };
  let next = 0;
  const worker = async () => {
    while (next < count) await openOne(next++);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(RT_CONNECT_PARALLELISM, count) }, worker));
  } catch (err) {
    close();
    throw err;
  }
  return { close };
}

// ---------------------------------------------------------------------------
// Child processes: every server runs as a child; all are killed on any exit.
// ---------------------------------------------------------------------------

/** @type {Set<{name: string, proc: import('node:child_process').ChildProcess, output: () => string, exited: Promise<unknown>, stopping: boolean}>} */
const children = new Set();
const tempDirs = new Set();
const cleanupTasks = [];
const crashes = [];
let shuttingDown = false;

function isAlive(child) {
  return child.proc.exitCode === null && child.proc.signalCode === null;
}

function startChild(name, command, args, { env, cwd }) {
  const proc = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output += chunk.toString();
    if (output.length > 64 * 1024) output = output.slice(-32 * 1024);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const child = { name, proc, output: () => output, stopping: false, exited: null };
  child.exited = new Promise((resolveExit) => {
    proc.on('error', (err) => {
      keep(`spawn error: ${err.message}\n`);
      resolveExit({ code: null, signal: null, error: err });
    });
    proc.on('exit', (code, signal) => resolveExit({ code, signal }));
  });
  void child.exited.then(({ code, signal }) => {
    children.delete(child);
    if (!child.stopping && !shuttingDown) {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      crashes.push(`${name} exited unexpectedly (${how})`);
      process.stderr.write(`bench: ${name} exited unexpectedly (${how}); its output:\n${indent(output)}\n`);
    }
  });
  children.add(child);
  return child;
}

async function stopChild(child) {
  child.stopping = true;
  if (!isAlive(child)) return;
  child.proc.kill('SIGTERM');
  const done = await Promise.race([child.exited.then(() => true), sleep(5000).then(() => false)]);
  if (!done && isAlive(child)) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

let cleanupPromise = null;
function cleanup() {
  cleanupPromise ??= (async () => {
    await Promise.all([...children].map(stopChild));
    for (const task of cleanupTasks.splice(0).reverse()) {
      try {
        await task();
      } catch (err) {
        process.stderr.write(`bench: cleanup: ${errorMessage(err)}\n`);
      }
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.clear();
  })();
  return cleanupPromise;
}

// Last resort, synchronous: nothing outlives the runner.
process.on('exit', () => {
  for (const child of children) {
    child.stopping = true;
    if (isAlive(child)) child.proc.kill('SIGKILL');
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    shuttingDown = true;
    process.stderr.write(`\nbench: ${signal}: stopping the servers\n`);
    const code = 128 + (os.constants.signals[signal] ?? 1);
    const force = setTimeout(() => process.exit(code), 8000);
    void cleanup().finally(() => {
      clearTimeout(force);
      process.exit(code);
    });
  });
}

// ---------------------------------------------------------------------------
// Targets, started on first use.
// ---------------------------------------------------------------------------

const targetStarters = {
  async bare() {
    const child = startChild('bare server', process.execPath, [BARE_SERVER, '0'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1' },
      cwd: ROOT,
    });
    const match = await waitForOutput(child, /listening (http:\/\/\S+)/, 10_000);
    return { url: match[1], child };
  },

  async sigil() {
    let databaseUrl;
    let databaseLabel = 'SQLite (fresh data dir in the OS temp dir)';
    if (settings.databaseAdminUrl) {
      databaseUrl = await createBenchDatabase(settings.databaseAdminUrl);
      databaseLabel = `PostgreSQL (fresh database on ${redactUrl(settings.databaseAdminUrl)})`;
    }
    return startSigil({ name: 'sigil', databaseUrl, databaseLabel, register: true });
  },

  /** A second Sigil instance on the first one's PostgreSQL database (same JWT secret: tokens work on both). */
  async sigil2(ctx) {
    if (!settings.databaseAdminUrl) throw new Error('a second Sigil instance needs BENCH_DATABASE_URL (instances share a PostgreSQL database)');
    const first = await ctx.start('sigil');
    const second = await startSigil({ name: 'sigil2', databaseUrl: first.databaseUrl, databaseLabel: first.databaseLabel, register: false });
    return { ...second, user: first.user };
  },
};

/** Shared by every Sigil instance of the run, so an access token from one is valid on all. */
const BENCH_JWT_SECRET = randomBytes(48).toString('base64');

/**
 * Starts Sigil as a child process on a free port and waits for it to be
 * healthy; `register` signs up (or logs in) bench_user on it.
 */
async function startSigil({ name, databaseUrl, databaseLabel, register }) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(os.tmpdir(), 'sigil-bench-'));
  tempDirs.add(dataDir);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    JWT_SECRET: BENCH_JWT_SECRET,
    SIGIL_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // So the login workload measures hashing, not the limiter.
    AUTH_RATE_LIMIT_PER_ADDRESS: '1000000/1m',
    AUTH_RATE_LIMIT_PER_USERNAME: '1000000/1m',
    // The fan-out workloads connect 1,000 subscribers from this one address.
    REALTIME_MAX_CONNECTIONS_PER_IP: '100000',
    // Longer than any run, so the token the workloads share stays valid.
    ACCESS_TOKEN_TTL: '2h',
    SIGIL_ADMIN_USERNAME: BENCH_ADMIN.username,
    SIGIL_ADMIN_PASSWORD: BENCH_ADMIN.password,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    // Passed through so fan-out runs can be compared with and without write batching.
    ...(process.env.REALTIME_FLUSH_MS ? { REALTIME_FLUSH_MS: process.env.REALTIME_FLUSH_MS } : {}),
    // Passed through so reads can be measured with the read cache off (READ_CACHE_MB=0).
    ...(process.env.READ_CACHE_MB ? { READ_CACHE_MB: process.env.READ_CACHE_MB } : {}),
    // Passed through so the cost of metrics can be measured (on: a token; off: unset, the default).
    ...(process.env.METRICS_TOKEN ? { METRICS_TOKEN: process.env.METRICS_TOKEN } : {}),
  };

  let command;
  let args;
  let label = databaseLabel;
  if (settings.sigilCommand) {
    [command, ...args] = settings.sigilCommand.split(/\s+/).map((part) => part.replaceAll('{port}', String(port)));
    if (command === 'node') command = process.execPath;
    label += ` — server started by BENCH_SIGIL_CMD="${settings.sigilCommand}"`;
  } else {
    if (!existsSync(SIGIL_CLI)) {
      throw new Error(`${relative(ROOT, SIGIL_CLI)} is missing: build the server first ("npm run bench" builds before running)`);
    }
    command = process.execPath;
    args = [SIGIL_CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)];
  }
  // The data dir as working directory: a developer's ./.env must not leak in.
  const child = startChild(name, command, args, { env, cwd: dataDir });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(child, `${url}/api/health`, 30_000);

  const target = { url, child, databaseUrl, databaseLabel: label, admin: BENCH_ADMIN };
  if (register) {
    let res = await request(target, 'POST', '/api/auth/register', { body: BENCH_USER });
    if (res.status === 409) res = await request(target, 'POST', '/api/auth/login', { body: BENCH_USER });
    expectAnswer(res, res.status === 200 ? 200 : 201, (j) => typeof j?.accessToken === 'string' && j?.user?.username === BENCH_USER.username, 'registering bench_user');
    target.user = res.json;
  }
  return target;
}

async function createBenchDatabase(adminUrl) {
  let pg;
  try {
    pg = (await import('pg')).default;
  } catch {
    throw new Error('BENCH_DATABASE_URL is set but the "pg" package cannot be loaded (run npm ci)');
  }
  const name = `sigil_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    throw new Error(`BENCH_DATABASE_URL (${redactUrl(adminUrl)}): cannot create the bench database: ${errorMessage(err)}`);
  } finally {
    await admin.end();
  }
  cleanupTasks.push(async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

function numberFromEnv(name, fallback, { min, integer = false }) {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    console.error(`bench: ${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min} (got "${raw}")`);
    process.exit(2);
  }
  return value;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function waitForOutput(child, regex, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = regex.exec(child.output());
    if (match) return match;
    if (!isAlive(child)) throw new Error(`${child.name} exited before it was ready:\n${indent(child.output())}`);
    await sleep(50);
  }
  throw new Error(`${child.name} printed no ${regex} within ${timeoutMs} ms:\n${indent(child.output())}`);
}

async function waitForHealthy(child, healthUrl, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!isAlive(child)) throw new Error(`${child.name} exited before it was healthy:\n${indent(child.output())}`);
    try {
      const res = await fetch(healthUrl, { signal: timeoutSignal(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = errorMessage(err);
    }
    await sleep(100);
  }
  throw new Error(`${child.name}: ${healthUrl} not 200 within ${timeoutMs} ms (last: ${last}):\n${indent(child.output())}`);
}

function timeoutSignal(ms) {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms).unref();
  return controller.signal;
}

/** One request, for setup and checks (never for measuring). */
async function request(target, method, path, { headers = {}, body, token } = {}) {
  const allHeaders = { ...headers };
  if (token) allHeaders.authorization = `Bearer ${token}`;
  if (body !== undefined) allHeaders['content-type'] ??= 'application/json';
  const res = await fetch(new URL(path, target.url), {
    method,
    headers: allHeaders,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: timeoutSignal(30_000),
  });
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

function expectAnswer(res, status, check, what) {
  if (res.status !== status || !check(res.json)) {
    throw new Error(`${what}: expected HTTP ${status} with the documented body, got HTTP ${res.status}: ${res.text.slice(0, 500)}`);
  }
}

function indent(text) {
  const trimmed = text.trim();
  return trimmed === '' ? '    (no output)' : trimmed.split('\n').slice(-40).map((l) => `    ${l}`).join('\n');
}

function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}

function redactUrl(raw) {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(unparsable URL)';
  }
}

function gitCommit() {
  const git = (args) => execFileSync('git', ['--no-optional-locks', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return 'unknown';
  }
}

function autocannonVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

const fmt = {
  rps: (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)),
  // autocannon's latency histogram has 1 ms resolution (values are truncated): 0 means under 1 ms.
  ms: (n) => (n < 1 ? '<1' : String(Math.round(n))),
  // Realtime latencies are measured with performance.now(): sub-millisecond resolution.
  msFine: (n) => n.toFixed(1),
  int: (n) => Math.round(n).toLocaleString('en-US'),
};

/** Runs autocannon; resolves with its result. `current` lets a signal stop it. */
let currentRun = null;
function measure(opts) {
  return new Promise((resolveRun, reject) => {
    currentRun = autocannon(opts, (err, result) => {
      currentRun = null;
      if (err) reject(err);
      else resolveRun(result);
    });
  });
}

async function runWorkload(workload, ctx, index, total) {
  const label = `[${index}/${total}] ${workload.name}`;
  const row = workload.measure ? await customMeasure(workload, ctx, label) : await autocannonMeasure(workload, ctx, label);
  const problems = [];
  if (row.errors > 0) problems.push(`${row.errors} errors (${row.timeouts} timeouts)`);
  if (row.non2xx > 0) problems.push(`${row.non2xx} non-2xx answers (status counts: ${JSON.stringify(row.statusCodes ?? {})})`);
  if (row.ok === 0) problems.push('no successful request');
  if (row.problems) problems.push(...row.problems);
  row.problems = problems;
  const summary =
    row.kind === 'realtime'
      ? `${fmt.int(row.subscribers)} subscribers, ${fmt.rps(row.rps)} writes/s, ${fmt.int(row.delivered)} events delivered, ${fmt.int(row.lost)} lost, ` +
        `p50 ${fmt.msFine(row.p50)} ms, p99 ${fmt.msFine(row.p99)} ms, max ${fmt.msFine(row.max)} ms`
      : `${fmt.rps(row.rps)} req/s, p50 ${fmt.ms(row.p50)} ms, p99 ${fmt.ms(row.p99)} ms`;
  process.stdout.write(`bench: ${label}: ${summary}${problems.length ? ` — ${problems.join('; ')}` : ''}\n`);
  return row;
}

/**
 * A workload that is not plain HTTP load (realtime fan-out, …) provides
 * `measure(ctx, settings)` instead of returning autocannon options from
 * `setup`; it resolves with { rps, p50, p99, ok, non2xx, errors, timeouts,
 * problems? } in the same units (per second, milliseconds, counts). A row
 * with `kind: 'realtime'` goes to the realtime table instead and also has
 * { subscribers, writes, delivered, lost, max } (`rps` is then the achieved
 * write rate, `ok` the events delivered).
 */
async function customMeasure(workload, ctx, label) {
  await ctx.start(workload.target);
  await workload.setup?.(ctx);
  process.stdout.write(`bench: ${label}: measuring (custom)…\n`);
  const result = await workload.measure(ctx, { ...settings });
  return { non2xx: 0, errors: 0, timeouts: 0, ...result, id: workload.id, name: workload.name };
}

async function autocannonMeasure(workload, ctx, label) {
  const target = await ctx.start(workload.target);
  const fromSetup = (await workload.setup(ctx)) ?? {};
  const { path = '/', ...rest } = fromSetup;
  const base = {
    url: new URL(path, target.url).toString(),
    connections: settings.connections,
    pipelining: settings.pipelining,
    timeout: 10,
  };
  if (settings.warmup > 0) {
    process.stdout.write(`bench: ${label}: warm-up ${settings.warmup} s…\n`);
    await measure({ ...base, ...rest, duration: settings.warmup });
  }
  process.stdout.write(`bench: ${label}: measuring ${settings.duration} s…\n`);
  const cpuBefore = { at: performance.now(), server: processCpuMs(target.child?.proc?.pid), postgres: DIALECT === 'postgres' ? postgresCpuMs() : NaN };
  const r = await measure({ ...base, ...rest, duration: settings.duration });
  const elapsed = performance.now() - cpuBefore.at;
  return {
    cpu: { server: (processCpuMs(target.child?.proc?.pid) - cpuBefore.server) / elapsed, postgres: (postgresCpuMs() - cpuBefore.postgres) / elapsed },
    id: workload.id,
    name: workload.name,
    rps: r.requests.average,
    recordsPerRequest: workload.recordsPerRequest ?? 1,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: r.statusCodeStats,
  };
}

/** A share of one core, e.g. `85 %`. */
const cpuShare = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)} %` : 'n/a');

function renderTable(rows) {
  const lines = [
    '| workload | req/s (mean) | latency p50 (ms) | latency p99 (ms) | 2xx | non-2xx | errors (timeouts) | CPU: server / PostgreSQL |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows.filter((row) => row.kind !== 'realtime')) {
    const cpu = r.cpu ? `${cpuShare(r.cpu.server)} / ${DIALECT === 'postgres' ? cpuShare(r.cpu.postgres) : '–'}` : 'n/a';
    lines.push(`| ${r.name} | ${fmt.rps(r.rps)} | ${fmt.ms(r.p50)} | ${fmt.ms(r.p99)} | ${fmt.int(r.ok)} | ${fmt.int(r.non2xx)} | ${fmt.int(r.errors)} (${fmt.int(r.timeouts)}) | ${cpu} |`);
  }
  return lines.join('\n');
}

/** Realtime rows: one line per workload; latency is per (subscriber, event) pair. */
function renderRealtimeTable(rows) {
  const realtimeRows = rows.filter((row) => row.kind === 'realtime');
  if (realtimeRows.length === 0) return '';
  const lines = [
    '| realtime workload | subscribers | writes/s | acked writes | delivery p50 (ms) | delivery p99 (ms) | max (ms) | events delivered | lost | CPU: runner / Sigil / PostgreSQL |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of realtimeRows) {
    const cpu = r.cpu ? `${cpuShare(r.cpu.runner)} / ${r.cpu.sigil.map(cpuShare).join(' + ')} / ${DIALECT === 'postgres' ? cpuShare(r.cpu.postgres) : '–'}` : 'n/a';
    lines.push(
      `| ${r.name} | ${fmt.int(r.subscribers)} | ${fmt.rps(r.rps)} | ${fmt.int(r.writes)} | ${fmt.msFine(r.p50)} | ${fmt.msFine(r.p99)} | ` +
        `${fmt.msFine(r.max)} | ${fmt.int(r.delivered)} | ${fmt.int(r.lost)} | ${cpu} |`,
    );
  }
  return lines.join('\n');
}

function evaluateRealtimeTargets(rows) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const lines = [];
  for (const target of realtimeTargets) {
    const row = byId.get(target.workload);
    if (!row || target.dialect !== DIALECT) continue;
    const pass = row.p99 < target.p99Ms && row.lost === 0;
    lines.push(
      `- ${row.name}: delivery p99 **${fmt.msFine(row.p99)} ms** (target < ${target.p99Ms} ms on ${target.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}), ` +
        `lost **${fmt.int(row.lost)}** (target 0): **${pass ? 'PASS' : 'FAIL'}**`,
    );
  }
  return lines;
}

function evaluateRatios(rows) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const lines = [];
  for (const ratio of ratios) {
    const num = byId.get(ratio.numerator);
    const den = byId.get(ratio.denominator);
    if (!num || !den) continue;
    // `per: 'record'`: records written per second (req/s × records per request), as a multiple.
    const perRecord = ratio.per === 'record';
    const rate = (row) => (perRecord ? row.rps * row.recordsPerRequest : row.rps);
    const value = den.rps > 0 ? rate(num) / rate(den) : 0;
    const shown = perRecord ? `${value.toFixed(2)}×` : `${(value * 100).toFixed(1)}%`;
    const target = perRecord ? `target ≥ ${ratio.target}×` : `target ≥ ${(ratio.target * 100).toFixed(0)}%`;
    const label = perRecord
      ? `${num.name} (${fmt.rps(rate(num))} records/s) / ${den.name} (${fmt.rps(rate(den))} records/s)`
      : `${num.name} / ${den.name}`;
    if (ratio.dialect !== undefined && ratio.dialect !== DIALECT) {
      // This pair has a target of its own on this engine: that one is shown.
      if (ratios.some((r) => r.numerator === ratio.numerator && r.denominator === ratio.denominator && r.dialect === DIALECT)) continue;
      lines.push(`- ${label}: **${shown}** (${target} on ${ratio.dialect === 'sqlite' ? 'SQLite' : ratio.dialect}; reported only)`);
      continue;
    }
    const pass = value >= ratio.target;
    lines.push(`- ${label}: **${shown}** (${target}): **${pass ? 'PASS' : 'FAIL'}**`);
  }
  return lines;
}

// ---------------------------------------------------------------------------
// Main.
// ---------------------------------------------------------------------------

async function main() {
  const runnable = (w) => w.requires === undefined || w.requires === DIALECT;
  const selected = settings.only.length ? workloads.filter((w) => settings.only.includes(w.id)) : workloads.filter(runnable);
  const unknown = settings.only.filter((id) => !workloads.some((w) => w.id === id));
  if (unknown.length) throw new Error(`BENCH_ONLY names unknown workloads: ${unknown.join(', ')} (known: ${workloads.map((w) => w.id).join(', ')})`);
  const notHere = selected.filter((w) => !runnable(w));
  if (notHere.length) throw new Error(`BENCH_ONLY: ${notHere.map((w) => w.id).join(', ')} needs ${notHere[0].requires} (set BENCH_DATABASE_URL)`);
  const skipped = workloads.filter((w) => !runnable(w) && !settings.only.length);
  if (skipped.length) process.stdout.write(`bench: skipping ${skipped.map((w) => w.id).join(', ')} (needs BENCH_DATABASE_URL)\n`);

  if (selected.some((w) => w.target.startsWith('sigil')) && !settings.sigilCommand && !existsSync(SIGIL_CLI)) {
    throw new Error(`${relative(ROOT, SIGIL_CLI)} is missing: build the server first ("npm run bench" builds before running)`);
  }

  const started = new Date();
  const cpus = os.cpus();
  const cpu = `${cpus[0]?.model?.trim() ?? 'unknown'} × ${cpus.length}`;
  const commit = gitCommit();
  process.stdout.write(
    `bench: node ${process.version}, ${cpu}, commit ${commit}\n` +
      `bench: ${selected.length} workloads, ${settings.connections} connections, pipelining ${settings.pipelining}, ` +
      `${settings.warmup} s warm-up + ${settings.duration} s each\n`,
  );

  const startedTargets = new Map();
  const ctx = {
    request,
    start(name) {
      const starter = targetStarters[name];
      if (!starter) throw new Error(`unknown target "${name}"`);
      if (!startedTargets.has(name)) {
        process.stdout.write(`bench: starting ${name}…\n`);
        const promise = starter(ctx).then((t) => {
          ctx[name] = t;
          process.stdout.write(`bench: ${name} ready at ${t.url}\n`);
          return t;
        });
        startedTargets.set(name, promise);
      }
      return startedTargets.get(name);
    },
  };
  // Start every server a selected workload needs before measuring anything,
  // so start-up work (migrations, argon2 for the admin) never overlaps a measurement.
  for (const name of new Set(selected.map((w) => w.target))) await ctx.start(name);

  const rows = [];
  for (const [i, workload] of selected.entries()) {
    rows.push(await runWorkload(workload, ctx, i + 1, selected.length));
    if (crashes.length) break;
  }

  const httpRows = rows.filter((r) => r.kind !== 'realtime');
  const table = [httpRows.length ? renderTable(rows) : '', renderRealtimeTable(rows)].filter((t) => t !== '').join('\n\n');
  const ratioLines = evaluateRatios(rows);
  const realtimeLines = evaluateRealtimeTargets(rows);
  const failures = [...crashes, ...rows.flatMap((r) => r.problems.map((p) => `${r.name}: ${p}`))];
  const status = failures.length ? `**FAILED**:\n${failures.map((f) => `- ${f}`).join('\n')}` : 'all workloads ran clean (no errors, no non-2xx answers)';

  const date = started.toISOString().slice(0, 10);
  const databaseLabel = ctx.sigil?.databaseLabel ?? 'n/a (Sigil not started)';
  const report = [
    `# Sigil benchmark — ${date}`,
    '',
    `- started: ${started.toISOString()}`,
    `- node: ${process.version} (${os.platform()} ${os.release()} ${os.arch()})`,
    `- cpu: ${cpu}`,
    `- commit: ${commit}`,
    `- Sigil database: ${databaseLabel}`,
    `- Sigil settings from the environment: ${['READ_CACHE_MB', 'REALTIME_FLUSH_MS'].map((name) => `${name}=${process.env[name] || '(default)'}`).join(', ')}, metrics ${process.env.METRICS_TOKEN ? 'on (METRICS_TOKEN set)' : 'off'}`,
    `- load: autocannon ${autocannonVersion()} in the runner process; each server is its own child process; ` +
      `${settings.connections} connections, pipelining ${settings.pipelining}, ${settings.warmup} s warm-up (discarded) then ${settings.duration} s measured, one workload at a time, 127.0.0.1`,
    ...(rows.some((r) => r.kind === 'realtime')
      ? [
          `- realtime: ${fmt.int(settings.rtSubscribers)} WebSocket subscribers in the runner process (each authenticated, one subscription to the workload's collection); ` +
            `records POSTed at ${settings.rtRate}/s (open loop), ${settings.warmup} s warm-up (discarded) then ${settings.duration} s measured; ` +
            'delivery latency = receipt time − the write\'s start time (embedded in the record), over every (subscriber, acknowledged write) pair; ' +
            `lost = acknowledged writes × subscribers − delivered, counted once deliveries stop (none for ${RT_STALL_MS / 1000} s, or ${RT_DRAIN_CAP_MS / 1000} s after the last write); ` +
            `CPU = share of one core the runner (writer and subscribers), each Sigil process and PostgreSQL's processes used over the measured phase (machine: ${os.cpus().length} cores)`,
        ]
      : []),
    '',
    table,
    '',
    ...(ratioLines.length ? ['Targets (ratio of mean req/s, same run):', '', ...ratioLines, ''] : []),
    ...(realtimeLines.length ? ['Realtime targets:', '', ...realtimeLines, ''] : []),
    `Status: ${status}`,
    '',
  ].join('\n');

  const targetLines = [...ratioLines, ...realtimeLines];
  process.stdout.write(`\n${table}\n\n${targetLines.join('\n')}${targetLines.length ? '\n' : ''}\nStatus: ${status}\n`);

  mkdirSync(settings.resultsDir, { recursive: true });
  const suffix = settings.databaseAdminUrl ? '-postgres' : '';
  const file = join(settings.resultsDir, `${date}${suffix}.md`);
  writeFileSync(file, report);
  process.stdout.write(`bench: results written to ${relative(process.cwd(), file) || file}\n`);

  return failures.length ? 1 : 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  process.stderr.write(`bench: ${errorMessage(err)}\n`);
  exitCode = 1;
} finally {
  currentRun?.stop?.();
  await cleanup();
}
process.exit(exitCode);
