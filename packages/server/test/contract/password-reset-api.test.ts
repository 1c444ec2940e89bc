/**
 * Password reset by mail (POST /api/auth/forgot-password, /reset-password)
 * against a real SMTP server on loopback; the clock is the only fake.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/smtp-sink.js';
import { STORES } from '../helpers/stores.js';
import { expectError, startTestSigil, startTestSigilOn, TEST_JWT_SECRET, uniqueName, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl } from '../helpers/ws-client.js';

const PUBLIC_URL = 'https://app.example.com/base';
const LINK_RE = /https:\/\/app\.example\.com\/base\/reset-password#token=([A-Za-z0-9_-]+)/;

function tokenOf(mail: ReceivedMail): string {
  const match = LINK_RE.exec(mail.text);
  if (!match) throw new Error(`no reset link in ${JSON.stringify(mail.text)}`);
  return match[1]!;
}

describe.each(STORES)('password reset on $name', (backend) => {
  let t: TestSigil;
  let smtp: SmtpSink;
  let templates: string;
  const clock = createFakeClock();

  beforeAll(async () => {
    if (backend.skipReason) return;
    smtp = await startSmtpSink();
    // An app's own text template; the HTML one stays built in.
    templates = mkdtempSync(join(tmpdir(), 'sigil-mail-'));
    writeFileSync(join(templates, 'reset-password.txt'), 'Hi {{ username }}! {{appName}} reset: {{link}} ({{expiresInMinutes}} min)\n');
    t = await startTestSigilOn(backend.name, {
      clock,
      listen: true,
      env: {
        SMTP_URL: smtp.url,
        MAIL_FROM: 'Acme <no-reply@acme.example>',
        APP_NAME: 'Acme & <Co>',
        PUBLIC_URL: `${PUBLIC_URL}/`,
        MAIL_TEMPLATES_DIR: templates,
        PASSWORD_RESET_RATE_LIMIT_PER_EMAIL: '1000/1m',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    if (templates) rmSync(templates, { recursive: true, force: true });
  });

  async function account(email = `${uniqueName('m')}@example.com`) {
    const username = uniqueName('reset');
    const password = 'old password 123';
    const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password, email } });
    expect(res.statusCode, res.body).toBe(201);
    // Registration mails a verification link first: taken here, so the next mail is the reset's.
    expect((await smtp.next(email)).subject).toContain('email address');
    const body = res.json<{ user: { id: string }; accessToken: string; refreshToken: string }>();
    return { username, password, email, id: body.user.id, accessToken: body.accessToken, refreshToken: body.refreshToken };
  }

  const forgot = (email: string) => t.request({ method: 'POST', url: '/api/auth/forgot-password', body: { email } });
  const reset = (token: string, password: string) => t.request({ method: 'POST', url: '/api/auth/reset-password', body: { token, password } });
  const login = (username: string, password: string) => t.request({ method: 'POST', url: '/api/auth/login', body: { username, password } });

  async function mailedToken(email: string): Promise<string> {
    const res = await forgot(email);
    expect(res.statusCode, res.body).toBe(202);
    return tokenOf(await smtp.next(email));
  }

  describe.skipIf(backend.skipReason !== null)('the mail and its link', () => {
    it('mails a link to the account\'s address; following it sets the new password', async () => {
      const user = await account();
      const res = await forgot(user.email.toUpperCase());
      expect(res.statusCode).toBe(202);
      expect(res.body).toBe('');
      const mail = await smtp.next(user.email);
      expect(mail.envelopeFrom).toBe('no-reply@acme.example');
      expect(mail.from).toBe('"Acme" <no-reply@acme.example>');
      expect(mail.subject).toBe('Reset your Acme & <Co> password');
      // The app's text template, filled as is.
      expect(mail.text).toMatch(new RegExp(`^Hi ${user.username}! Acme & <Co> reset: ${LINK_RE.source} \\(30 min\\)`));
      // The built-in HTML template, filled escaped.
      expect(mail.html).toContain('your Acme &amp; &lt;Co&gt; account');
      expect(mail.html).not.toContain('<Co>');
      const token = tokenOf(mail);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(mail.html).toContain(`href="${PUBLIC_URL}/reset-password#token=${token}"`);

      // The token is stored only as its SHA-256.
      const now = new Date(clock.now()).toISOString();
      expect(await t.sigil.store.passwordResets.findLivePasswordReset(token, now)).toBeNull();
      const stored = await t.sigil.store.passwordResets.findLivePasswordReset(createHash('sha256').update(token).digest('hex'), now);
      expect(stored).toMatchObject({ userId: user.id, expiresAt: new Date(clock.now() + 30 * 60_000).toISOString() });

      const done = await reset(token, 'brand new password');
      expect(done.statusCode, done.body).toBe(204);
      expectError(await login(user.username, user.password), 401, 'invalid_credentials');
      expect((await login(user.username, 'brand new password')).statusCode).toBe(200);
    });

    it('refuses a used token', async () => {
      const user = await account();
      const token = await mailedToken(user.email);
      expect((await reset(token, 'first new password')).statusCode).toBe(204);
      expectError(await reset(token, 'second new password'), 401, 'unauthorized');
      expect((await login(user.username, 'first new password')).statusCode).toBe(200);
    });

    it('applies the password policy, and a refused password leaves the token usable', async () => {
      const user = await account();
      const token = await mailedToken(user.email);
      expectError(await reset(token, 'short'), 400, 'validation_failed');
      expectError(await reset(token, 'x'.repeat(129)), 400, 'validation_failed');
      expect((await reset(token, 'a good new password')).statusCode).toBe(204);
    });

    it('refuses unknown, malformed and missing tokens, and bad bodies', async () => {
      expectError(await reset('A'.repeat(43), 'a good new password'), 401, 'unauthorized');
      expectError(await reset('', 'a good new password'), 401, 'unauthorized');
      expectError(await reset('x'.repeat(257), 'a good new password'), 400, 'validation_failed');
      expectError(await t.request({ method: 'POST', url: '/api/auth/reset-password', body: { token: 'abc' } }), 400, 'validation_failed');
      expectError(await t.request({ method: 'POST', url: '/api/auth/forgot-password', body: {} }), 400, 'validation_failed');
      expectError(await forgot('not-an-email'), 400, 'validation_failed');
      expectError(await t.request({ method: 'POST', url: '/api/auth/forgot-password', body: { email: 'a@b.example', extra: 1 } }), 400, 'validation_failed');
    });

    it('mails every enabled account of the address, and none of a disabled one', async () => {
      const email = `${uniqueName('shared')}@example.com`;
      const a = await account(email);
      const b = await account(email);
      const disabled = await account(email);
      await t.sigil.store.users.updateUser(disabled.id, { disabled: true, updatedAt: new Date(clock.now()).toISOString() });
      expect((await forgot(email)).statusCode).toBe(202);
      const mails = [await smtp.next(email), await smtp.next(email)];
      expect(mails.map((m) => m.text.split('!')[0]).sort()).toEqual([`Hi ${a.username}`, `Hi ${b.username}`].sort());
      await t.sigil.passwordResets.drain();
      expect(smtp.received.filter((m) => m.text.includes(disabled.username) && m.subject.startsWith('Reset'))).toEqual([]);
    });
  });

  describe.skipIf(backend.skipReason !== null)('what ends a token', () => {
    it('expires after PASSWORD_RESET_TTL (30 min by default)', async () => {
      const user = await account();
      const early = await mailedToken(user.email);
      const late = await mailedToken(user.email);
      clock.advance(30 * 60_000 - 1000);
      expect((await reset(early, 'still in time 123')).statusCode).toBe(204);
      clock.advance(2000);
      // `late` was ended by the reset anyway; a fresh one expires on its own.
      expectError(await reset(late, 'too late password'), 401, 'unauthorized');
      const fresh = await mailedToken(user.email);
      clock.advance(30 * 60_000 + 1000);
      expectError(await reset(fresh, 'too late password'), 401, 'unauthorized');
      expect((await login(user.username, 'still in time 123')).statusCode).toBe(200);
    });

    it('does not work for an account disabled after the mail', async () => {
      const user = await account();
      const token = await mailedToken(user.email);
      await t.sigil.store.users.updateUser(user.id, { disabled: true, updatedAt: new Date(clock.now()).toISOString() });
      expectError(await reset(token, 'sneaky new password'), 401, 'unauthorized');
      await t.sigil.store.users.updateUser(user.id, { disabled: false, updatedAt: new Date(clock.now()).toISOString() });
      expect((await login(user.username, user.password)).statusCode).toBe(200);
    });

    it('is ended by a password change (PATCH /api/users/:username)', async () => {
      const user = await account();
      const token = await mailedToken(user.email);
      const logged = (await login(user.username, user.password)).json<{ accessToken: string }>();
      const patch = await t.request({
        method: 'PATCH', url: `/api/users/${user.username}`, token: logged.accessToken,
        body: { currentPassword: user.password, password: 'changed by patch 1' },
      });
      expect(patch.statusCode, patch.body).toBe(200);
      expectError(await reset(token, 'attacker password'), 401, 'unauthorized');
      expect((await login(user.username, 'changed by patch 1')).statusCode).toBe(200);
    });

    it('is ended by an email change: the old inbox loses its link once the new address is confirmed', async () => {
      const user = await account();
      const token = await mailedToken(user.email);
      const logged = (await login(user.username, user.password)).json<{ accessToken: string }>();
      const next = `new-${user.email}`;
      const patch = await t.request({ method: 'PATCH', url: `/api/users/${user.username}`, token: logged.accessToken, body: { email: next } });
      expect(patch.statusCode, patch.body).toBe(200);
      const confirm = /\/verify-email#token=([A-Za-z0-9_-]+)/.exec((await smtp.next(next)).text)?.[1];
      expect((await t.request({ method: 'POST', url: '/api/auth/verify-email', body: { token: confirm } })).statusCode).toBe(204);
      expectError(await reset(token, 'attacker password'), 401, 'unauthorized');
    });

    it('a reset revokes every session: refresh tokens are refused and open sockets close with 4003', async () => {
      const user = await account();
      const second = (await login(user.username, user.password)).json<{ accessToken: string; refreshToken: string }>();
      const socket = await openSocket(wsUrl(t.url!));
      socket.send({ type: 'auth', token: second.accessToken });
      await socket.next((m) => m.type === 'authed');
      const token = await mailedToken(user.email);
      expect((await reset(token, 'after the reset 1')).statusCode).toBe(204);
      expect((await socket.closed).code).toBe(4003);
      for (const refreshToken of [user.refreshToken, second.refreshToken]) {
        expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken } }), 401, 'unauthorized');
      }
      expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: second.accessToken }), 401, 'unauthorized');
    });
  });

  describe.skipIf(backend.skipReason !== null)('no enumeration', () => {
    it('answers known and unknown addresses with the same status, body and (median) time', async () => {
      const known = await account();
      const timings = { known: [] as number[], unknown: [] as number[] };
      const bodies = new Set<string>();
      const statuses = new Set<number>();
      for (let i = 0; i < 20; i++) {
        for (const kind of ['known', 'unknown'] as const) {
          const email = kind === 'known' ? known.email : `${uniqueName('ghost')}@example.com`;
          const started = performance.now();
          const res = await fetch(`${t.url}/api/auth/forgot-password`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
          const body = await res.text();
          timings[kind].push(performance.now() - started);
          statuses.add(res.status);
          bodies.add(`${res.headers.get('content-type') ?? ''}|${res.headers.get('content-length') ?? ''}|${body}`);
          // Each mail is out before the next measurement, so background work overlaps neither kind.
          await t.sigil.passwordResets.drain();
        }
      }
      expect([...statuses]).toEqual([202]);
      expect(bodies.size).toBe(1);
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const [k, u] = [median(timings.known), median(timings.unknown)];
      // Generous: sending on the request path (an SMTP exchange, ~100 ms here) breaks it.
      expect(Math.abs(k - u), `medians: known ${k.toFixed(2)} ms, unknown ${u.toFixed(2)} ms`).toBeLessThan(Math.max(10, u));
      expect(smtp.received.filter((m) => m.envelopeTo.includes(known.email)).length).toBeGreaterThanOrEqual(20);
    });
  });
});

describe.each(STORES)('password reset without SMTP on $name', (backend) => {
  it.skipIf(backend.skipReason !== null)('development logs each message with its link, and the link works', async () => {
    const t = await startTestSigilOn(backend.name, { env: { NODE_ENV: 'development', PUBLIC_URL: 'http://localhost:5173' } });
    try {
      const email = `${uniqueName('dev')}@example.com`;
      const username = uniqueName('dev');
      expect((await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password: 'dev password 1', email } })).statusCode).toBe(201);
      expect((await t.request({ method: 'POST', url: '/api/auth/forgot-password', body: { email } })).statusCode).toBe(202);
      await t.sigil.passwordResets.drain();
      const line = t.logs.find((l) => l.includes('mail not sent (SMTP_URL is unset)') && l.includes('reset-password'));
      expect(line).toBeDefined();
      const entry = JSON.parse(line!) as { level: number; msg: string; mail: { to: string; subject: string; text: string } };
      expect(entry.mail).toMatchObject({ to: email, subject: 'Reset your Sigil password' });
      const token = /http:\/\/localhost:5173\/reset-password#token=([A-Za-z0-9_-]{43})/.exec(entry.msg)?.[1];
      expect(token).toBeDefined();
      const res = await t.request({ method: 'POST', url: '/api/auth/reset-password', body: { token, password: 'new dev password' } });
      expect(res.statusCode, res.body).toBe(204);
    } finally {
      await t.close();
    }
  });

  it.skipIf(backend.skipReason !== null)('limits requests per address (any case), whether or not an account has it', async () => {
    const t = await startTestSigilOn(backend.name, { env: { NODE_ENV: 'development', PASSWORD_RESET_RATE_LIMIT_PER_EMAIL: '2/1h' } });
    try {
      const email = `${uniqueName('lim')}@example.com`;
      expect((await t.request({ method: 'POST', url: '/api/auth/register', body: { username: uniqueName('lim'), password: 'dev password 1', email } })).statusCode).toBe(201);
      for (const address of [email, 'nobody.here@example.com']) {
        const codes = [];
        for (const variant of [address, address.toUpperCase(), address]) {
          codes.push((await t.request({ method: 'POST', url: '/api/auth/forgot-password', body: { email: variant } })).statusCode);
        }
        expect(codes).toEqual([202, 202, 429]);
      }
      await t.sigil.passwordResets.drain();
    } finally {
      await t.close();
    }
  });
});

describe('password reset with the mail server down', () => {
  it('answers 202 as ever and logs that the mail was not sent', async () => {
    const t = await startTestSigil({ env: { SMTP_URL: 'smtp://127.0.0.1:9', MAIL_FROM: 'no-reply@app.example' } });
    try {
      const email = `${uniqueName('down')}@example.com`;
      expect((await t.request({ method: 'POST', url: '/api/auth/register', body: { username: uniqueName('down'), password: 'down password 1', email } })).statusCode).toBe(201);
      expect((await t.request({ method: 'POST', url: '/api/auth/forgot-password', body: { email } })).statusCode).toBe(202);
      await t.sigil.passwordResets.drain();
      expect(t.logs.find((l) => l.includes('a password reset mail was not sent'))).toContain('ECONNREFUSED');
    } finally {
      await t.close();
    }
  });
});

describe('password reset in production without SMTP', () => {
  it('answers 503 unavailable naming SMTP_URL', async () => {
    const t = await startTestSigil({ env: { NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET } });
    try {
      const res = await t.request({ method: 'POST', url: '/api/auth/forgot-password', body: { email: 'ada@example.com' } });
      expectError(res, 503, 'unavailable');
      expect(res.json<{ error: { message: string } }>().error.message).toContain('SMTP_URL');
      expect(t.logs.join('')).toContain('password reset is off');
    } finally {
      await t.close();
    }
  });
});
