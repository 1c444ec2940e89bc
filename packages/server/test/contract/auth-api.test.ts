import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigil, uniqueName, type TestSigil } from '../helpers/test-sigil.js';

function decodePayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe.each(STORES)('auth and users API on $name', (backend) => {
  let t: TestSigil;
  let disposeDb: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    if (backend.skipReason) return;
    const db = await createTestDatabaseUrl(backend.name);
    disposeDb = db.dispose;
    t = await startTestSigil({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await t?.close();
    await disposeDb();
  });

  describe.skipIf(backend.skipReason !== null)('register and login', () => {
    it('registers a user and returns tokens, never a hash', async () => {
      const username = uniqueName('Ada');
      const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password: 'correct horse', email: 'ada@example.com' } });
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json<{ user: Record<string, unknown>; accessToken: string; refreshToken: string }>();
      expect(Object.keys(body.user).sort()).toEqual(['createdAt', 'disabled', 'email', 'emailVerified', 'id', 'role', 'twoFactorEnabled', 'updatedAt', 'username']);
      expect(body.user).toMatchObject({ username: username.toLowerCase(), email: 'ada@example.com', emailVerified: false, role: 'user', disabled: false });
      expect(res.body).not.toMatch(/argon2|passwordHash|password_hash/);
      expect(body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const claims = decodePayload(body.accessToken);
      expect(Object.keys(claims).sort()).toEqual(['exp', 'iat', 'iss', 'role', 'sid', 'sub', 'username']);
      expect(claims).toMatchObject({ sub: body.user['id'], username: username.toLowerCase(), role: 'user', iss: 'sigil' });
      expect(Number(claims['exp']) - Number(claims['iat'])).toBe(900);
      const header = JSON.parse(Buffer.from(body.accessToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
      expect(typeof header['kid']).toBe('string');
    });

    it('treats usernames case-insensitively: a duplicate in another case is 409', async () => {
      const name = uniqueName('bob');
      await register(t, name);
      const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username: name.toUpperCase(), password: 'another password' } });
      expectError(res, 409, 'conflict');
    });

    it.each([
      [{ username: 'ab', password: 'long enough' }, '/username'],
      [{ username: 'has space', password: 'long enough' }, '/username'],
      [{ username: 'a'.repeat(33), password: 'long enough' }, '/username'],
      [{ username: 'valid_name', password: 'short' }, '/password'],
      [{ username: 'valid_name', password: 'x'.repeat(129) }, '/password'],
      [{ username: 'valid_name', password: 'long enough', email: 'not-an-email' }, '/email'],
      [{ username: 'valid_name', password: 'long enough', role: 'admin' }, '/role'],
      [{ username: 'valid_name' }, '/password'],
      [{ username: 42, password: 'long enough' }, '/username'],
    ])('rejects %j with validation_failed at %s and creates nothing', async (body, path) => {
      const res = await t.request({ method: 'POST', url: '/api/auth/register', body });
      expectError(res, 400, 'validation_failed');
      expect(res.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path)).toContain(path);
      expect(await t.sigil.store.users.findUserByUsername('valid_name')).toBeNull();
    });

    it('logs in with any case of the username', async () => {
      const account = await register(t, uniqueName('carol'));
      const res = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: account.username.toUpperCase(), password: account.password } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<{ user: { id: string } }>().user.id).toBe(account.id);
    });

    it('answers unknown user and wrong password identically', async () => {
      const account = await register(t);
      const wrong = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: account.username, password: 'wrong password' } });
      const unknown = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: 'nobody_here', password: 'wrong password' } });
      expectError(wrong, 401, 'invalid_credentials');
      expect(unknown.statusCode).toBe(wrong.statusCode);
      expect(unknown.body).toBe(wrong.body);
    });
  });

  describe.skipIf(backend.skipReason !== null)('tokens and sessions', () => {
    it('me returns the user for a valid token and 401 otherwise', async () => {
      const account = await register(t);
      const me = await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken });
      expect(me.statusCode).toBe(200);
      expect(me.json<{ user: { id: string } }>().user.id).toBe(account.id);
      expectError(await t.request({ method: 'GET', url: '/api/auth/me' }), 401, 'unauthorized');
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: 'garbage' }), 401, 'unauthorized');
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Basic ${account.accessToken}` } }), 401, 'unauthorized');
    });

    it('rotates the refresh token on every use', async () => {
      const account = await register(t);
      const first = await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: account.refreshToken } });
      expect(first.statusCode, first.body).toBe(200);
      const pair = first.json<{ accessToken: string; refreshToken: string }>();
      expect(pair.refreshToken).not.toBe(account.refreshToken);
      expect(decodePayload(pair.accessToken)['sid']).toBe(decodePayload(account.accessToken)['sid']);
      const second = await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: pair.refreshToken } });
      expect(second.statusCode, second.body).toBe(200);
    });

    it('revokes the whole session when a rotated refresh token is reused', async () => {
      const account = await register(t);
      const rotated = (await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: account.refreshToken } })).json<{
        accessToken: string;
        refreshToken: string;
      }>();
      // The thief replays the old token…
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: account.refreshToken } }), 401, 'unauthorized');
      // …and now neither the legitimate new refresh token nor the session's access tokens work.
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: rotated.refreshToken } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: rotated.accessToken }), 401, 'unauthorized');
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken }), 401, 'unauthorized');
      // Other sessions of the user are untouched.
      const login = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: account.username, password: account.password } });
      expect(login.statusCode).toBe(200);
    });

    it('lets exactly one of two concurrent refreshes with the same token win', async () => {
      const account = await register(t);
      const results = await Promise.all([1, 2].map(() => t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: account.refreshToken } })));
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
    });

    it('rejects unknown refresh tokens', async () => {
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: 'x'.repeat(43) } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: {} }), 400, 'validation_failed');
    });

    it('logout revokes the session: refresh and access tokens stop working', async () => {
      const account = await register(t);
      const res = await t.request({ method: 'POST', url: '/api/auth/logout', body: { refreshToken: account.refreshToken } });
      expect(res.statusCode).toBe(204);
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: account.refreshToken } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken }), 401, 'unauthorized');
      // Idempotent.
      expect((await t.request({ method: 'POST', url: '/api/auth/logout', body: { refreshToken: account.refreshToken } })).statusCode).toBe(204);
    });

    it('a password change keeps the current session and revokes the others', async () => {
      const account = await register(t);
      const other = (await t.request({ method: 'POST', url: '/api/auth/login', body: { username: account.username, password: account.password } })).json<{
        accessToken: string;
        refreshToken: string;
      }>();
      const wrong = await t.request({
        method: 'PATCH',
        url: `/api/users/${account.username}`,
        token: account.accessToken,
        body: { password: 'a new password', currentPassword: 'not the password' },
      });
      expectError(wrong, 401, 'invalid_credentials');
      expectError(await t.request({ method: 'PATCH', url: `/api/users/${account.username}`, token: account.accessToken, body: { password: 'a new password' } }), 401, 'invalid_credentials');

      const res = await t.request({
        method: 'PATCH',
        url: `/api/users/${account.username}`,
        token: account.accessToken,
        body: { password: 'a new password', currentPassword: account.password },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect((await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken })).statusCode).toBe(200);
      expect((await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: account.refreshToken } })).statusCode).toBe(200);
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: other.accessToken }), 401, 'unauthorized');
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: other.refreshToken } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'POST', url: '/api/auth/login', body: { username: account.username, password: account.password } }), 401, 'invalid_credentials');
      expect((await t.request({ method: 'POST', url: '/api/auth/login', body: { username: account.username, password: 'a new password' } })).statusCode).toBe(200);
    });
  });

  describe.skipIf(backend.skipReason !== null)('users: self versus admin', () => {
    it('a user sees and edits only themselves, and cannot raise their role', async () => {
      const alice = await register(t);
      const bob = await register(t);
      expect((await t.request({ method: 'GET', url: `/api/users/${alice.username}`, token: alice.accessToken })).statusCode).toBe(200);
      expectError(await t.request({ method: 'GET', url: `/api/users/${bob.username}`, token: alice.accessToken }), 403, 'forbidden');
      expectError(await t.request({ method: 'GET', url: '/api/users/no_such_user', token: alice.accessToken }), 403, 'forbidden');
      expectError(await t.request({ method: 'PATCH', url: `/api/users/${bob.username}`, token: alice.accessToken, body: { email: 'x@example.com' } }), 403, 'forbidden');
      expectError(await t.request({ method: 'DELETE', url: `/api/users/${bob.username}`, token: alice.accessToken }), 403, 'forbidden');
      expectError(await t.request({ method: 'PATCH', url: `/api/users/${alice.username}`, token: alice.accessToken, body: { role: 'admin' } }), 403, 'forbidden');
      expectError(await t.request({ method: 'PATCH', url: `/api/users/${alice.username}`, token: alice.accessToken, body: { disabled: false } }), 403, 'forbidden');
      expectError(await t.request({ method: 'PATCH', url: `/api/users/${alice.username}`, token: alice.accessToken, body: { username: 'renamed' } }), 400, 'validation_failed');
      expectError(await t.request({ method: 'GET', url: '/api/users', token: alice.accessToken }), 403, 'forbidden');
      const me = await t.sigil.store.users.findUserById(alice.id);
      expect(me?.role).toBe('user');

      const res = await t.request({ method: 'PATCH', url: `/api/users/${alice.username}`, token: alice.accessToken, body: { email: 'alice@example.com' } });
      expect(res.statusCode, res.body).toBe(200);
      // Your own new address waits for its link (email-verification-api.test.ts follows it).
      expect(res.json()).toMatchObject({ user: { email: null, emailVerified: false }, pendingEmail: 'alice@example.com' });
    });

    it('an admin lists users with keyset pagination', async () => {
      const admin = await createAdmin(t);
      for (let i = 0; i < 5; i++) await register(t);
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 100; page++) {
        const url: string = `/api/users?limit=2${after ? `&after=${after}` : ''}`;
        const res = await t.request({ method: 'GET', url, token: admin.accessToken });
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json<{ items: { id: string }[]; nextCursor: string | null }>();
        expect(body.items.length).toBeLessThanOrEqual(2);
        seen.push(...body.items.map((u) => u.id));
        after = body.nextCursor;
        if (!after) break;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...seen].sort());
      expect(seen.length).toBe(await t.sigil.store.users.countUsers());
      expectError(await t.request({ method: 'GET', url: '/api/users?limit=0', token: admin.accessToken }), 400, 'bad_request');
      expectError(await t.request({ method: 'GET', url: '/api/users?limit=201', token: admin.accessToken }), 400, 'bad_request');
      expectError(await t.request({ method: 'GET', url: '/api/users?after=%27%3B%20DROP', token: admin.accessToken }), 400, 'bad_request');
    });

    it('an admin searches users by part of the username or email, case-insensitive, paged', async () => {
      const admin = await createAdmin(t);
      const tag = `srch${Date.now().toString(36)}`;
      const named = [];
      for (const i of [1, 2, 3]) named.push(await register(t, `${tag}_${i}`));
      const other = await register(t);
      const res = await t.request({ method: 'PATCH', url: `/api/users/${other.username}`, token: admin.accessToken, body: { email: `Someone.${tag.toUpperCase()}@Example.com` } });
      expect(res.statusCode, res.body).toBe(200);
      const list = async (query: string) => {
        const r = await t.request({ method: 'GET', url: `/api/users?${query}`, token: admin.accessToken });
        expect(r.statusCode, r.body).toBe(200);
        return r.json<{ items: { username: string }[]; nextCursor: string | null }>();
      };
      const all = await list(`search=${tag.toUpperCase()}`);
      expect(all.items.map((u) => u.username).sort()).toEqual([...named.map((u) => u.username), other.username].sort());
      const first = await list(`search=${tag}_&limit=2`);
      expect(first.items).toHaveLength(2);
      const second = await list(`search=${tag}_&limit=2&after=${first.nextCursor!}`);
      expect([...first.items, ...second.items].map((u) => u.username)).toEqual(named.map((u) => u.username));
      expect(second.nextCursor).toBeNull();
      expect((await list(`search=${encodeURIComponent("%'_")}`)).items).toEqual([]);
      expect((await list('search=')).items.length).toBeGreaterThan(0);
      expectError(await t.request({ method: 'GET', url: `/api/users?search=${'x'.repeat(101)}`, token: admin.accessToken }), 400, 'bad_request');
    });

    it('an admin changes roles and disables users; disabling ends their sessions', async () => {
      const admin = await createAdmin(t);
      const user = await register(t);
      const promoted = await t.request({ method: 'PATCH', url: `/api/users/${user.username}`, token: admin.accessToken, body: { role: 'admin' } });
      expect(promoted.json<{ user: { role: string } }>().user.role).toBe('admin');
      // The role is read from the database, so the user's existing token now acts as admin.
      expect((await t.request({ method: 'GET', url: '/api/users?limit=1', token: user.accessToken })).statusCode).toBe(200);
      await t.request({ method: 'PATCH', url: `/api/users/${user.username}`, token: admin.accessToken, body: { role: 'user' } });
      expectError(await t.request({ method: 'GET', url: '/api/users?limit=1', token: user.accessToken }), 403, 'forbidden');

      const disabled = await t.request({ method: 'PATCH', url: `/api/users/${user.username}`, token: admin.accessToken, body: { disabled: true } });
      expect(disabled.json<{ user: { disabled: boolean } }>().user.disabled).toBe(true);
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: user.accessToken }), 401, 'unauthorized');
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: user.refreshToken } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'POST', url: '/api/auth/login', body: { username: user.username, password: user.password } }), 403, 'forbidden');
      // A wrong password on a disabled account still says only invalid_credentials.
      expectError(await t.request({ method: 'POST', url: '/api/auth/login', body: { username: user.username, password: 'wrong password' } }), 401, 'invalid_credentials');

      await t.request({ method: 'PATCH', url: `/api/users/${user.username}`, token: admin.accessToken, body: { disabled: false } });
      expect((await t.request({ method: 'POST', url: '/api/auth/login', body: { username: user.username, password: user.password } })).statusCode).toBe(200);
    });

    it('the last admin can be neither demoted, disabled nor deleted', async () => {
      // Start from a clean slate of admins: demote every other admin first.
      const admin = await createAdmin(t);
      for (let after: string | undefined; ; ) {
        const rows = await t.sigil.store.users.listUsers({ limit: 100, afterId: after });
        for (const row of rows) {
          if (row.role === 'admin' && row.id !== admin.id) await t.sigil.store.users.updateUser(row.id, { role: 'user', updatedAt: new Date().toISOString() });
        }
        if (rows.length < 100) break;
        after = rows.at(-1)?.id;
      }
      expect(await t.sigil.store.users.countActiveAdmins()).toBe(1);
      expectError(await t.request({ method: 'PATCH', url: `/api/users/${admin.username}`, token: admin.accessToken, body: { role: 'user' } }), 409, 'conflict');
      expectError(await t.request({ method: 'PATCH', url: `/api/users/${admin.username}`, token: admin.accessToken, body: { disabled: true } }), 409, 'conflict');
      expectError(await t.request({ method: 'DELETE', url: `/api/users/${admin.username}`, token: admin.accessToken }), 409, 'conflict');
      expect((await t.sigil.store.users.findUserById(admin.id))?.role).toBe('admin');

      // With a second admin, the first may step down.
      const second = await createAdmin(t);
      const res = await t.request({ method: 'PATCH', url: `/api/users/${admin.username}`, token: second.accessToken, body: { role: 'user' } });
      expect(res.statusCode, res.body).toBe(200);
    });

    it('deleting a user ends their sessions; a user may delete themselves', async () => {
      const admin = await createAdmin(t);
      const victim = await register(t);
      expect((await t.request({ method: 'DELETE', url: `/api/users/${victim.username}`, token: admin.accessToken })).statusCode).toBe(204);
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: victim.accessToken }), 401, 'unauthorized');
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: victim.refreshToken } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'GET', url: `/api/users/${victim.username}`, token: admin.accessToken }), 404, 'not_found');

      const self = await register(t);
      expect((await t.request({ method: 'DELETE', url: `/api/users/${self.username}`, token: self.accessToken })).statusCode).toBe(204);
      expect(await t.sigil.store.users.findUserById(self.id)).toBeNull();
    });
  });

  describe.skipIf(backend.skipReason !== null)('service', () => {
    it('health answers ok while the database answers', async () => {
      const res = await t.request({ method: 'GET', url: '/api/health' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    });
  });
});
