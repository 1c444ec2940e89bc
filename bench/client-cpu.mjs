#!/usr/bin/env node
// CPU of a live query in Node.js: @sigil/client (the built package) keeps a
// live query over 1,000 records while a separate writer process applies 200
// changes a second to them through a Sigil server process (SQLite). The
// client's process.cpuUsage() over the measured window, as a share of one
// core, must stay under 5%. `npm run bench` and `npm run bench:client` run it
// (after the build); exit code 1 when over the budget or when changes are lost.
//
// Environment: BENCH_CPU_SECONDS (measured seconds, default 10), BENCH_CPU_RATE (changes/s, default 200).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createClient } from '../packages/client/dist/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_CPU_RATE ?? 200);
const RECORDS = 1_000;
const BUDGET = 5;
const ADMIN = { username: 'cpu_admin', password: randomBytes(18).toString('base64url') };

const dir = mkdtempSync(join(tmpdir(), 'sigil-client-cpu-'));
const server = spawn(process.execPath, [join(ROOT, 'packages/server/dist/cli/main.js'), 'serve', '--port', '0'], {
  cwd: dir,
  env: { PATH: process.env.PATH, NODE_ENV: 'production', JWT_SECRET: randomBytes(36).toString('base64'), SIGIL_DATA_DIR: join(dir, 'data'), SIGIL_ADMIN_USERNAME: ADMIN.username, SIGIL_ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let writer;
try {
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    server.stdout.on('data', (c) => {
      out += c;
      const m = /Sigil listening on (http:\/\/\S+)/.exec(out);
      if (m) resolveUrl(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const call = async (method, path, body, token) => {
    const res = await fetch(url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  const admin = (await call('POST', '/api/auth/login', ADMIN)).accessToken;
  const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' }, n: { type: 'integer' } } };
  await call('POST', '/api/collections', { name: 'items', schema, rules: { list: 'authenticated', view: 'authenticated', create: 'authenticated', update: 'authenticated' } }, admin);
  for (let b = 0; b < RECORDS / 100; b++) {
    await call('POST', '/api/batch', { operations: Array.from({ length: 100 }, (_, i) => ({ op: 'create', collection: 'items', record: { id: `r${b * 100 + i}`, title: `record ${b * 100 + i}`, n: i } })) }, admin);
  }

  const client = createClient({ url, webSocket: WebSocket });
  await client.auth.register({ username: 'cpu_reader', password: 'cpu reader password' });
  let applied = 0;
  const live = client.collection('items').live({ sort: '-n' }, () => (applied += 1));
  const first = await live.ready;
  if (first.items.length !== RECORDS) throw new Error(`live query has ${first.items.length} records`);

  // The writer: its own process, so its CPU is not counted.
  const writerScript = `
    const [url, token, rate, seconds, records] = process.argv.slice(1);
    const end = Date.now() + Number(seconds) * 1000;
    let sent = 0;
    const start = Date.now();
    const tick = async () => {
      while (Date.now() < end) {
        const due = Math.floor(((Date.now() - start) / 1000) * Number(rate));
        const batch = [];
        for (; sent < due; sent++) {
          const id = 'r' + Math.floor(Math.random() * Number(records));
          batch.push(fetch(url + '/api/collections/items/records/' + id, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify({ n: Math.floor(Math.random() * 1000) }) }).then((r) => r.text()));
        }
        await Promise.all(batch);
        await new Promise((r) => setTimeout(r, 10));
      }
      console.log(sent);
    };
    tick();
  `;
  const total = SECONDS + 3;
  writer = spawn(process.execPath, ['-e', writerScript, url, admin, String(RATE), String(total), String(RECORDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const written = new Promise((r) => {
    let out = '';
    writer.stdout.on('data', (c) => (out += c));
    writer.on('exit', () => r(Number(out.trim())));
  });
  await sleep(2_000); // warm-up
  const appliedBefore = applied;
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  await sleep(SECONDS * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  const wall = performance.now() - wallBefore;
  const appliedInWindow = applied - appliedBefore;
  const sent = await written;
  // Every change arrives: wait for the last ones, then compare with a fresh list.
  await sleep(1_000);
  const fresh = [];
  for await (const page of client.collection('items').pages({ sort: '-n', limit: 200 })) fresh.push(...page.items);
  const same = JSON.stringify(live.snapshot.items.map((r) => [r.id, r.version])) === JSON.stringify(fresh.map((r) => [r.id, r.version]));
  const share = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const ok = share < BUDGET && same;
  console.log(
    `@sigil/client live query over ${RECORDS} records, ${RATE} changes/s: ${share.toFixed(2)}% of one core ` +
      `(user ${(cpu.user / 1000).toFixed(0)} ms + system ${(cpu.system / 1000).toFixed(0)} ms in ${(wall / 1000).toFixed(1)} s; ` +
      `${appliedInWindow} results in the window, ${sent} changes written; final result ${same ? 'equals' : 'DIFFERS FROM'} a fresh list): ${ok ? 'PASS' : 'FAIL'} (budget ${BUDGET}%)`,
  );
  live.close();
  client.close();
  process.exitCode = ok ? 0 : 1;
} finally {
  writer?.kill('SIGKILL');
  server.kill('SIGKILL');
  await sleep(200);
  rmSync(dir, { recursive: true, force: true });
}
