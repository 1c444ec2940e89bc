/**
 * The storage contract (core/storage/store.ts), run against every backend in
 * the store matrix. A backend is done when this passes unchanged.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { openStore, parseDatabaseUrl } from '../../src/adapters/open-store.js';
import { openPostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { openSqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { AppError } from '../../src/core/errors.js';
import { newId } from '../../src/core/ids.js';
import type { NewUser, Store } from '../../src/core/storage/store.js';
import { createTestDatabaseUrl, STORES, type OpenedStore, freshStoreEachTest } from '../helpers/stores.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
/** Fixed times: `at(60)` is one minute after T0, as an ISO string. */
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

function newUser(overrides: Partial<NewUser> = {}): NewUser {
  return {
    id: newId(T0), username: `u${newId().slice(-10).toLowerCase()}`, email: null,
    passwordHash: '$argon2id$fake', role: 'user', createdAt: at(0), ...overrides,
  };
}

/** A promise plus the function that resolves it: holds a transaction open on cue. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const isAppError = (code: string) => (error: unknown): boolean => error instanceof AppError && error.code === code;

async function appliedVersions(url: string): Promise<number[]> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[]);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
  } finally {
    await client.end();
  }
}

describe.each(STORES)('storage contract: $name', (factory) => {
  const skip = factory.skipReason !== null;
  let opened: OpenedStore;
  let store: Store;

  freshStoreEachTest(factory, async (o) => {
    opened = o;
    store = o.store;
  });

  describe.skipIf(skip)(skip ? `SKIPPED: ${factory.skipReason}` : 'users', () => {
    it('inserts and finds users; usernames are case-insensitive', async () => {
      const input = newUser({ username: 'Alice.Smith', email: 'a@example.com', role: 'admin' });
      const row = await store.users.insertUser(input);
      expect(row).toEqual({
        id: input.id, username: 'alice.smith', email: 'a@example.com', emailVerified: false, passwordHash: input.passwordHash,
        role: 'admin', disabled: false, twoFactorEnabled: false, createdAt: at(0), updatedAt: at(0),
      });
      expect(await store.users.findUserById(input.id)).toEqual(row);
      expect(await store.users.findUserByUsername('ALICE.smith')).toEqual(row);
      expect(await store.users.findUserById('nope')).toBeNull();
      expect(await store.users.findUserByUsername('nobody')).toBeNull();
    });

    it('rejects a taken username (in any case) or id with conflict', async () => {
      const first = await store.users.insertUser(newUser({ username: 'bob' }));
      await expect(store.users.insertUser(newUser({ username: 'BOB' }))).rejects.toSatisfy(isAppError('conflict'));
      await expect(store.users.insertUser(newUser({ id: first.id }))).rejects.toSatisfy(isAppError('conflict'));
      expect(await store.users.countUsers()).toBe(1);
    });

    it('lists users by id with keyset pagination', async () => {
      const ids = Array.from({ length: 5 }, (_, i) => newId(T0 + i));
      for (const id of [ids[3], ids[0], ids[4], ids[2], ids[1]]) await store.users.insertUser(newUser({ id: id! }));
      const page1 = await store.users.listUsers({ limit: 2 });
      const page2 = await store.users.listUsers({ limit: 2, afterId: page1.at(-1)!.id });
      const page3 = await store.users.listUsers({ limit: 2, afterId: page2.at(-1)!.id });
      expect([...page1, ...page2, ...page3].map((u) => u.id)).toEqual(ids);
      expect(page3).toHaveLength(1);
      expect(await store.users.listUsers({ limit: 10, afterId: ids[4] })).toEqual([]);
    });

    it('updates only the given fields and returns the new row', async () => {
      const u = await store.users.insertUser(newUser({ email: 'old@example.com' }));
      const changed = await store.users.updateUser(u.id, { email: 'new@example.com', role: 'admin', updatedAt: at(60) });
      expect(changed).toEqual({ ...u, email: 'new@example.com', role: 'admin', updatedAt: at(60) });
      const cleared = await store.users.updateUser(u.id, { email: null, passwordHash: 'h2', disabled: true, updatedAt: at(120) });
      expect(cleared).toEqual({ ...u, email: null, passwordHash: 'h2', role: 'admin', disabled: true, updatedAt: at(120) });
      expect(await store.users.findUserById(u.id)).toEqual(cleared);
      expect(await store.users.updateUser('missing', { updatedAt: at(1) })).toBeNull();
    });

    it('stores whether the email is verified, on insert and on update', async () => {
      const verified = await store.users.insertUser(newUser({ email: 'v@example.com', emailVerified: true }));
      expect(verified.emailVerified).toBe(true);
      const u = await store.users.insertUser(newUser({ email: 'u@example.com' }));
      expect(u.emailVerified).toBe(false);
      const changed = await store.users.updateUser(u.id, { emailVerified: true, updatedAt: at(60) });
      expect(changed).toEqual({ ...u, emailVerified: true, updatedAt: at(60) });
      // Left out, it stays as it is.
      expect(await store.users.updateUser(u.id, { role: 'admin', updatedAt: at(61) })).toMatchObject({ emailVerified: true, role: 'admin' });
      expect(await store.users.findUserByUsername(u.username)).toMatchObject({ emailVerified: true });
      await store.sessions.insertSession({ id: 's_verified', userId: u.id, createdAt: at(0), expiresAt: at(3600) });
      expect((await store.sessions.findSessionIdentity('s_verified'))?.user.emailVerified).toBe(true);
    });

    it('deletes a user with their sessions and refresh tokens', async () => {
      const u = await store.users.insertUser(newUser());
      await store.sessions.insertSession({ id: 's1', userId: u.id, createdAt: at(0), expiresAt: at(3600) });
      await store.sessions.insertRefreshToken({ tokenHash: 'h1', sessionId: 's1', createdAt: at(0) });
      expect(await store.users.deleteUser(u.id)).toBe(true);
      expect(await store.users.deleteUser(u.id)).toBe(false);
      expect(await store.sessions.findSession('s1')).toBeNull();
      expect(await store.sessions.findRefreshToken('h1')).toBeNull();
    });

    it('counts users and active admins', async () => {
      await store.users.insertUser(newUser({ role: 'admin' }));
      const disabledAdmin = await store.users.insertUser(newUser({ role: 'admin' }));
      await store.users.updateUser(disabledAdmin.id, { disabled: true, updatedAt: at(1) });
      await store.users.insertUser(newUser());
      expect(await store.users.countActiveAdmins()).toBe(1);
      expect(await store.users.countUsers()).toBe(3);
    });
  });

  describe.skipIf(skip)('sessions and refresh tokens', () => {
    let userId: string;
    beforeEach(async () => {
      userId = (await store.users.insertUser(newUser({ username: 'carol' }))).id;
    });

    it('inserts, finds and joins a session with its user', async () => {
      await store.sessions.insertSession({ id: 's1', userId, createdAt: at(0), expiresAt: at(3600) });
      const session = { id: 's1', userId, createdAt: at(0), expiresAt: at(3600), revokedAt: null };
      expect(await store.sessions.findSession('s1')).toEqual(session);
      expect(await store.sessions.findSessionIdentity('s1')).toEqual({ user: await store.users.findUserById(userId), session });
      expect(await store.sessions.findSession('nope')).toBeNull();
      expect(await store.sessions.findSessionIdentity('nope')).toBeNull();
    });

    it('rejects a session for a missing user with conflict', async () => {
      await expect(store.sessions.insertSession({ id: 's1', userId: 'ghost', createdAt: at(0), expiresAt: at(1) }))
        .rejects.toSatisfy(isAppError('conflict'));
    });

    it('revokes a session once', async () => {
      await store.sessions.insertSession({ id: 's1', userId, createdAt: at(0), expiresAt: at(3600) });
      await store.sessions.revokeSession('s1', at(10));
      await store.sessions.revokeSession('s1', at(20));
      expect((await store.sessions.findSession('s1'))?.revokedAt).toBe(at(10));
      expect((await store.sessions.findSessionIdentity('s1'))?.session.revokedAt).toBe(at(10));
    });

    it('revokes all live sessions of a user except one', async () => {
      const other = await store.users.insertUser(newUser());
      for (const id of ['a', 'b', 'c', 'd']) await store.sessions.insertSession({ id, userId, createdAt: at(0), expiresAt: at(3600) });
      await store.sessions.insertSession({ id: 'o', userId: other.id, createdAt: at(0), expiresAt: at(3600) });
      await store.sessions.revokeSession('d', at(5));
      expect((await store.sessions.revokeUserSessions(userId, at(10), 'a')).sort()).toEqual(['b', 'c']);
      expect((await store.sessions.findSession('a'))?.revokedAt).toBeNull();
      expect((await store.sessions.findSession('d'))?.revokedAt).toBe(at(5));
      expect((await store.sessions.findSession('o'))?.revokedAt).toBeNull();
      expect(await store.sessions.revokeUserSessions(userId, at(20))).toEqual(['a']);
    });

    it('marks a refresh token used exactly once (compare-and-set)', async () => {
      await store.sessions.insertSession({ id: 's1', userId, createdAt: at(0), expiresAt: at(3600) });
      await store.sessions.insertRefreshToken({ tokenHash: 'h1', sessionId: 's1', createdAt: at(0) });
      await expect(store.sessions.insertRefreshToken({ tokenHash: 'h1', sessionId: 's1', createdAt: at(0) }))
        .rejects.toSatisfy(isAppError('conflict'));
      expect(await store.sessions.findRefreshToken('h1')).toEqual({ tokenHash: 'h1', sessionId: 's1', createdAt: at(0), usedAt: null });
      expect(await store.sessions.markRefreshTokenUsed('h1', at(5))).toBe(true);
      expect(await store.sessions.markRefreshTokenUsed('h1', at(6))).toBe(false);
      expect((await store.sessions.findRefreshToken('h1'))?.usedAt).toBe(at(5));
      expect(await store.sessions.markRefreshTokenUsed('missing', at(6))).toBe(false);
    });

    it('lets exactly one of concurrent refreshes win', async () => {
      await store.sessions.insertSession({ id: 's1', userId, createdAt: at(0), expiresAt: at(3600) });
      for (let round = 0; round < 5; round++) {
        await store.sessions.insertRefreshToken({ tokenHash: `h${round}`, sessionId: 's1', createdAt: at(0) });
        const results = await Promise.all(Array.from({ length: 4 }, (_, i) => store.sessions.markRefreshTokenUsed(`h${round}`, at(i))));
        expect(results.filter(Boolean)).toHaveLength(1);
      }
    });

    it('deletes sessions expired or revoked before a time, with their tokens', async () => {
      const add = (id: string, expiresAt: string) => store.sessions.insertSession({ id, userId, createdAt: at(0), expiresAt });
      await add('expired', at(50));
      await add('revoked-early', at(1000));
      await add('revoked-late', at(1000));
      await add('live', at(1000));
      await store.sessions.revokeSession('revoked-early', at(40));
      await store.sessions.revokeSession('revoked-late', at(200));
      await store.sessions.insertRefreshToken({ tokenHash: 'he', sessionId: 'expired', createdAt: at(0) });
      expect(await store.sessions.deleteStaleSessions(at(100))).toBe(2);
      expect(await store.sessions.findSession('expired')).toBeNull();
      expect(await store.sessions.findSession('revoked-early')).toBeNull();
      expect(await store.sessions.findRefreshToken('he')).toBeNull();
      expect(await store.sessions.findSession('revoked-late')).not.toBeNull();
      expect(await store.sessions.findSession('live')).not.toBeNull();
    });
  });

  describe.skipIf(skip)('password resets', () => {
    let userId: string;
    beforeEach(async () => {
      userId = (await store.users.insertUser(newUser({ username: 'dora', email: 'Dora@Example.com' }))).id;
    });

    it('finds users by email ignoring case, in id order, through the limit', async () => {
      const second = await store.users.insertUser(newUser({ id: newId(T0 + 5), username: 'dora2', email: 'dora@example.COM' }));
      await store.users.insertUser(newUser({ username: 'eve', email: 'eve@example.com' }));
      await store.users.insertUser(newUser({ username: 'nomail' }));
      const found = await store.users.findUsersByEmail('DORA@example.com', 10);
      expect(found.map((u) => u.username).sort()).toEqual(['dora', 'dora2']);
      expect(found.map((u) => u.id)).toEqual([...found.map((u) => u.id)].sort());
      expect(await store.users.findUsersByEmail('dora@example.com', 1)).toHaveLength(1);
      expect(await store.users.findUsersByEmail('nobody@example.com', 10)).toEqual([]);
      expect(second.email).toBe('dora@example.COM');
    });

    it('stores a reset, finds it while live, and consumes it exactly once', async () => {
      await store.passwordResets.insertPasswordReset({ tokenHash: 'r1', userId, createdAt: at(0), expiresAt: at(1800) });
      await expect(store.passwordResets.insertPasswordReset({ tokenHash: 'r1', userId, createdAt: at(0), expiresAt: at(1800) }))
        .rejects.toSatisfy(isAppError('conflict'));
      expect(await store.passwordResets.findLivePasswordReset('r1', at(10)))
        .toEqual({ tokenHash: 'r1', userId, createdAt: at(0), expiresAt: at(1800), usedAt: null });
      expect(await store.passwordResets.findLivePasswordReset('missing', at(10))).toBeNull();
      expect(await store.passwordResets.consumePasswordReset('r1', at(20))).toBe(userId);
      expect(await store.passwordResets.consumePasswordReset('r1', at(21))).toBeNull();
      expect(await store.passwordResets.findLivePasswordReset('r1', at(22))).toBeNull();
      expect(await store.passwordResets.consumePasswordReset('missing', at(22))).toBeNull();
    });

    it('refuses an expired reset', async () => {
      await store.passwordResets.insertPasswordReset({ tokenHash: 'r1', userId, createdAt: at(0), expiresAt: at(1800) });
      expect(await store.passwordResets.findLivePasswordReset('r1', at(1800))).toBeNull();
      expect(await store.passwordResets.consumePasswordReset('r1', at(1800))).toBeNull();
      expect(await store.passwordResets.consumePasswordReset('r1', at(1799))).toBe(userId);
    });

    it('lets exactly one of concurrent uses win', async () => {
      for (let round = 0; round < 5; round++) {
        await store.passwordResets.insertPasswordReset({ tokenHash: `c${round}`, userId, createdAt: at(0), expiresAt: at(1800) });
        const results = await Promise.all(Array.from({ length: 4 }, (_, i) => store.passwordResets.consumePasswordReset(`c${round}`, at(i))));
        expect(results.filter((r) => r !== null)).toEqual([userId]);
      }
    });

    it('ends every unused reset of one user, and no one else\'s', async () => {
      const other = await store.users.insertUser(newUser({ username: 'fred' }));
      await store.passwordResets.insertPasswordReset({ tokenHash: 'a', userId, createdAt: at(0), expiresAt: at(1800) });
      await store.passwordResets.insertPasswordReset({ tokenHash: 'b', userId, createdAt: at(0), expiresAt: at(1800) });
      await store.passwordResets.insertPasswordReset({ tokenHash: 'o', userId: other.id, createdAt: at(0), expiresAt: at(1800) });
      expect(await store.passwordResets.endUserPasswordResets(userId, at(30))).toBe(2);
      expect(await store.passwordResets.consumePasswordReset('a', at(31))).toBeNull();
      expect(await store.passwordResets.consumePasswordReset('b', at(31))).toBeNull();
      expect(await store.passwordResets.consumePasswordReset('o', at(31))).toBe(other.id);
      expect(await store.passwordResets.endUserPasswordResets(userId, at(40))).toBe(0);
    });

    it('deletes resets expired or used before a time, and a user\'s with the user', async () => {
      await store.passwordResets.insertPasswordReset({ tokenHash: 'expired', userId, createdAt: at(0), expiresAt: at(50) });
      await store.passwordResets.insertPasswordReset({ tokenHash: 'used', userId, createdAt: at(0), expiresAt: at(1800) });
      await store.passwordResets.insertPasswordReset({ tokenHash: 'live', userId, createdAt: at(0), expiresAt: at(1800) });
      await store.passwordResets.consumePasswordReset('used', at(40));
      expect(await store.passwordResets.deleteStalePasswordResets(at(100))).toBe(2);
      expect(await store.passwordResets.findLivePasswordReset('live', at(100))).not.toBeNull();
      await expect(store.passwordResets.insertPasswordReset({ tokenHash: 'x', userId: 'ghost', createdAt: at(0), expiresAt: at(1) })).rejects.toThrow();
      expect(await store.users.deleteUser(userId)).toBe(true);
      expect(await store.passwordResets.findLivePasswordReset('live', at(100))).toBeNull();
    });

    it('consumes inside a transaction, and a rollback gives the reset back', async () => {
      await store.passwordResets.insertPasswordReset({ tokenHash: 't', userId, createdAt: at(0), expiresAt: at(1800) });
      await expect(store.transaction(async (tx) => {
        expect(await tx.passwordResets.consumePasswordReset('t', at(10))).toBe(userId);
        throw new Error('roll back');
      })).rejects.toThrow('roll back');
      expect(await store.passwordResets.consumePasswordReset('t', at(11))).toBe(userId);
    });
  });

  describe.skipIf(skip)('transactions', () => {
    it('commits all writes together and returns the value', async () => {
      const u = newUser();
      const value = await store.transaction(async (tx) => {
        await tx.users.insertUser(u);
        await tx.sessions.insertSession({ id: 's1', userId: u.id, createdAt: at(0), expiresAt: at(60) });
        expect(await tx.users.findUserById(u.id)).not.toBeNull(); // sees its own writes
        return 42;
      });
      expect(value).toBe(42);
      expect((await store.sessions.findSessionIdentity('s1'))?.user.id).toBe(u.id);
    });

    it('rolls back everything when fn throws, and rethrows', async () => {
      const u = newUser();
      const boom = new Error('boom');
      await expect(store.transaction(async (tx) => {
        await tx.users.insertUser(u);
        await tx.sessions.insertSession({ id: 's1', userId: u.id, createdAt: at(0), expiresAt: at(60) });
        throw boom;
      })).rejects.toBe(boom);
      expect(await store.users.findUserById(u.id)).toBeNull();
      expect(await store.sessions.findSession('s1')).toBeNull();
      expect(await store.users.countUsers()).toBe(0);
    });

    it('hides uncommitted writes from reads outside the transaction', async () => {
      const u = newUser();
      const inserted = gate();
      const release = gate();
      const tx = store.transaction(async (t) => {
        await t.users.insertUser(u);
        inserted.open();
        await release.promise;
      });
      await inserted.promise;
      expect(await store.users.findUserById(u.id)).toBeNull();
      release.open();
      await tx;
      expect(await store.users.findUserById(u.id)).not.toBeNull();
    });

    it('runs concurrent read-then-write transactions as if one after another', async () => {
      // Each reads the user count and inserts "user<count>": interleaved, two
      // would read the same count and collide on the username.
      const names = await Promise.all(Array.from({ length: 4 }, () => store.transaction(async (tx) => {
        const n = await tx.users.countUsers();
        await sleep(10);
        const u = await tx.users.insertUser(newUser({ username: `user${n}` }));
        return u.username;
      })));
      expect(names.sort()).toEqual(['user0', 'user1', 'user2', 'user3']);
    });

    it('refuses a transaction object used after its transaction ended', async () => {
      let leaked: Parameters<Parameters<Store['transaction']>[0]>[0] | undefined;
      await store.transaction(async (tx) => {
        leaked = tx;
      });
      await expect(leaked!.users.countUsers()).rejects.toThrow();
    });
  });

  describe.skipIf(skip)('lifecycle', () => {
    it('pings, and fails every call after close', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      await store.close(); // idempotent
      await expect(store.ping()).rejects.toSatisfy(isAppError('unavailable'));
      await expect(store.users.countUsers()).rejects.toSatisfy(isAppError('unavailable'));
      await expect(store.transaction(async () => 1)).rejects.toSatisfy(isAppError('unavailable'));
    });

    it('applies migrations once; reopening keeps data and applies nothing', async () => {
      const u = await store.users.insertUser(newUser());
      const versions = await appliedVersions(opened.url);
      expect(versions.length).toBeGreaterThan(0);
      const again = await openStore({ databaseUrl: opened.url, dataDir: tmpdir() });
      try {
        expect(await again.users.findUserById(u.id)).toEqual(u);
      } finally {
        await again.close();
      }
      expect(await appliedVersions(opened.url)).toEqual(versions);
    });

    it('opens two stores at once on one fresh database', async () => {
      const db = await createTestDatabaseUrl(factory.name);
      try {
        const both = await Promise.all([0, 1].map(() => openStore({ databaseUrl: db.url, dataDir: tmpdir() })));
        await both[0]!.users.insertUser(newUser({ username: 'shared' }));
        expect(await both[1]!.users.findUserByUsername('shared')).not.toBeNull();
        await Promise.all(both.map((s) => s.close()));
        const versions = await appliedVersions(db.url);
        expect(new Set(versions).size).toBe(versions.length);
      } finally {
        await db.dispose();
      }
    });
  });
  describe.skipIf(skip || factory.name !== 'postgres')('postgres: lost connections', () => {
    it('fails the open transaction with unavailable, then recovers without crashing', async () => {
      await store.ping(); // leaves an idle pooled connection to be killed too
      const inside = gate();
      const killed = gate();
      const tx = store.transaction(async (t) => {
        await t.users.countUsers();
        inside.open();
        await killed.promise;
        return t.users.countUsers();
      });
      await inside.promise;
      const admin = new pg.Client({ connectionString: opened.url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await admin.end();
      killed.open();
      await expect(tx).rejects.toSatisfy(isAppError('unavailable'));
      // The pool drops dead clients as their 'error' events arrive; soon every query works again.
      let recovered = false;
      for (let i = 0; i < 50 && !recovered; i++) {
        recovered = await store.ping().then(() => true, () => false);
        if (!recovered) await sleep(20);
      }
      expect(recovered).toBe(true);
      expect(await store.users.countUsers()).toBe(0);
    });
  });
});

describe('openStore', () => {
  it('rejects an unknown DATABASE_URL scheme, naming the variable but not the secret', async () => {
    const attempt = openStore({ databaseUrl: 'mysql://root:hunter2@db/app', dataDir: tmpdir() });
    await expect(attempt).rejects.toThrow(/DATABASE_URL.*"mysql:"/);
    await expect(attempt).rejects.not.toThrow(/hunter2/);
    expect(() => parseDatabaseUrl('sqlite:', '/data')).toThrow(/DATABASE_URL/);
  });

  it('reads sqlite and postgres locations', () => {
    expect(parseDatabaseUrl(undefined, '/data')).toEqual({ dialect: 'sqlite', filename: '/data/sigil.db' });
    expect(parseDatabaseUrl('sqlite:rel/x.db', '/data')).toEqual({ dialect: 'sqlite', filename: resolve('rel/x.db') });
    expect(parseDatabaseUrl('sqlite:///abs/x.db', '/data')).toEqual({ dialect: 'sqlite', filename: '/abs/x.db' });
    expect(parseDatabaseUrl('sqlite::memory:', '/data')).toEqual({ dialect: 'sqlite', filename: ':memory:' });
    expect(parseDatabaseUrl('postgresql://h/db', '/data')).toEqual({ dialect: 'postgres', url: 'postgresql://h/db' });
  });

  it('opens an in-memory SQLite store whose reads wait out an open transaction', async () => {
    const store = await openStore({ databaseUrl: 'sqlite::memory:', dataDir: tmpdir() });
    const u = newUser();
    const inserted = gate();
    const tx = store.transaction(async (t) => {
      await t.users.insertUser(u);
      inserted.open();
      await sleep(20);
      throw new Error('rollback');
    });
    await inserted.promise;
    expect(await store.users.findUserById(u.id)).toBeNull(); // never the uncommitted row
    await expect(tx).rejects.toThrow('rollback');
    await store.close();
  });

  it('creates the SQLite file and its missing parent directories', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sigil-open-'));
    try {
      const store = await openSqliteStore({ filename: join(dir, 'a', 'b', 'sigil.db') });
      await store.ping();
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreachable PostgreSQL as unavailable', async () => {
    await expect(openPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/none' })).rejects.toSatisfy(isAppError('unavailable'));
  });
});
