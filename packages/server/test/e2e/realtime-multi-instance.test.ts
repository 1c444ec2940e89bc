/**
 * Several Sigil processes on one PostgreSQL database (SPEC §5): a change
 * committed through any instance reaches subscribers on every instance, once
 * and in seq order, and a client can resume with `since` on another instance
 * than the one it was connected to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
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
import { announceSkip, createTestDatabaseUrl, POSTGRES_SKIP_REASON, type TestDatabase } from '../helpers/stores.js';

const skipReason = POSTGRES_SKIP_REASON;
if (skipReason !== null) announceSkip('the multi-instance realtime test (PostgreSQL only)', skipReason);

describe.skipIf(skipReason !== null)('realtime across three Sigil instances on one PostgreSQL', () => {
  const servers: ServerProcess[] = [];
  const subscribers: ResumingSubscriber[] = [];
  const writers: Writer[] = [];
  let db: TestDatabase | undefined;
  let root: string;
  let userToken: string;
  const COLLECTION = 'shared_notes';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sigil-multi-'));
    db = await createTestDatabaseUrl('postgres');
    const jwtSecret = newJwtSecret();
    const start = (i: number): Promise<ServerProcess> =>
      startServerProcess({ cwd: root, env: serverEnv({ dataDir: join(root, `data${i}`), databaseUrl: db!.url, jwtSecret, admin: i === 0 }) });
    // The first migrates the database and creates the admin; the other two then start side by side.
    servers.push(await start(0));
    servers.push(...(await Promise.all([start(1), start(2)])));
    const adminToken = await loginAdmin(servers[0]!.url);
    await createCollection(servers[0]!.url, adminToken, COLLECTION);
    userToken = (await registerUser(servers[1]!.url, 'multi_user')).accessToken;
  });

  afterAll(async () => {
    await Promise.all(writers.map((w) => w.stop()));
    for (const s of subscribers) s.close();
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    await db?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  function subscriber(server: ServerProcess): ResumingSubscriber {
    const s = new ResumingSubscriber({ url: () => server.url, token: userToken, subscriptions: [{ id: 'n', collection: COLLECTION }] });
    subscribers.push(s);
    return s;
  }

  it('writes through the second and third instance reach a subscriber on the first once each, in seq order; since resumes on the third', async () => {
    const [first, second, third] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const onFirst = subscriber(first);
    await onFirst.connect();

    // Concurrent writers on two instances: their commits interleave on the shared change log.
    const viaSecond = startWriter({ url: () => second.url, token: userToken, collections: [COLLECTION], concurrency: 3 });
    const viaThird = startWriter({ url: () => third.url, token: userToken, collections: [COLLECTION], concurrency: 3 });
    writers.push(viaSecond, viaThird);
    await waitUntil(() => viaSecond.ackedCount >= 100 && viaThird.ackedCount >= 100, '100 writes through each of two instances', 30_000);
    await Promise.all([viaSecond.stop(), viaThird.stop()]);
    expect([...viaSecond.problems, ...viaThird.problems]).toEqual([]);
    expect(viaSecond.failed + viaThird.failed).toBe(0);

    // A last write after all the others: once it has arrived, every earlier one has (seq order), duplicates included.
    const sentinel = await createRecord(second.url, COLLECTION, { title: 'sentinel 1' }, userToken);
    await waitUntil(() => onFirst.has('n', sentinel), 'the sentinel on the first instance', 15_000, () => `${onFirst.count('n')} changes so far`);
    const acked = [...viaSecond.acked.get(COLLECTION)!, ...viaThird.acked.get(COLLECTION)!, sentinel];
    const received = onFirst.received.get('n')!;
    expect(deliveryProblems(received, acked)).toEqual([]);
    expect(received).toHaveLength(acked.length);
    expect(onFirst.problems).toEqual([]);
    expect(onFirst.reconnects).toBe(0);

    // Resume on the third instance from the first subscriber's position, after writes through the first.
    const position = onFirst.lastSeq.get('n')!;
    const missed: string[] = [];
    for (let i = 0; i < 40; i++) missed.push(await createRecord(first.url, COLLECTION, { title: `missed ${i}`, n: i }, userToken));
    const onThird = subscriber(third);
    onThird.lastSeq.set('n', position);
    await onThird.connect();
    const live = await createRecord(second.url, COLLECTION, { title: 'sentinel 2' }, userToken);
    await waitUntil(() => onThird.has('n', live), 'the second sentinel on the third instance', 15_000, () => `${onThird.count('n')} changes so far`);
    const resumed = onThird.received.get('n')!;
    expect(deliveryProblems(resumed, [...missed, live])).toEqual([]);
    expect(resumed.map((c) => c.id)).toEqual([...missed, live]);
    expect(resumed[0]!.seq).toBe(position + 1);
    expect(onThird.problems).toEqual([]);

    // The first instance's subscriber saw the same changes, with the same seqs.
    await waitUntil(() => onFirst.has('n', live), 'the second sentinel on the first instance');
    expect(onFirst.received.get('n')!.slice(-resumed.length)).toEqual(resumed);
  }, 60_000);
});
