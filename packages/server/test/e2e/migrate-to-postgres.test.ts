/**
 * `sigil migrate --to postgres://…`: a SQLite app moved into PostgreSQL is
 * the same app — the same records through the API, signed-in clients still
 * signed in, relations still enforced, and realtime clients resuming with
 * their `since` as if nothing had happened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, expectStatus, loginAdmin, newJwtSecret, serverEnv } from '../helpers/realtime-e2e.js';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { announceSkip, createTestDatabaseUrl, POSTGRES_SKIP_REASON, type TestDatabase } from '../helpers/stores.js';
import { openSocket, wsUrl, type Message } from '../helpers/ws-client.js';

const skipReason = POSTGRES_SKIP_REASON;
if (skipReason !== null) announceSkip('the SQLite-to-PostgreSQL move test', skipReason);

const AUTHORS = { name: 'authors', schema: { type: 'object', properties: { name: { type: 'string' } } }, rules: { list: 'public', view: 'public' } };
const POSTS = {
  name: 'posts',
  schema: {
    type: 'object',
    properties: {
      title: { type: 'string' },
      rank: { type: 'number' },
      author: { type: 'string', 'x-relation': { collection: 'authors', onDelete: 'restrict' } },
      editor: { type: 'string', 'x-relation': { collection: 'users', onDelete: 'restrict' } },
      tags: { type: 'array', items: { type: 'string' } },
    },
  },
  rules: { list: 'public', view: 'public' },
  indexes: [['rank']],
};

/** Every change a subscription with `since` replays, up to the current end. */
async function replay(url: string, since: number): Promise<Message[]> {
  const socket = await openSocket(wsUrl(url));
  try {
    socket.send({ type: 'subscribe', id: 'r', collection: 'posts', since });
    const subscribed = await socket.next((m) => m.type === 'subscribed' || m.type === 'resync');
    expect(subscribed.type).toBe('subscribed');
    const upTo = subscribed['seq'] as number;
    const changes: Message[] = [];
    while (changes.at(-1)?.['seq'] !== upTo) {
      const next = await socket.next((m) => m.type === 'change' || m.type === 'error', 5000);
      expect(next.type).toBe('change');
      changes.push(next);
      if ((next['seq'] as number) >= upTo) break;
    }
    return changes;
  } finally {
    socket.close();
  }
}

async function everything(url: string, token: string): Promise<unknown> {
  const all: Record<string, unknown[]> = {};
  for (const name of ['authors', 'posts']) {
    const res = await api(url, 'GET', `/api/collections/${name}/records?limit=200&sort=id`, { token });
    expectStatus(res, 200, `list ${name}`);
    all[name] = res.body['items'] as unknown[];
  }
  const users = await api(url, 'GET', '/api/users?limit=200', { token });
  expectStatus(users, 200, 'users');
  all['users'] = users.body['items'] as unknown[];
  return all;
}

describe.skipIf(skipReason !== null)('sigil migrate --to postgres://…', () => {
  const dirs: string[] = [];
  const databases: TestDatabase[] = [];
  const running: ServerProcess[] = [];
  afterAll(async () => {
    for (const server of running) await server.stop('SIGKILL');
    for (const db of databases) await db.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('moves users, sessions, collections, records, relations and the change log; clients go on where they were', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sigil-migrate-'));
    dirs.push(cwd);
    const target = await createTestDatabaseUrl('postgres');
    databases.push(target);
    const jwtSecret = newJwtSecret();
    const sqliteEnv = serverEnv({ dataDir: join(cwd, 'data'), databaseUrl: `sqlite:${join(cwd, 'data', 'sigil.db')}`, jwtSecret, admin: true });

    // An app on SQLite, with some history.
    let server = await startServerProcess({ cwd, env: sqliteEnv });
    running.push(server);
    const admin = await loginAdmin(server.url);
    for (const collection of [AUTHORS, POSTS]) expectStatus(await api(server.url, 'POST', '/api/collections', { token: admin, body: collection }), 201, collection.name);
    const reader = await api(server.url, 'POST', '/api/auth/register', { body: { username: 'reader', password: 'reader password 1', email: 'reader@example.com' } });
    expectStatus(reader, 201, 'register');
    const readerId = (reader.body['user'] as { id: string }).id;
    const ada = await api(server.url, 'POST', '/api/collections/authors/records', { token: admin, body: { id: 'ada', name: 'Ada' } });
    expectStatus(ada, 201, 'author');
    const midSeq = await (async () => {
      const socket = await openSocket(wsUrl(server.url));
      socket.send({ type: 'subscribe', id: 'p', collection: 'posts' });
      const seq = (await socket.next((m) => m.type === 'subscribed'))['seq'] as number;
      socket.close();
      return seq;
    })();
    for (let i = 0; i < 30; i++) {
      const body = { id: `p${i}`, title: `post ${i}`, rank: i % 5, author: 'ada', ...(i % 3 === 0 ? { editor: readerId } : {}), tags: ['a', `t${i}`] };
      expectStatus(await api(server.url, 'POST', '/api/collections/posts/records', { token: admin, body }), 201, `post ${i}`);
    }
    expectStatus(await api(server.url, 'PATCH', '/api/collections/posts/records/p1', { token: admin, body: { title: 'edited' } }), 200, 'edit');
    expectStatus(await api(server.url, 'DELETE', '/api/collections/posts/records/p2', { token: admin }), 204, 'delete');
    const before = await everything(server.url, admin);
    const replayedOnSqlite = await replay(server.url, midSeq);
    const lastSeq = replayedOnSqlite.at(-1)!['seq'] as number;
    await server.stop();

    // Refused while the app runs on the file, then done with it stopped.
    server = await startServerProcess({ cwd, env: sqliteEnv });
    running.push(server);
    const busy = await runCli(['migrate', '--to', target.url], { env: sqliteEnv, cwd });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/is in use: stop Sigil, then move it/);
    await server.stop();
    const moved = await runCli(['migrate', '--to', target.url], { env: sqliteEnv, cwd });
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(new RegExp(`: 2 users, \\d+ sessions, 2 collections, 30 records, \\d+ changes \\(seq up to ${lastSeq}\\); every row verified\\.`));
    // A second move into the same database is refused: it is no longer empty.
    const again = await runCli(['migrate', '--to', target.url], { env: sqliteEnv, cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/the PostgreSQL database is not empty \(2 users, 2 collections/);

    // The same app on PostgreSQL.
    const pgEnv = { ...sqliteEnv, DATABASE_URL: target.url };
    server = await startServerProcess({ cwd, env: pgEnv });
    running.push(server);
    expect(await everything(server.url, admin)).toEqual(before);
    // The reader's session moved: its refresh token still works.
    const refreshed = await api(server.url, 'POST', '/api/auth/refresh', { body: { refreshToken: reader.body['refreshToken'] } });
    expectStatus(refreshed, 200, 'refresh after the move');
    // Relations are still enforced, to records and to users alike.
    expectStatus(await api(server.url, 'DELETE', '/api/collections/authors/records/ada', { token: admin }), 409, 'a referenced author');
    expectStatus(await api(server.url, 'DELETE', `/api/users/reader`, { token: admin }), 409, 'a referenced user');
    // Realtime: the same replay from the same seq, and new changes after the moved ones.
    expect(await replay(server.url, midSeq)).toEqual(replayedOnSqlite);
    const live = await openSocket(wsUrl(server.url));
    live.send({ type: 'subscribe', id: 'l', collection: 'posts', since: lastSeq });
    expect((await live.next((m) => m.type === 'subscribed' || m.type === 'resync')).type).toBe('subscribed');
    expectStatus(await api(server.url, 'POST', '/api/collections/posts/records', { token: admin, body: { id: 'fresh', title: 'on postgres', author: 'ada' } }), 201, 'new post');
    const change = await live.next((m) => m.type === 'change');
    expect(change).toMatchObject({ seq: lastSeq + 1, op: 'create', record: { id: 'fresh' } });
    live.close();
    await server.stop();
  }, 120_000);

  it('refuses what it cannot do, changing nothing', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sigil-migrate-'));
    dirs.push(cwd);
    const env = serverEnv({ dataDir: join(cwd, 'data'), databaseUrl: `sqlite:${join(cwd, 'data', 'sigil.db')}`, jwtSecret: newJwtSecret() });
    for (const [args, caseEnv, message] of [
      [['migrate'], env, /migrate needs --to/],
      [['migrate', '--to', 'mysql://x'], env, /--to must be a postgres:\/\/ URL/],
      [['migrate', '--to', 'postgres://u@127.0.0.1:1/db'], { ...env, DATABASE_URL: 'postgres://u@127.0.0.1:1/db' }, /DATABASE_URL is already PostgreSQL/],
    ] as const) {
      const result = await runCli([...args], { env: caseEnv, cwd });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
    }
  });
});
