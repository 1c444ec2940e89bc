import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/open-store.js';
import { api, expectStatus, loginAdmin, newJwtSecret, serverEnv } from '../helpers/realtime-e2e.js';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { openSocket, wsUrl } from '../helpers/ws-client.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-backup-'));
  dirs.push(dir);
  return dir;
}
const running: ServerProcess[] = [];
afterAll(async () => {
  for (const server of running) await server.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const SCHEMA = { type: 'object', properties: { title: { type: 'string' }, body: { type: 'string' } } };
const RULES = { list: 'public', view: 'public', create: 'public' };

/** An environment on the SQLite file in `dataDir`, with the e2e admin. */
function sqliteEnv(dataDir: string): Record<string, string> {
  return { ...serverEnv({ dataDir, databaseUrl: `sqlite:${join(dataDir, 'sigil.db')}`, jwtSecret: newJwtSecret(), admin: true }), LOG_LEVEL: 'error' };
}

async function start(env: Record<string, string>, cwd: string): Promise<ServerProcess> {
  const server = await startServerProcess({ env, cwd });
  running.push(server);
  return server;
}

async function create(url: string, title: string): Promise<string> {
  const res = await api(url, 'POST', '/api/collections/notes/records', { body: { title } });
  expectStatus(res, 201, `create ${title}`);
  return res.body['id'] as string;
}

/** Every record id of `notes` in the SQLite file at `dataDir`, through the store. */
async function idsIn(dataDir: string): Promise<Set<string>> {
  const store = await openStore({ databaseUrl: `sqlite:${join(dataDir, 'sigil.db')}`, dataDir });
  try {
    const ids = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await store.records.scanRecords('notes', after, 1000);
      for (const row of page) ids.add(row.id);
      if (page.length < 1000) return ids;
      after = page.at(-1)!.id;
    }
  } finally {
    await store.close();
  }
}

describe('sigil backup and sigil restore (SQLite)', () => {
  it('a backup taken under write load holds every write acknowledged before it began, and writes go on meanwhile', async () => {
    const cwd = tempDir();
    const dataDir = join(cwd, 'data');
    const env = sqliteEnv(dataDir);
    const server = await start(env, cwd);
    const admin = await loginAdmin(server.url);
    expectStatus(await api(server.url, 'POST', '/api/collections', { token: admin, body: { name: 'notes', schema: SCHEMA, rules: RULES } }), 201, 'collection');
    // 2,000 records of 1 KiB: less than a WAL checkpoint's worth (wal_autocheckpoint), so nearly
    // everything is still in the WAL, which a copy of the database file alone would miss.
    const body = 'x'.repeat(1024);
    for (let b = 0; b < 20; b++) {
      const operations = Array.from({ length: 100 }, (_, i) => ({ op: 'create', collection: 'notes', record: { title: `seed ${b}.${i}`, body } }));
      expectStatus(await api(server.url, 'POST', '/api/batch', { token: admin, body: { operations } }), 200, 'seed batch');
    }

    // Writers acknowledge records the whole time; each ack is stamped.
    const acked: { id: string; at: number }[] = [];
    let writing = true;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; writing; i++) acked.push({ id: await create(server.url, `w${w}.${i}`), at: performance.now() });
    });
    await new Promise((r) => setTimeout(r, 300));
    const backupFile = join(cwd, 'snapshot.db');
    const began = performance.now();
    const before = new Set(acked.filter((a) => a.at <= began).map((a) => a.id));
    const result = await runCli(['backup', backupFile], { env, cwd });
    const ended = performance.now();
    await new Promise((r) => setTimeout(r, 200));
    writing = false;
    await Promise.all(writers);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Backed up .* to .*snapshot\.db: 1 users, 1 collections, change log up to seq \d+, schema version \d+, \d+ bytes\.\n$/);
    // The server kept acknowledging writes while the backup command ran.
    expect(acked.filter((a) => a.at > began && a.at < ended).length).toBeGreaterThan(0);
    expect(before.size).toBeGreaterThan(0);
    // Private, like the database, and whole: no partial file left beside it.
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(cwd).filter((f) => f.startsWith('.') || f.startsWith('snapshot.db-'))).toEqual([]);

    await server.stop();
    // Restored into a fresh data directory, then served.
    const restoredDir = join(tempDir(), 'data');
    const restoredEnv = { ...env, SIGIL_DATA_DIR: restoredDir, DATABASE_URL: `sqlite:${join(restoredDir, 'sigil.db')}` };
    const restore = await runCli(['restore', backupFile], { env: restoredEnv, cwd });
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).not.toContain('previous database is kept');
    const restored = await idsIn(restoredDir);
    const missing = [...before].filter((id) => !restored.has(id));
    expect(missing).toEqual([]);
    expect(restored.size).toBeGreaterThanOrEqual(2_000 + before.size);
    const again = await start(restoredEnv, cwd);
    const list = await api(again.url, 'GET', `/api/collections/notes/records?limit=1&filter=${encodeURIComponent(JSON.stringify({ id: [...before][0] }))}`);
    expectStatus(list, 200, 'list on the restored server');
    expect((list.body['items'] as unknown[]).length).toBe(1);
    await again.stop();
  }, 120_000);

  it('restore refuses a database in use, changes nothing, and otherwise replaces it, keeping the old one', async () => {
    const cwd = tempDir();
    const dataDir = join(cwd, 'data');
    const env = sqliteEnv(dataDir);
    let server = await start(env, cwd);
    const admin = await loginAdmin(server.url);
    expectStatus(await api(server.url, 'POST', '/api/collections', { token: admin, body: { name: 'notes', schema: SCHEMA, rules: RULES } }), 201, 'collection');
    const kept = await create(server.url, 'in the backup');
    const backupFile = join(cwd, 'b.db');
    expect((await runCli(['backup', backupFile], { env, cwd })).code).toBe(0);
    const later = await create(server.url, 'after the backup');

    const watcher = await openSocket(wsUrl(server.url));
    watcher.send({ type: 'subscribe', id: 'w', collection: 'notes' });
    const seqBefore = (await watcher.next((m) => m.type === 'subscribed')).seq as number;
    watcher.close();
    expect(seqBefore).toBeGreaterThanOrEqual(2);
    const refused = await runCli(['restore', backupFile], { env, cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^sigil: the database at .*sigil\.db is in use: stop Sigil, then restore/);
    // The running server did not notice.
    expect((await idsIn(dataDir)).has(later)).toBe(true);
    expectStatus(await api(server.url, 'GET', `/api/collections/notes/records/${later}`), 200, 'still served');

    await server.stop();
    const done = await runCli(['restore', backupFile], { env, cwd });
    expect(done.code, done.stderr).toBe(0);
    const previous = /kept as (\S+)\.\n$/.exec(done.stdout)?.[1];
    expect(previous).toMatch(/sigil\.db\.before-restore-/);
    expect(existsSync(join(dataDir, 'sigil.db-wal'))).toBe(false);
    server = await start(env, cwd);
    expectStatus(await api(server.url, 'GET', `/api/collections/notes/records/${kept}`), 200, 'restored record');
    expectStatus(await api(server.url, 'GET', `/api/collections/notes/records/${later}`), 404, 'a record newer than the backup');
    // Clients that saw changes the restore undid, or any before them, start over (resync) once;
    // a new change gets a seq past everything the replaced database handed out.
    for (const since of [0, 1, seqBefore]) {
      const socket = await openSocket(wsUrl(server.url));
      socket.send({ type: 'subscribe', id: 's', collection: 'notes', since });
      expect(await socket.next((m) => m.type === 'resync' || m.type === 'subscribed')).toEqual({ type: 'resync', id: 's' });
      socket.close();
    }
    const live = await openSocket(wsUrl(server.url));
    live.send({ type: 'subscribe', id: 'l', collection: 'notes' });
    await live.next((m) => m.type === 'subscribed');
    await create(server.url, 'after the restore');
    expect((await live.next((m) => m.type === 'change')).seq).toBeGreaterThan(seqBefore);
    live.close();
    await server.stop();
    // The database it replaced still holds everything, WAL folded in.
    const oldDir = tempDir();
    const oldEnv = { ...env, SIGIL_DATA_DIR: oldDir, DATABASE_URL: `sqlite:${join(oldDir, 'sigil.db')}` };
    expect((await runCli(['restore', previous!], { env: oldEnv, cwd })).code).toBe(0);
    expect((await idsIn(oldDir)).has(later)).toBe(true);
  }, 60_000);

  it('refuses what it cannot do, with one clear line', async () => {
    const cwd = tempDir();
    const dataDir = join(cwd, 'data');
    const env = sqliteEnv(dataDir);
    const server = await start(env, cwd);
    const taken = join(cwd, 'taken.db');
    writeFileSync(taken, 'not a database at all, but a file that exists');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['backup', taken], env, /taken\.db exists; choose a new file name/],
      [['backup'], env, /backup takes exactly one <file>/],
      [['backup', join(cwd, 'no/such/dir/x.db')], env, /the directory .*no\/such\/dir does not exist/],
      [['backup', join(cwd, 'x.db')], { ...env, DATABASE_URL: 'postgres://u@127.0.0.1:1/db' }, /DATABASE_URL is PostgreSQL: use pg_dump/],
      [['restore', join(cwd, 'x.db')], { ...env, DATABASE_URL: 'postgres://u@127.0.0.1:1/db' }, /use pg_restore/],
      [['restore', taken], env, /taken\.db is not a Sigil database/],
      [['restore', join(cwd, 'missing.db')], env, /no backup at .*missing\.db/],
    ];
    for (const [args, caseEnv, message] of cases) {
      const result = await runCli(args, { env: caseEnv, cwd });
      expect(result.code, `${args.join(' ')}: ${result.stdout}`).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    // None of it touched the database the server runs on.
    expectStatus(await api(server.url, 'GET', '/api/health'), 200, 'health');
    await server.stop();
  }, 60_000);
});
