#!/usr/bin/env node
// `node bench/abuse.mjs` (after `npm run build`): what large list pages and a
// long replay cost the server, measured from outside. Starts the built Sigil
// as a child process on loopback (SQLite in a temporary directory), then
//   lists:  200 records of ~900 kB, then 6 concurrent `?limit=200` lists;
//           reports the server's RSS before and at its peak;
//   replay: 22,000 small changes, then one `subscribe {since: 0}` while a
//           probe asks `GET /api/health` back to back; reports the probe's
//           worst latency (how long the event loop stalled) and the replay's time.
// Bounded in count and time; exits when done. Prints a markdown table and
// writes it to bench/results/<YYYY-MM-DD>-abuse.md.
//
// Environment: ABUSE_CLI — the CLI to start (default the built one), to
// measure another build of Sigil with the same script.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = process.env.ABUSE_CLI ?? join(ROOT, 'packages/server/dist/cli/main.js');

const freePort = () => new Promise((res) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); }); });
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function startSigil() {
  const dir = mkdtempSync(join(os.tmpdir(), 'sigil-abuse-'));
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], {
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'error', SIGIL_DATA_DIR: dir, SIGIL_ADMIN_USERNAME: 'abuse_admin', SIGIL_ADMIN_PASSWORD: 'abuse admin password', REALTIME_RETENTION: '24h' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${url}/api/health`)).ok) break; } catch { /* not yet */ }
    await sleep(100);
  }
  const login = await (await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'abuse_admin', password: 'abuse admin password' }) })).json();
  const token = login.accessToken;
  const call = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    return res.status === 204 ? null : res.json();
  };
  return { url, child, call, stop: () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

async function lists() {
  const s = await startSigil();
  try {
    await s.call('POST', '/api/collections', { name: 'big', schema: { type: 'object' }, rules: { list: 'public', view: 'public' } });
    const blob = 'x'.repeat(900_000);
    for (let i = 0; i < 200; i++) await s.call('POST', '/api/collections/big/records', { n: i, blob });
    await sleep(500);
    const before = rssMiB(s.child.pid);
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(s.child.pid)); }, 20);
    const started = performance.now();
    const pages = await Promise.all(Array.from({ length: 6 }, () => fetch(`${s.url}/api/collections/big/records?limit=200`).then(async (r) => (await r.json()).items.length)));
    const ms = performance.now() - started;
    clearInterval(sampler);
    return { before, peak, ms, items: pages[0] };
  } finally {
    s.stop();
  }
}

async function replay() {
  const s = await startSigil();
  try {
    await s.call('POST', '/api/collections', { name: 'log', schema: { type: 'object' }, rules: { list: 'public', view: 'public', create: 'public' } });
    // 22,000 changes, 20 writers at a time.
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => { while (next < 22_000) { const n = next++; await s.call('POST', '/api/collections/log/records', { n, title: `record ${n}` }); } }));
    await sleep(500);
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/realtime`);
    await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
    let received = 0;
    let closeCode = null;
    ws.on('close', (code) => { closeCode = code; });
    const done = new Promise((res) => ws.on('message', (data) => { if (String(data).startsWith('{"type":"change"') && ++received === 22_000) res(); }));
    let worst = 0;
    let probing = true;
    const probe = (async () => { while (probing) { const t0 = performance.now(); await fetch(`${s.url}/api/health`); worst = Math.max(worst, performance.now() - t0); } })();
    await sleep(200);
    const baseline = worst;
    worst = 0;
    const started = performance.now();
    ws.send(JSON.stringify({ type: 'subscribe', id: 'r', collection: 'log', since: 0 }));
    await Promise.race([done, sleep(60_000)]);
    const ms = performance.now() - started;
    probing = false;
    await probe;
    ws.close();
    return { baseline, worst, ms, received, closeCode };
  } finally {
    s.stop();
  }
}

const l = await lists();
const r = await replay();
const table = [
  `# Abuse measurements, ${new Date().toISOString().slice(0, 10)} (${CLI === join(ROOT, 'packages/server/dist/cli/main.js') ? 'this tree' : CLI})`,
  '',
  '| scenario | figure |',
  '|---|---|',
  `| 6 concurrent lists, limit=200, 200 records of 900 kB | RSS ${l.before.toFixed(0)} MiB before, ${l.peak.toFixed(0)} MiB peak; ${l.items} items on the first page; ${l.ms.toFixed(0)} ms |`,
  `| subscribe since 0 over 22,000 changes | worst /api/health latency ${r.worst.toFixed(1)} ms during the replay (${r.baseline.toFixed(1)} ms before); ${r.received} events in ${r.ms.toFixed(0)} ms; socket ${r.closeCode === null ? 'open' : `closed ${r.closeCode}`} |`,
  '',
].join('\n');
console.log(table);
const out = join(ROOT, 'bench/results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, `${new Date().toISOString().slice(0, 10)}-abuse.md`), table);
