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
//
// Adding a workload: append an entry to `workloads` below. Adding a ratio
// target: append an entry to `ratios`.
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

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
};

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
];

/** Targets as ratios of one workload's mean req/s to another's, measured in the same run. */
const ratios = [
  { numerator: 'auth-me', denominator: 'bare', target: 0.5 },
  { numerator: 'records-get', denominator: 'bare', target: 0.4 },
  { numerator: 'records-list', denominator: 'bare', target: 0.25 },
  { numerator: 'records-create', denominator: 'bare', target: 0.2 },
];

const BENCH_COLLECTION = 'bench_items';
const SEED_RECORDS = 10_000;
let seeded;

/**
 * Once per run: the benchmark collection (indexed on `priority`) with 10,000
 * records, created through the API by the bench admin and user.
 */
async function ensureRecords(ctx) {
  seeded ??= (async () => {
    const login = await ctx.request(ctx.sigil, 'POST', '/api/auth/login', { body: { username: ctx.sigil.admin.username, password: ctx.sigil.admin.password } });
    expectAnswer(login, 200, (j) => typeof j?.accessToken === 'string', 'admin login');
    const adminToken = login.json.accessToken;
    const schema = {
      type: 'object',
      required: ['title'],
      properties: { title: { type: 'string' }, priority: { type: 'integer' }, done: { type: 'boolean' }, tags: { type: 'array', items: { type: 'string' } } },
    };
    const created = await ctx.request(ctx.sigil, 'POST', '/api/collections', { token: adminToken, body: { name: BENCH_COLLECTION, schema, indexes: [['priority']] } });
    expectAnswer(created, 201, (j) => j?.collection?.name === BENCH_COLLECTION, 'create collection');
    const token = ctx.sigil.user.accessToken;
    const ids = [];
    let next = 0;
    const worker = async () => {
      while (next < SEED_RECORDS) {
        const n = next++;
        const res = await ctx.request(ctx.sigil, 'POST', `/api/collections/${BENCH_COLLECTION}/records`, {
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
  return seeded;
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
    const port = await freePort();
    const dataDir = mkdtempSync(join(os.tmpdir(), 'sigil-bench-'));
    tempDirs.add(dataDir);
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(48).toString('base64'),
      SIGIL_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // So the login workload measures hashing, not the limiter.
      AUTH_RATE_LIMIT_PER_ADDRESS: '1000000/1m',
      AUTH_RATE_LIMIT_PER_USERNAME: '1000000/1m',
      // Longer than any run, so the token the workloads share stays valid.
      ACCESS_TOKEN_TTL: '2h',
      SIGIL_ADMIN_USERNAME: BENCH_ADMIN.username,
      SIGIL_ADMIN_PASSWORD: BENCH_ADMIN.password,
    };
    let databaseLabel = 'SQLite (fresh data dir in the OS temp dir)';
    if (settings.databaseAdminUrl) {
      env.DATABASE_URL = await createBenchDatabase(settings.databaseAdminUrl);
      databaseLabel = `PostgreSQL (fresh database on ${redactUrl(settings.databaseAdminUrl)})`;
    }

    let command;
    let args;
    if (settings.sigilCommand) {
      [command, ...args] = settings.sigilCommand.split(/\s+/).map((part) => part.replaceAll('{port}', String(port)));
      if (command === 'node') command = process.execPath;
      databaseLabel += ` — server started by BENCH_SIGIL_CMD="${settings.sigilCommand}"`;
    } else {
      if (!existsSync(SIGIL_CLI)) {
        throw new Error(`${relative(ROOT, SIGIL_CLI)} is missing: build the server first ("npm run bench" builds before running)`);
      }
      command = process.execPath;
      args = [SIGIL_CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)];
    }
    // The data dir as working directory: a developer's ./.env must not leak in.
    const child = startChild('sigil', command, args, { env, cwd: dataDir });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(child, `${url}/api/health`, 30_000);

    const target = { url, child, databaseLabel, admin: BENCH_ADMIN };
    let res = await request(target, 'POST', '/api/auth/register', { body: BENCH_USER });
    if (res.status === 409) res = await request(target, 'POST', '/api/auth/login', { body: BENCH_USER });
    expectAnswer(res, res.status === 200 ? 200 : 201, (j) => typeof j?.accessToken === 'string' && j?.user?.username === BENCH_USER.username, 'registering bench_user');
    target.user = res.json;
    return target;
  },
};

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
  process.stdout.write(
    `bench: ${label}: ${fmt.rps(row.rps)} req/s, p50 ${fmt.ms(row.p50)} ms, p99 ${fmt.ms(row.p99)} ms` +
      (problems.length ? ` — ${problems.join('; ')}` : '') +
      '\n',
  );
  return row;
}

/**
 * A workload that is not plain HTTP load (realtime fan-out, …) provides
 * `measure(ctx, settings)` instead of returning autocannon options from
 * `setup`; it resolves with { rps, p50, p99, ok, non2xx, errors, timeouts,
 * problems? } in the same units (per second, milliseconds, counts).
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
  const r = await measure({ ...base, ...rest, duration: settings.duration });
  return {
    id: workload.id,
    name: workload.name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: r.statusCodeStats,
  };
}

function renderTable(rows) {
  const lines = [
    '| workload | req/s (mean) | latency p50 (ms) | latency p99 (ms) | 2xx | non-2xx | errors (timeouts) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${fmt.rps(r.rps)} | ${fmt.ms(r.p50)} | ${fmt.ms(r.p99)} | ${fmt.int(r.ok)} | ${fmt.int(r.non2xx)} | ${fmt.int(r.errors)} (${fmt.int(r.timeouts)}) |`);
  }
  return lines.join('\n');
}

function evaluateRatios(rows) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const lines = [];
  for (const ratio of ratios) {
    const num = byId.get(ratio.numerator);
    const den = byId.get(ratio.denominator);
    if (!num || !den) continue;
    const value = den.rps > 0 ? num.rps / den.rps : 0;
    const pass = value >= ratio.target;
    lines.push(
      `- ${num.name} / ${den.name}: **${(value * 100).toFixed(1)}%** ` +
        `(target ≥ ${(ratio.target * 100).toFixed(0)}%): **${pass ? 'PASS' : 'FAIL'}**`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------
// Main.
// ---------------------------------------------------------------------------

async function main() {
  const selected = settings.only.length ? workloads.filter((w) => settings.only.includes(w.id)) : workloads;
  const unknown = settings.only.filter((id) => !workloads.some((w) => w.id === id));
  if (unknown.length) throw new Error(`BENCH_ONLY names unknown workloads: ${unknown.join(', ')} (known: ${workloads.map((w) => w.id).join(', ')})`);

  if (selected.some((w) => w.target === 'sigil') && !settings.sigilCommand && !existsSync(SIGIL_CLI)) {
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
        const promise = starter().then((t) => {
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

  const table = renderTable(rows);
  const ratioLines = evaluateRatios(rows);
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
    `- load: autocannon ${autocannonVersion()} in the runner process; each server is its own child process; ` +
      `${settings.connections} connections, pipelining ${settings.pipelining}, ${settings.warmup} s warm-up (discarded) then ${settings.duration} s measured, one workload at a time, 127.0.0.1`,
    '',
    table,
    '',
    ...(ratioLines.length ? ['Targets (ratio of mean req/s, same run):', '', ...ratioLines, ''] : []),
    `Status: ${status}`,
    '',
  ].join('\n');

  process.stdout.write(`\n${table}\n\n${ratioLines.join('\n')}${ratioLines.length ? '\n' : ''}\nStatus: ${status}\n`);

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
