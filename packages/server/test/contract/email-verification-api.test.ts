/**
 * Email verification (POST /api/auth/verify-email, /resend-verification,
 * address changes through PATCH /api/users/:username, AUTH_REQUIRE_VERIFIED_EMAIL)
 * against a real SMTP server on loopback; the clock is the only fake.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/smtp-sink.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, expectError, startTestSigil, startTestSigilOn, TEST_JWT_SECRET, uniqueName, type TestSigil } from '../helpers/test-sigil.js';

const PUBLIC_URL = 'https://app.example.com';
const LINK_RE = /https:\/\/app\.example\.com\/verify-email#token=([A-Za-z0-9_-]+)/;
const RESET_RE = /https:\/\/app\.example\.com\/reset-password#token=([A-Za-z0-9_-]+)/;

function linkToken(mail: ReceivedMail, re = LINK_RE): string {
  const match = re.exec(mail.text);
  if (!match) throw new Error(`no link in ${JSON.stringify(mail.text)}`);
  return match[1]!;
}

/** A PATCH answer with the user and no pendingEmail. */
function expectUserOnly(answer: unknown, user: Record<string, unknown>): void {
  expect(Object.keys(answer as object)).toEqual(['user']);
  expect(answer).toMatchObject({ user });
}

const smtpEnv = (smtp: SmtpSink, extra: Record<string, string> = {}): Record<string, string> => ({
  SMTP_URL: smtp.url,
  MAIL_FROM: 'Acme <no-reply@acme.example>',
  APP_NAME: 'Acme',
  PUBLIC_URL,
  PASSWORD_RESET_RATE_LIMIT_PER_EMAIL: '1000/1m',
  EMAIL_VERIFICATION_RATE_LIMIT: '1000/1m',
  ...extra,
});

describe.each(STORES)('email verification on $name', (backend) => {
  let t: TestSigil;
  let smtp: SmtpSink;
  const clock = createFakeClock();

  beforeAll(async () => {
    if (backend.skipReason) return;
    smtp = await startSmtpSink();
    t = await startTestSigilOn(backend.name, { clock, env: smtpEnv(smtp) });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const verify = (token: unknown) => t.request({ method: 'POST', url: '/api/auth/verify-email', body: { token } });
  const login = (username: string, password: string) => t.request({ method: 'POST', url: '/api/auth/login', body: { username, password } });
  const me = async (token: string) => (await t.request({ method: 'GET', url: '/api/auth/me', token })).json<{ user: { email: string | null; emailVerified: boolean } }>().user;
  const patch = (username: string, token: string, body: unknown) => t.request({ method: 'PATCH', url: `/api/users/${username}`, token, body });

  /** Registers with an address and returns the account and the token of the link mailed to it. */
  async function account(email = `${uniqueName('v')}@example.com`) {
    const username = uniqueName('verify');
    const password = 'verify password 1';
    const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password, email } });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<{ user: { id: string; emailVerified: boolean }; accessToken: string }>();
    expect(body.user.emailVerified).toBe(false);
    const token = linkToken(await smtp.next(email));
    return { username, password, email, id: body.user.id, accessToken: body.accessToken, token };
  }

  async function freshToken(user: { username: string; password: string }): Promise<string> {
    const res = await login(user.username, user.password);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ accessToken: string }>().accessToken;
  }

  describe.skipIf(backend.skipReason !== null)('on registration', () => {
    it('mails a link to the new address; following it marks the address verified', async () => {
      const email = `${uniqueName('reg')}@example.com`;
      const username = uniqueName('reg');
      const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password: 'verify password 1', email } });
      expect(res.statusCode).toBe(201);
      const accessToken = res.json<{ accessToken: string }>().accessToken;
      const mail = await smtp.next(email);
      expect(mail.subject).toBe('Confirm your Acme email address');
      expect(mail.from).toBe('"Acme" <no-reply@acme.example>');
      for (const part of [username, email, '24 hours']) expect(mail.text).toContain(part);
      const token = linkToken(mail);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(mail.html).toContain(`href="${PUBLIC_URL}/verify-email#token=${token}"`);
      // The token never reaches the log.
      expect(t.logs.join('')).not.toContain(token);

      expect(await me(accessToken)).toMatchObject({ email, emailVerified: false });
      const done = await verify(token);
      expect(done.statusCode, done.body).toBe(204);
      expect(done.body).toBe('');
      expect(await me(accessToken)).toMatchObject({ email, emailVerified: true });
    });

    it('mails nothing without an address', async () => {
      const username = uniqueName('quiet');
      const before = smtp.received.length;
      expect((await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password: 'verify password 1' } })).statusCode).toBe(201);
      await t.sigil.emailVerifications.drain();
      expect(smtp.received.length).toBe(before);
    });

    it('stores only the SHA-256 of the token, with the address it was sent to', async () => {
      const user = await account();
      const rows = await t.sigil.store.transaction(async (tx) => {
        // Consuming by the raw token finds nothing; by its hash, the row (then rolled back).
        const byRaw = await tx.emailVerifications.consumeEmailVerification(user.token, new Date(clock.now()).toISOString());
        const byHash = await tx.emailVerifications.consumeEmailVerification(createHash('sha256').update(user.token).digest('hex'), new Date(clock.now()).toISOString());
        throw Object.assign(new Error('rollback'), { rows: { byRaw, byHash } });
      }).catch((err: unknown) => (err as { rows?: unknown }).rows);
      expect(rows).toMatchObject({ byRaw: null, byHash: { userId: user.id, email: user.email, purpose: 'verify', usedAt: null, expiresAt: new Date(clock.now() + 86_400_000).toISOString() } });
      expect((await verify(user.token)).statusCode).toBe(204);
    });
  });

  describe.skipIf(backend.skipReason !== null)('what a token is good for', () => {
    it('works once', async () => {
      const user = await account();
      expect((await verify(user.token)).statusCode).toBe(204);
      const again = await verify(user.token);
      expectError(again, 401, 'unauthorized');
      expect(again.json<{ error: { message: string } }>().error.message).toBe('Invalid or expired verification token.');
    });

    it('of two concurrent uses, one wins', async () => {
      const user = await account();
      const codes = (await Promise.all([verify(user.token), verify(user.token), verify(user.token)])).map((r) => r.statusCode).sort();
      expect(codes).toEqual([204, 401, 401]);
    });

    it('expires after EMAIL_VERIFICATION_TTL (24 h by default)', async () => {
      const early = await account();
      const late = await account();
      clock.advance(86_400_000 - 1000);
      expect((await verify(early.token)).statusCode).toBe(204);
      clock.advance(2000);
      expectError(await verify(late.token), 401, 'unauthorized');
      expect(await me(await freshToken(late))).toMatchObject({ emailVerified: false });
    });

    it('refuses unknown, malformed and oversized tokens, and bad bodies, changing nothing', async () => {
      expectError(await verify('A'.repeat(43)), 401, 'unauthorized');
      expectError(await verify(''), 401, 'unauthorized');
      expectError(await verify('x'.repeat(257)), 400, 'validation_failed');
      expectError(await verify(42), 400, 'validation_failed');
      expectError(await t.request({ method: 'POST', url: '/api/auth/verify-email', body: {} }), 400, 'validation_failed');
      expectError(await t.request({ method: 'POST', url: '/api/auth/verify-email', body: { token: 'abc', extra: 1 } }), 400, 'validation_failed');
    });

    it('does not work for an account disabled after the mail', async () => {
      const user = await account();
      await t.sigil.store.users.updateUser(user.id, { disabled: true, updatedAt: new Date(clock.now()).toISOString() });
      expectError(await verify(user.token), 401, 'unauthorized');
      expect((await t.sigil.store.users.findUserById(user.id))?.emailVerified).toBe(false);
    });
  });

  describe.skipIf(backend.skipReason !== null)('changing your address', () => {
    it('keeps the old address until the link to the new one is followed', async () => {
      const user = await account();
      expect((await verify(user.token)).statusCode).toBe(204);
      const next = `new-${user.email}`;
      const res = await patch(user.username, user.accessToken, { email: next });
      expect(res.statusCode, res.body).toBe(200);
      const answer = res.json<{ user: { email: string; emailVerified: boolean }; pendingEmail: string }>();
      expect(answer).toMatchObject({ user: { email: user.email, emailVerified: true }, pendingEmail: next });
      // Nothing went to the old inbox; the link went to the new one.
      const token = linkToken(await smtp.next(next));
      expect(await me(user.accessToken)).toMatchObject({ email: user.email, emailVerified: true });
      const row = await t.sigil.store.users.findUserById(user.id);
      expect(row?.email).toBe(user.email);

      expect((await verify(token)).statusCode).toBe(204);
      expect(await me(user.accessToken)).toMatchObject({ email: next, emailVerified: true });
      expectError(await verify(token), 401, 'unauthorized');
    });

    it('keeps an unverified old address unverified while the change waits', async () => {
      const user = await account();
      const next = `other-${user.email}`;
      expect((await patch(user.username, user.accessToken, { email: next })).json()).toMatchObject({ user: { email: user.email, emailVerified: false }, pendingEmail: next });
      const token = linkToken(await smtp.next(next));
      expect(await me(user.accessToken)).toMatchObject({ email: user.email, emailVerified: false });
      expect((await verify(token)).statusCode).toBe(204);
      expect(await me(user.accessToken)).toMatchObject({ email: next, emailVerified: true });
    });

    it('a newer change supersedes an older one: the older link stops working', async () => {
      const user = await account();
      const b = `b-${user.email}`;
      const c = `c-${user.email}`;
      expect((await patch(user.username, user.accessToken, { email: b })).statusCode).toBe(200);
      const tokenB = linkToken(await smtp.next(b));
      expect((await patch(user.username, user.accessToken, { email: c })).json()).toMatchObject({ pendingEmail: c });
      const tokenC = linkToken(await smtp.next(c));
      expectError(await verify(tokenB), 401, 'unauthorized');
      expect(await me(user.accessToken)).toMatchObject({ email: user.email });
      expect((await verify(tokenC)).statusCode).toBe(204);
      expect(await me(user.accessToken)).toMatchObject({ email: c, emailVerified: true });
    });

    it('a link for the old address does not verify the new one', async () => {
      const user = await account();
      const next = `moved-${user.email}`;
      expect((await patch(user.username, user.accessToken, { email: next })).statusCode).toBe(200);
      expect((await verify(linkToken(await smtp.next(next)))).statusCode).toBe(204);
      // The registration link (to the old address), never followed, is dead now.
      expectError(await verify(user.token), 401, 'unauthorized');
      expect(await me(user.accessToken)).toMatchObject({ email: next, emailVerified: true });
    });

    it('a link for an address the user no longer has verifies nothing, even while unused', async () => {
      const user = await account();
      // Straight into the store: the address changes without ending the link (as no API path does).
      await t.sigil.store.users.updateUser(user.id, { email: `elsewhere-${user.email}`, updatedAt: new Date(clock.now()).toISOString() });
      expectError(await verify(user.token), 401, 'unauthorized');
      expect((await t.sigil.store.users.findUserById(user.id))?.emailVerified).toBe(false);
    });

    it('confirming ends the password-reset links sent to the old address', async () => {
      const user = await account();
      expect((await t.request({ method: 'POST', url: '/api/auth/forgot-password', body: { email: user.email } })).statusCode).toBe(202);
      const reset = linkToken(await smtp.next(user.email), RESET_RE);
      const next = `reset-${user.email}`;
      expect((await patch(user.username, user.accessToken, { email: next })).statusCode).toBe(200);
      expect((await verify(linkToken(await smtp.next(next)))).statusCode).toBe(204);
      expectError(await t.request({ method: 'POST', url: '/api/auth/reset-password', body: { token: reset, password: 'attacker password' } }), 401, 'unauthorized');
    });

    it('clearing the address needs no link and ends the pending change', async () => {
      const user = await account();
      const next = `gone-${user.email}`;
      expect((await patch(user.username, user.accessToken, { email: next })).statusCode).toBe(200);
      const token = linkToken(await smtp.next(next));
      const res = await patch(user.username, user.accessToken, { email: null });
      expect(res.statusCode, res.body).toBe(200);
      expectUserOnly(res.json(), { email: null, emailVerified: false });
      expectError(await verify(token), 401, 'unauthorized');
      expectError(await verify(user.token), 401, 'unauthorized');
      expect(await me(user.accessToken)).toMatchObject({ email: null });
    });

    it('the same address again changes nothing and mails nothing', async () => {
      const user = await account();
      await t.sigil.emailVerifications.drain();
      const before = smtp.received.length;
      const res = await patch(user.username, user.accessToken, { email: user.email });
      expectUserOnly(res.json(), { email: user.email });
      await t.sigil.emailVerifications.drain();
      expect(smtp.received.length).toBe(before);
    });

    it('refuses emailVerified from a non-admin, and an invalid address, changing nothing', async () => {
      const user = await account();
      expectError(await patch(user.username, user.accessToken, { emailVerified: true }), 403, 'forbidden');
      expectError(await patch(user.username, user.accessToken, { email: 'not-an-email' }), 400, 'validation_failed');
      expectError(await patch(user.username, user.accessToken, { email: `${'x'.repeat(250)}@example.com` }), 400, 'validation_failed');
      expect(await me(user.accessToken)).toMatchObject({ email: user.email, emailVerified: false });
    });
  });

  describe.skipIf(backend.skipReason !== null)('admins', () => {
    it('set an address directly, verified or not, and may set emailVerified alone', async () => {
      const admin = await createAdmin(t);
      const user = await account();
      const direct = `direct-${user.email}`;
      const res = await patch(user.username, admin.accessToken, { email: direct });
      expectUserOnly(res.json(), { email: direct, emailVerified: false });
      // The user's old link is dead: the address it was for is gone.
      expectError(await verify(user.token), 401, 'unauthorized');
      expect((await patch(user.username, admin.accessToken, { emailVerified: true })).json()).toMatchObject({ user: { email: direct, emailVerified: true } });
      const verified = `verified-${user.email}`;
      expect((await patch(user.username, admin.accessToken, { email: verified, emailVerified: true })).json()).toMatchObject({ user: { email: verified, emailVerified: true } });
      expect((await patch(user.username, admin.accessToken, { emailVerified: false })).json()).toMatchObject({ user: { emailVerified: false } });
      expectError(await patch(user.username, admin.accessToken, { emailVerified: 'yes' }), 400, 'validation_failed');
    });

    it('resend a user\'s verification link (admin only)', async () => {
      const admin = await createAdmin(t);
      const user = await account();
      const send = (token: string, username = user.username) => t.request({ method: 'POST', url: `/api/users/${username}/resend-verification`, token });
      const res = await send(admin.accessToken);
      expect(res.statusCode, res.body).toBe(202);
      const token = linkToken(await smtp.next(user.email));
      expect(token).not.toBe(user.token);
      expectError(await send(user.accessToken), 403, 'forbidden');
      expectError(await t.request({ method: 'POST', url: `/api/users/${user.username}/resend-verification` }), 401, 'unauthorized');
      expectError(await send(admin.accessToken, 'nobody_here'), 404, 'not_found');
      expect((await verify(token)).statusCode).toBe(204);
      // Both links were good for the same address; the first still verifies nothing new but works.
      expect((await verify(user.token)).statusCode).toBe(204);
      expectError(await send(admin.accessToken), 409, 'conflict');
    });
  });

  describe.skipIf(backend.skipReason !== null)('resending', () => {
    const resend = (token?: string, body?: unknown) => t.request({ method: 'POST', url: '/api/auth/resend-verification', ...(token ? { token } : {}), ...(body === undefined ? {} : { body }) });

    it('signed in: mails a new link for the unverified address, or the pending change', async () => {
      const user = await account();
      expect((await resend(user.accessToken)).statusCode).toBe(202);
      const again = linkToken(await smtp.next(user.email));
      expect((await resend(user.accessToken, {})).statusCode).toBe(202);
      await smtp.next(user.email);
      const next = `pending-${user.email}`;
      expect((await patch(user.username, user.accessToken, { email: next })).statusCode).toBe(200);
      const first = linkToken(await smtp.next(next));
      expect((await resend(user.accessToken)).statusCode).toBe(202);
      const second = linkToken(await smtp.next(next));
      // The resent link replaces the first one.
      expectError(await verify(first), 401, 'unauthorized');
      expect((await verify(second)).statusCode).toBe(204);
      expect(await me(user.accessToken)).toMatchObject({ email: next, emailVerified: true });
      expectError(await verify(again), 401, 'unauthorized');
    });

    it('signed in with nothing to verify: 409', async () => {
      const user = await account();
      expect((await verify(user.token)).statusCode).toBe(204);
      expectError(await resend(user.accessToken), 409, 'conflict');
      expect((await patch(user.username, user.accessToken, { email: null })).statusCode).toBe(200);
      expectError(await resend(user.accessToken), 409, 'conflict');
    });

    it('anonymous: the same 202 for any address; only unverified accounts get a link', async () => {
      const user = await account();
      const res = await resend(undefined, { email: user.email.toUpperCase() });
      expect(res.statusCode).toBe(202);
      expect(res.body).toBe('');
      const token = linkToken(await smtp.next(user.email));
      expect((await resend(undefined, { email: `${uniqueName('ghost')}@example.com` })).statusCode).toBe(202);
      expect((await verify(token)).statusCode).toBe(204);
      await t.sigil.emailVerifications.drain();
      const before = smtp.received.length;
      expect((await resend(undefined, { email: user.email })).statusCode).toBe(202);
      await t.sigil.emailVerifications.drain();
      expect(smtp.received.length).toBe(before);
      expectError(await resend(undefined, {}), 400, 'validation_failed');
      expectError(await resend(undefined, { email: 'nope' }), 400, 'validation_failed');
      expectError(await resend(undefined, { email: 'a@b.example', extra: true }), 400, 'validation_failed');
      expectError(await resend('not.a.token', {}), 401, 'unauthorized');
    });
  });
});

describe.each(STORES)('email verification limits on $name', (backend) => {
  it.skipIf(backend.skipReason !== null)('limits mails per user and per address (EMAIL_VERIFICATION_RATE_LIMIT), whoever asks', async () => {
    const smtp = await startSmtpSink();
    const clock = createFakeClock();
    const t = await startTestSigilOn(backend.name, { clock, env: smtpEnv(smtp, { EMAIL_VERIFICATION_RATE_LIMIT: '2/1h' }) });
    try {
      const email = `${uniqueName('bomb')}@example.com`;
      const reg = async (address: string | undefined) => {
        const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username: uniqueName('bomb'), password: 'bomb password 1', ...(address ? { email: address } : {}) } });
        expect(res.statusCode, res.body).toBe(201);
        return res.json<{ user: { username: string }; accessToken: string }>();
      };
      const a = await reg(email); // mail 1 to `email`, mail 1 of a
      const resend = (token: string) => t.request({ method: 'POST', url: '/api/auth/resend-verification', token });
      expect((await resend(a.accessToken)).statusCode).toBe(202); // mail 2
      const over = await resend(a.accessToken);
      expectError(over, 429, 'rate_limited');
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);

      // Another account cannot mail that inbox either, nor bomb other inboxes through address changes.
      const b = await reg(undefined);
      const patch = (address: string) => t.request({ method: 'PATCH', url: `/api/users/${b.user.username}`, token: b.accessToken, body: { email: address } });
      expectError(await patch(email), 429, 'rate_limited');
      expect((await patch(`x1-${email}`)).statusCode).toBe(200);
      expect((await patch(`x2-${email}`)).statusCode).toBe(200);
      const third = await patch(`x3-${email}`);
      expectError(third, 429, 'rate_limited');
      // Refused: nothing pending changed, no mail.
      await t.sigil.emailVerifications.drain();
      expect(smtp.received.filter((m) => m.envelopeTo.includes(email))).toHaveLength(2);
      expect(smtp.received.filter((m) => m.envelopeTo.includes(`x3-${email}`))).toHaveLength(0);

      // Registering yet another account with that inbox still works, but mails nothing.
      expect((await reg(email)).user.username).toBeDefined();
      await t.sigil.emailVerifications.drain();
      expect(smtp.received.filter((m) => m.envelopeTo.includes(email))).toHaveLength(2);

      // The budget refills with time.
      clock.advance(2 * 3_600_000);
      const fresh = (await t.request({ method: 'POST', url: '/api/auth/login', body: { username: a.user.username, password: 'bomb password 1' } })).json<{ accessToken: string }>();
      expect((await resend(fresh.accessToken)).statusCode).toBe(202);
      await t.sigil.emailVerifications.drain();
    } finally {
      await t.close();
      await smtp.close();
    }
  });
});

describe.each(STORES)('AUTH_REQUIRE_VERIFIED_EMAIL on $name', (backend) => {
  it.skipIf(backend.skipReason !== null)('no session before the address is verified; admins are exempt', async () => {
    const smtp = await startSmtpSink();
    const t = await startTestSigilOn(backend.name, { env: smtpEnv(smtp, { AUTH_REQUIRE_VERIFIED_EMAIL: 'true' }) });
    try {
      const username = uniqueName('strict');
      const password = 'strict password 1';
      const email = `${username}@example.com`;
      const register = (body: object) => t.request({ method: 'POST', url: '/api/auth/register', body: { username, password, ...body } });
      const missing = await register({});
      expectError(missing, 400, 'validation_failed');
      expect(missing.json<{ error: { details: { path: string }[] } }>().error.details[0]?.path).toBe('/email');

      const res = await register({ email });
      expect(res.statusCode, res.body).toBe(202);
      const body = res.json<Record<string, unknown>>();
      expect(Object.keys(body).sort()).toEqual(['user', 'verificationRequired']);
      expect(body).toMatchObject({ user: { username, email, emailVerified: false }, verificationRequired: true });
      expect(body).not.toHaveProperty('accessToken');

      const login = () => t.request({ method: 'POST', url: '/api/auth/login', body: { username, password } });
      const refused = await login();
      expectError(refused, 403, 'email_not_verified');
      expect(refused.json<{ error: { message: string } }>().error.message).toContain('Verify your email address');
      // A wrong password is still just a wrong password (nothing said about verification).
      expectError(await t.request({ method: 'POST', url: '/api/auth/login', body: { username, password: 'wrong password 1' } }), 401, 'invalid_credentials');

      // Lost the mail: ask anonymously for another, then follow it.
      expect((await t.request({ method: 'POST', url: '/api/auth/resend-verification', body: { email } })).statusCode).toBe(202);
      await smtp.next(email);
      const second = linkToken(await smtp.next(email));
      expect((await t.request({ method: 'POST', url: '/api/auth/verify-email', body: { token: second } })).statusCode).toBe(204);
      const allowed = await login();
      expect(allowed.statusCode, allowed.body).toBe(200);
      expect(allowed.json()).toMatchObject({ user: { emailVerified: true } });

      // An admin without any address signs in.
      await createAdmin(t);
    } finally {
      await t.close();
      await smtp.close();
    }
  });

  it.skipIf(backend.skipReason !== null)('an admin taking the flag away locks the user out again', async () => {
    const smtp = await startSmtpSink();
    const t = await startTestSigilOn(backend.name, { env: smtpEnv(smtp, { AUTH_REQUIRE_VERIFIED_EMAIL: 'true' }) });
    try {
      const admin = await createAdmin(t);
      const username = uniqueName('flag');
      const email = `${username}@example.com`;
      expect((await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password: 'flag password 1', email } })).statusCode).toBe(202);
      await smtp.next(email);
      expect((await t.request({ method: 'PATCH', url: `/api/users/${username}`, token: admin.accessToken, body: { emailVerified: true } })).statusCode).toBe(200);
      expect((await t.request({ method: 'POST', url: '/api/auth/login', body: { username, password: 'flag password 1' } })).statusCode).toBe(200);
      expect((await t.request({ method: 'PATCH', url: `/api/users/${username}`, token: admin.accessToken, body: { emailVerified: false } })).statusCode).toBe(200);
      expectError(await t.request({ method: 'POST', url: '/api/auth/login', body: { username, password: 'flag password 1' } }), 403, 'email_not_verified');
    } finally {
      await t.close();
      await smtp.close();
    }
  });
});

describe.each(STORES)('email verification without SMTP on $name', (backend) => {
  it.skipIf(backend.skipReason !== null)('development logs the message with its link, and the link works', async () => {
    const t = await startTestSigilOn(backend.name, { env: { NODE_ENV: 'development', PUBLIC_URL: 'http://localhost:5173' } });
    try {
      const email = `${uniqueName('dev')}@example.com`;
      expect((await t.request({ method: 'POST', url: '/api/auth/register', body: { username: uniqueName('dev'), password: 'dev password 1', email } })).statusCode).toBe(201);
      await t.sigil.emailVerifications.drain();
      const line = t.logs.find((l) => l.includes('mail not sent (SMTP_URL is unset)') && l.includes('verify-email'));
      expect(line).toBeDefined();
      const entry = JSON.parse(line!) as { msg: string; mail: { to: string; subject: string } };
      expect(entry.mail).toMatchObject({ to: email, subject: 'Confirm your Sigil email address' });
      const token = /http:\/\/localhost:5173\/verify-email#token=([A-Za-z0-9_-]{43})/.exec(entry.msg)?.[1];
      expect(token).toBeDefined();
      expect((await t.request({ method: 'POST', url: '/api/auth/verify-email', body: { token } })).statusCode).toBe(204);
    } finally {
      await t.close();
    }
  });
});

describe('email verification in the OpenAPI document', () => {
  it('documents each endpoint, the 202 registration and the PATCH answer\'s pendingEmail', async () => {
    const t = await startTestSigil();
    try {
      type Op = { operationId: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
      const doc = (await t.request({ method: 'GET', url: '/api/openapi.json' })).json<{ paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, { properties: Record<string, unknown> }> } }>();
      expect(Object.keys(doc.paths['/api/auth/verify-email']?.['post']?.responses ?? {})).toEqual(expect.arrayContaining(['204', '401']));
      expect(Object.keys(doc.paths['/api/auth/resend-verification']?.['post']?.responses ?? {})).toEqual(expect.arrayContaining(['202', '409', '429']));
      expect(Object.keys(doc.paths['/api/users/{username}/resend-verification']?.['post']?.responses ?? {})).toEqual(expect.arrayContaining(['202', '403', '404', '409']));
      expect(Object.keys(doc.paths['/api/auth/register']?.['post']?.responses ?? {})).toEqual(expect.arrayContaining(['201', '202']));
      expect(doc.components.schemas['PendingRegistration']?.properties).toHaveProperty('verificationRequired');
      expect(JSON.stringify(doc.paths['/api/users/{username}']?.['patch']?.responses['200'])).toContain('pendingEmail');
    } finally {
      await t.close();
    }
  });
});

describe('email verification in production without SMTP', () => {
  it('addresses change directly and stay unverified; resending is 503', async () => {
    const t = await startTestSigil({ env: { NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET } });
    try {
      const username = uniqueName('prod');
      const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password: 'prod password 1', email: 'a@example.com' } });
      expect(res.statusCode).toBe(201);
      const { accessToken } = res.json<{ accessToken: string }>();
      const changed = await t.request({ method: 'PATCH', url: `/api/users/${username}`, token: accessToken, body: { email: 'b@example.com' } });
      expectUserOnly(changed.json(), { email: 'b@example.com', emailVerified: false });
      const resend = await t.request({ method: 'POST', url: '/api/auth/resend-verification', token: accessToken });
      expectError(resend, 503, 'unavailable');
      expect(resend.json<{ error: { message: string } }>().error.message).toContain('SMTP_URL');
    } finally {
      await t.close();
    }
  });
});
