/**
 * Two-factor authentication (TOTP) over HTTP on every backend: enrolment,
 * the login challenge, recovery codes, turning it off, the admin reset, and
 * what an attacker would try (window edges, replays, guessing). Codes come
 * from an RFC 6238 implementation of the test's own; the clock is the only fake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigilOn, uniqueName, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { referenceTotp } from '../helpers/totp-reference.js';

const STEP = 30_000;

describe.each(STORES)('two-factor authentication on $name', (backend) => {
  let t: TestSigil;
  // In the middle of a 30-second step, so that "one step before" is unambiguous.
  const clock = createFakeClock(Date.parse('2026-01-01T00:00:15.000Z'));

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name, { clock, env: { APP_NAME: 'Acme Notes' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  interface Enrolled extends Account {
    readonly secret: string;
    readonly recoveryCodes: string[];
  }

  const post = (url: string, body: unknown, token?: string) => t.request({ method: 'POST', url, body, ...(token ? { token } : {}) });
  const login = (a: { username: string; password: string }) => post('/api/auth/login', { username: a.username, password: a.password });
  const verify = (challenge: string, code: string) => post('/api/auth/2fa/verify', { challenge, code });
  const me = async (token: string) => (await t.request({ method: 'GET', url: '/api/auth/me', token })).json<{ user: { twoFactorEnabled: boolean } }>().user;
  /** A code `steps` steps away from now. */
  const code = (secret: string, steps = 0) => referenceTotp(secret, clock.now() + steps * STEP);
  /** Moves to the middle of a step `n` steps on: codes of earlier steps are then out of the window. */
  const nextSteps = (n: number) => clock.advance(n * STEP);

  async function enroll(account?: Account): Promise<Enrolled> {
    const user = account ?? (await register(t));
    const setup = await post('/api/auth/2fa/setup', { password: user.password }, user.accessToken);
    expect(setup.statusCode, setup.body).toBe(200);
    const { secret } = setup.json<{ secret: string; otpauthUri: string }>();
    const enable = await post('/api/auth/2fa/enable', { code: code(secret) }, user.accessToken);
    expect(enable.statusCode, enable.body).toBe(200);
    // The code just used is spent: the next one a test gives must be of a later step.
    nextSteps(1);
    return { ...user, secret, recoveryCodes: enable.json<{ recoveryCodes: string[] }>().recoveryCodes };
  }

  async function challengeOf(user: { username: string; password: string }): Promise<string> {
    const res = await login(user);
    expectError(res, 401, 'two_factor_required');
    const { error } = res.json<{ error: { challenge: string } }>();
    expect(error.challenge).toMatch(/^[\w-]{43}$/);
    return error.challenge;
  }

  describe.skipIf(backend.skipReason !== null)('enrolment', () => {
    it('sets up with the password, confirms with a code, and answers ten recovery codes once', async () => {
      const user = await register(t);
      expect(await me(user.accessToken)).toMatchObject({ twoFactorEnabled: false });
      const status = async () => (await t.request({ method: 'GET', url: '/api/auth/2fa', token: user.accessToken })).json<unknown>();
      expect(await status()).toEqual({ enabled: false, pending: false, recoveryCodesLeft: 0 });
      expectError(await t.request({ method: 'GET', url: '/api/auth/2fa' }), 401, 'unauthorized');
      expectError(await post('/api/auth/2fa/setup', { password: 'not the password' }, user.accessToken), 401, 'invalid_credentials');
      expectError(await post('/api/auth/2fa/setup', {}, user.accessToken), 400, 'validation_failed');
      expectError(await post('/api/auth/2fa/setup', { password: user.password }), 401, 'unauthorized');
      const setup = await post('/api/auth/2fa/setup', { password: user.password }, user.accessToken);
      expect(setup.statusCode, setup.body).toBe(200);
      const { secret, otpauthUri } = setup.json<{ secret: string; otpauthUri: string }>();
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(otpauthUri);
      expect(`${uri.protocol}//${uri.host}${decodeURIComponent(uri.pathname)}`).toBe(`otpauth://totp/Acme Notes:${user.username}`);
      expect(Object.fromEntries(uri.searchParams)).toMatchObject({ secret, issuer: 'Acme Notes', algorithm: 'SHA1', digits: '6', period: '30' });
      // Pending: login still answers tokens.
      expect((await login(user)).statusCode).toBe(200);
      expect(await status()).toEqual({ enabled: false, pending: true, recoveryCodesLeft: 0 });
      expectError(await post('/api/auth/2fa/enable', { code: code(secret, 2) }, user.accessToken), 401, 'invalid_credentials');
      expectError(await post('/api/auth/2fa/enable', { code: 'abcdef' }, user.accessToken), 401, 'invalid_credentials');
      expect(await me(user.accessToken)).toMatchObject({ twoFactorEnabled: false });
      const enable = await post('/api/auth/2fa/enable', { code: code(secret) }, user.accessToken);
      expect(enable.statusCode, enable.body).toBe(200);
      const { recoveryCodes } = enable.json<{ recoveryCodes: string[] }>();
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      for (const c of recoveryCodes) expect(c).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
      expect(await me(user.accessToken)).toMatchObject({ twoFactorEnabled: true });
      // The session that enrolled goes on; a second enable or a new setup is refused.
      expectError(await post('/api/auth/2fa/enable', { code: code(secret, 1) }, user.accessToken), 409, 'conflict');
      expectError(await post('/api/auth/2fa/setup', { password: user.password }, user.accessToken), 409, 'conflict');
      nextSteps(1);
    });

    it('enables only with the newest pending secret', async () => {
      const user = await register(t);
      const first = (await post('/api/auth/2fa/setup', { password: user.password }, user.accessToken)).json<{ secret: string }>().secret;
      const second = (await post('/api/auth/2fa/setup', { password: user.password }, user.accessToken)).json<{ secret: string }>().secret;
      expect(second).not.toBe(first);
      expectError(await post('/api/auth/2fa/enable', { code: code(first) }, user.accessToken), 401, 'invalid_credentials');
      expect((await post('/api/auth/2fa/enable', { code: code(second) }, user.accessToken)).statusCode).toBe(200);
      nextSteps(1);
    });

    it('refuses enable without a setup', async () => {
      const user = await register(t);
      expectError(await post('/api/auth/2fa/enable', { code: '123456' }, user.accessToken), 409, 'conflict');
    });

    it('never writes the secret, a recovery code or a challenge in clear to the database or the log', async () => {
      const user = await enroll();
      const challenge = await challengeOf(user);
      expect((await verify(challenge, user.recoveryCodes[1]!)).statusCode).toBe(200);
      expect(t.logs.join('')).not.toContain(challenge);
      const row = await t.sigil.store.twoFactor.findTwoFactorSecret(user.id);
      expect(row?.secret).toMatch(/^v1\./);
      expect(row?.secret).not.toContain(user.secret);
      expect(t.logs.join('')).not.toContain(user.secret);
      for (const c of user.recoveryCodes) expect(t.logs.join('')).not.toContain(c);
    });
  });

  describe.skipIf(backend.skipReason !== null)('login', () => {
    it('answers a challenge instead of tokens, and verify answers like login', async () => {
      const user = await enroll();
      const res = await login(user);
      expectError(res, 401, 'two_factor_required');
      const body = res.json<Record<string, unknown>>();
      expect(Object.keys(body)).toEqual(['error']);
      expect(body).not.toHaveProperty('accessToken');
      const challenge = res.json<{ error: { challenge: string } }>().error.challenge;
      const done = await verify(challenge, code(user.secret));
      expect(done.statusCode, done.body).toBe(200);
      const session = done.json<{ user: { username: string; twoFactorEnabled: boolean }; accessToken: string; refreshToken: string }>();
      expect(Object.keys(session).sort()).toEqual(['accessToken', 'refreshToken', 'user']);
      expect(session.user).toMatchObject({ username: user.username, twoFactorEnabled: true });
      expect(await me(session.accessToken)).toMatchObject({ username: user.username });
      expect((await post('/api/auth/refresh', { refreshToken: session.refreshToken })).statusCode).toBe(200);
      // A used challenge is dead, even with a fresh code.
      nextSteps(1);
      expectError(await verify(challenge, code(user.secret)), 401, 'unauthorized');
    });

    it('accepts the code of one step before and after, not two', async () => {
      const user = await enroll();
      // The step before now must not be the one the enrolment spent.
      nextSteps(1);
      expectError(await verify(await challengeOf(user), code(user.secret, -2)), 401, 'invalid_credentials');
      expectError(await verify(await challengeOf(user), code(user.secret, 2)), 401, 'invalid_credentials');
      expect((await verify(await challengeOf(user), code(user.secret, -1))).statusCode).toBe(200);
      expect((await verify(await challengeOf(user), code(user.secret, 1))).statusCode).toBe(200);
    });

    it('refuses a code again within its window, and any code of an earlier step', async () => {
      const user = await enroll();
      const now = code(user.secret);
      expect((await verify(await challengeOf(user), now)).statusCode).toBe(200);
      expectError(await verify(await challengeOf(user), now), 401, 'invalid_credentials');
      // Still inside the window 30 s later, and still spent; so is the step before it.
      nextSteps(1);
      expectError(await verify(await challengeOf(user), code(user.secret, -1)), 401, 'invalid_credentials');
      expectError(await verify(await challengeOf(user), code(user.secret, -2)), 401, 'invalid_credentials');
      expect((await verify(await challengeOf(user), code(user.secret))).statusCode).toBe(200);
    });

    it('lets only one of two concurrent verifies with one code win', async () => {
      const user = await enroll();
      const [a, b] = [await challengeOf(user), await challengeOf(user)];
      const c = code(user.secret);
      const answers = await Promise.all([verify(a, c), verify(b, c)]);
      expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 401]);
    });

    it('takes each recovery code once, typed in any case and with or without dashes', async () => {
      const user = await enroll();
      const [first, second] = user.recoveryCodes as [string, string];
      expect((await verify(await challengeOf(user), first)).statusCode).toBe(200);
      expectError(await verify(await challengeOf(user), first), 401, 'invalid_credentials');
      const typed = ` ${second.toUpperCase().replaceAll('-', '')} `;
      expect((await verify(await challengeOf(user), typed)).statusCode).toBe(200);
      expectError(await verify(await challengeOf(user), 'aaaa-bbbb-cccc-dddd'), 401, 'invalid_credentials');
    });

    it('ends a challenge after five minutes', async () => {
      const user = await enroll();
      const challenge = await challengeOf(user);
      clock.advance(5 * 60_000 + 1000);
      expectError(await verify(challenge, code(user.secret)), 401, 'unauthorized');
    });

    it('ends a challenge after five wrong codes, even for the right one after', async () => {
      const user = await enroll();
      const challenge = await challengeOf(user);
      for (let i = 0; i < 4; i++) expectError(await verify(challenge, '000000'), 401, 'invalid_credentials');
      const fifth = await verify(challenge, '000000');
      expectError(fifth, 401, 'unauthorized');
      expect(fifth.json<{ error: { message: string } }>().error.message).toMatch(/too many/i);
      expectError(await verify(challenge, code(user.secret)), 401, 'unauthorized');
      // A new login gets a new challenge.
      expect((await verify(await challengeOf(user), code(user.secret))).statusCode).toBe(200);
    });

    it('rate limits code checks per user over every challenge (TWO_FACTOR_RATE_LIMIT_PER_USER)', async () => {
      const user = await enroll();
      // Ten checks per 15 minutes; the enable above spent one.
      for (let i = 0; i < 9; i++) expectError(await verify(await challengeOf(user), '000000'), 401, 'invalid_credentials');
      const limited = await verify(await challengeOf(user), code(user.secret));
      expectError(limited, 429, 'rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      clock.advance(30 * 60_000);
      expect((await verify(await challengeOf(user), code(user.secret))).statusCode).toBe(200);
    });

    it('refuses unknown and malformed challenges without touching any account', async () => {
      expectError(await verify('x'.repeat(43), '123456'), 401, 'unauthorized');
      expectError(await post('/api/auth/2fa/verify', { challenge: 'x'.repeat(300), code: '123456' }), 400, 'validation_failed');
      expectError(await post('/api/auth/2fa/verify', { challenge: 'abc', code: '1'.repeat(65) }), 400, 'validation_failed');
      expectError(await post('/api/auth/2fa/verify', { challenge: 'abc' }), 400, 'validation_failed');
    });

    it('a disabled account gets 403 before any challenge, and at verify', async () => {
      const admin = await createAdmin(t);
      const user = await enroll();
      const challenge = await challengeOf(user);
      const patch = await t.request({ method: 'PATCH', url: `/api/users/${user.username}`, token: admin.accessToken, body: { disabled: true } });
      expect(patch.statusCode, patch.body).toBe(200);
      expectError(await verify(challenge, code(user.secret)), 403, 'forbidden');
      expectError(await login(user), 403, 'forbidden');
    });
  });

  describe.skipIf(backend.skipReason !== null)('turning it off, new recovery codes, admin reset', () => {
    it('disables with the password and a recovery code; login then answers tokens', async () => {
      const user = await enroll();
      const recovery = user.recoveryCodes[0]!;
      expectError(await post('/api/auth/2fa/disable', { password: 'wrong password', code: recovery }, user.accessToken), 401, 'invalid_credentials');
      expectError(await post('/api/auth/2fa/disable', { password: user.password, code: '000000' }, user.accessToken), 401, 'invalid_credentials');
      expectError(await post('/api/auth/2fa/disable', { code: recovery }, user.accessToken), 400, 'validation_failed');
      expect(await me(user.accessToken)).toMatchObject({ twoFactorEnabled: true });
      const off = await post('/api/auth/2fa/disable', { password: user.password, code: recovery }, user.accessToken);
      expect(off.statusCode, off.body).toBe(204);
      expect(await me(user.accessToken)).toMatchObject({ twoFactorEnabled: false });
      expect((await login(user)).statusCode).toBe(200);
      expectError(await post('/api/auth/2fa/disable', { password: user.password, code: recovery }, user.accessToken), 409, 'conflict');
      // And it can be set up anew, with a new secret.
      const again = await enroll(user);
      expect(again.secret).not.toBe(user.secret);
    });

    it('disables with a TOTP code', async () => {
      const user = await enroll();
      expect((await post('/api/auth/2fa/disable', { password: user.password, code: code(user.secret) }, user.accessToken)).statusCode).toBe(204);
    });

    it('regenerates recovery codes with a code; the old ones stop working', async () => {
      const user = await enroll();
      const res = await post('/api/auth/2fa/recovery-codes', { code: code(user.secret) }, user.accessToken);
      expect(res.statusCode, res.body).toBe(200);
      const fresh = res.json<{ recoveryCodes: string[] }>().recoveryCodes;
      expect(fresh).toHaveLength(10);
      const status = async () => (await t.request({ method: 'GET', url: '/api/auth/2fa', token: user.accessToken })).json<unknown>();
      expect(await status()).toEqual({ enabled: true, pending: false, recoveryCodesLeft: 10 });
      expectError(await verify(await challengeOf(user), user.recoveryCodes[0]!), 401, 'invalid_credentials');
      expect((await verify(await challengeOf(user), fresh[0]!)).statusCode).toBe(200);
      expect(await status()).toEqual({ enabled: true, pending: false, recoveryCodesLeft: 9 });
      expectError(await post('/api/auth/2fa/recovery-codes', { code: '000000' }, user.accessToken), 401, 'invalid_credentials');
    });

    it('an admin sees the state in the users list and resets it; nobody else may', async () => {
      const admin = await createAdmin(t);
      const user = await enroll();
      const other = await register(t);
      const listed = await t.request({ method: 'GET', url: `/api/users?search=${user.username}`, token: admin.accessToken });
      expect(listed.json<{ items: { username: string; twoFactorEnabled: boolean }[] }>().items).toEqual([
        expect.objectContaining({ username: user.username, twoFactorEnabled: true }),
      ]);
      const reset = (who: string, token: string) => t.request({ method: 'DELETE', url: `/api/users/${who}/2fa`, token });
      expectError(await reset(user.username, other.accessToken), 403, 'forbidden');
      expectError(await reset(user.username, user.accessToken), 403, 'forbidden');
      expectError(await t.request({ method: 'DELETE', url: `/api/users/${user.username}/2fa` }), 401, 'unauthorized');
      expectError(await reset('nobody_here', admin.accessToken), 404, 'not_found');
      expect(await me(user.accessToken)).toMatchObject({ twoFactorEnabled: true });
      const done = await reset(user.username.toUpperCase(), admin.accessToken);
      expect(done.statusCode, done.body).toBe(204);
      // Sessions stay; the password alone signs in again; a reset of a user without two-factor is 204 too.
      expect(await me(user.accessToken)).toMatchObject({ twoFactorEnabled: false });
      expect((await login(user)).statusCode).toBe(200);
      expect((await reset(user.username, admin.accessToken)).statusCode).toBe(204);
    });

    it('an open challenge dies with a password change', async () => {
      const user = await enroll();
      const challenge = await challengeOf(user);
      const patch = await t.request({ method: 'PATCH', url: `/api/users/${user.username}`, token: user.accessToken, body: { currentPassword: user.password, password: 'a brand new password' } });
      expect(patch.statusCode, patch.body).toBe(200);
      expectError(await verify(challenge, code(user.secret)), 401, 'unauthorized');
      expect((await verify(await challengeOf({ username: user.username, password: 'a brand new password' }), code(user.secret))).statusCode).toBe(200);
    });

    it('a password reset by mail ends open challenges and leaves two-factor on', async () => {
      const email = `${uniqueName('tfa')}@example.com`;
      const registered = await post('/api/auth/register', { username: uniqueName('tfa'), password: 'correct horse battery', email });
      const account = registered.json<{ user: { id: string; username: string }; accessToken: string; refreshToken: string }>();
      const user = await enroll({ username: account.user.username, password: 'correct horse battery', id: account.user.id, accessToken: account.accessToken, refreshToken: account.refreshToken });
      const challenge = await challengeOf(user);
      expect((await post('/api/auth/forgot-password', { email })).statusCode).toBe(202);
      // Without SMTP_URL the mail, link included, goes to the log.
      let token: string | undefined;
      // (Registering mailed a verification link first: this is the reset link.)
      await expect.poll(() => (token = new RegExp(`to ${email}[\\s\\S]*?/reset-password#token=([\\w-]+)`).exec(t.logs.join(''))?.[1])).toBeDefined();
      expect((await post('/api/auth/reset-password', { token, password: 'a new long password' })).statusCode).toBe(204);
      expectError(await verify(challenge, code(user.secret)), 401, 'unauthorized');
      expect((await verify(await challengeOf({ username: user.username, password: 'a new long password' }), code(user.secret))).statusCode).toBe(200);
    });

    it('an open challenge dies with a reset', async () => {
      const admin = await createAdmin(t);
      const user = await enroll();
      const challenge = await challengeOf(user);
      expect((await t.request({ method: 'DELETE', url: `/api/users/${user.username}/2fa`, token: admin.accessToken })).statusCode).toBe(204);
      expectError(await verify(challenge, code(user.secret)), 401, 'unauthorized');
    });
  });
});
