/**
 * Sign-in with identity providers, over real HTTP to a hand-made OpenID
 * Connect provider and a GitHub-shaped server on loopback (both signing
 * in whoever the test says): the flow, linking, and the attacks, each
 * refused with nothing created. The clock is the only fake.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthResponse } from '@sigil/protocol';
import { createFakeClock } from '../helpers/fake-clock.js';
import { startGithubShapedServer, type GithubShapedServer } from '../helpers/github-shaped-server.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigilOn, uniqueName, type TestSigil } from '../helpers/test-sigil.js';
import { referenceTotp } from '../helpers/totp-reference.js';
import { startTinyOidcProvider, type TinyOidcProvider } from '../helpers/tiny-oidc-provider.js';

const SERVER_URL = 'http://sigil.test';
const APP = 'https://app.example.com/signed-in';

const verifier = (): string => randomBytes(32).toString('base64url');
const challengeOf = (v: string): string => createHash('sha256').update(v).digest('base64url');

describe.each(STORES)('sign-in with identity providers on $name', (backend) => {
  let t: TestSigil;
  let idp: TinyOidcProvider;
  let gh: GithubShapedServer;
  /** A provider whose discovery names another issuer than the configured one. */
  let mismatch: TinyOidcProvider;
  // Near real time: jose's JWKS cache and the provider both look at it.
  const clock = createFakeClock(Date.now());

  beforeAll(async () => {
    if (backend.skipReason) return;
    idp = await startTinyOidcProvider({ now: () => clock.now() });
    gh = await startGithubShapedServer();
    mismatch = await startTinyOidcProvider({ now: () => clock.now() });
    mismatch.discovery = { issuer: 'https://evil.example' };
    t = await startTestSigilOn(backend.name, {
      clock,
      env: {
        OIDC_PROVIDERS: 'corp,mismatch',
        OIDC_MISMATCH_ISSUER: mismatch.issuer,
        OIDC_MISMATCH_CLIENT_ID: mismatch.clientId,
        OIDC_MISMATCH_CLIENT_SECRET: mismatch.clientSecret,
        OIDC_CORP_ISSUER: idp.issuer,
        OIDC_CORP_CLIENT_ID: idp.clientId,
        OIDC_CORP_CLIENT_SECRET: idp.clientSecret,
        OIDC_CORP_LABEL: 'Corp SSO',
        GITHUB_CLIENT_ID: gh.clientId,
        GITHUB_CLIENT_SECRET: gh.clientSecret,
        GITHUB_URL: gh.url,
        GITHUB_API_URL: `${gh.url}/api`,
        OAUTH_REDIRECT_URLS: `${APP}, http://localhost:5173`,
        SERVER_URL,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
    await gh?.close();
    await mismatch?.close();
  });

  const startUrl = (provider: string, redirect: string, challenge: string): string =>
    `/api/auth/oauth/${provider}/start?${new URLSearchParams({ redirect, code_challenge: challenge }).toString()}`;

  /** Start at Sigil, then let the provider answer: the callback's path and query. */
  async function throughProvider(provider: string, opts: { redirect?: string; v?: string } = {}): Promise<{ callback: string; v: string }> {
    const v = opts.v ?? verifier();
    const res = await t.request({ method: 'GET', url: startUrl(provider, opts.redirect ?? APP, challengeOf(v)) });
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const atProvider = await fetch(String(res.headers.location), { redirect: 'manual' });
    expect(atProvider.status).toBe(302);
    const back = new URL(atProvider.headers.get('location')!);
    expect(back.origin).toBe(SERVER_URL);
    return { callback: back.pathname + back.search, v };
  }

  /** The callback's redirect back to the app, its fragment parsed. */
  async function callback(path: string): Promise<{ location: string; fragment: URLSearchParams }> {
    const res = await t.request({ method: 'GET', url: path });
    expect(res.statusCode, res.body).toBe(302);
    const location = String(res.headers.location);
    return { location, fragment: new URLSearchParams(new URL(location).hash.slice(1)) };
  }

  const exchange = (code: string, codeVerifier: string) => t.request({ method: 'POST', url: '/api/auth/oauth/exchange', body: { code, codeVerifier } });

  async function signIn(provider: string): Promise<AuthResponse> {
    const { callback: path, v } = await throughProvider(provider);
    const { location, fragment } = await callback(path);
    expect(location.startsWith(`${APP}#code=`), location).toBe(true);
    const res = await exchange(fragment.get('code')!, v);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<AuthResponse>();
  }

  /** Live sessions of a user (ends them: call last). */
  const endSessions = async (userId: string): Promise<number> => (await t.sigil.store.sessions.revokeUserSessions(userId, new Date(clock.now()).toISOString())).length;
  const userCount = () => t.sigil.store.users.countUsers();

  describe.skipIf(backend.skipReason !== null)('the flow', () => {
    it('lists the configured providers for sign-in buttons', async () => {
      const res = await t.request({ method: 'GET', url: '/api/auth/providers' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ items: [{ name: 'corp', label: 'Corp SSO', type: 'oidc' }, { name: 'mismatch', label: 'mismatch', type: 'oidc' }, { name: 'github', label: 'GitHub', type: 'github' }] });
    });

    it('creates a user on the first sign-in, finds them on the next; they have no usable password', async () => {
      const sub = uniqueName('sub');
      idp.user = { sub, email: `${sub}@corp.example`, email_verified: true, preferred_username: 'Ada Lovelace!' };
      const first = await signIn('corp');
      expect(first.user).toMatchObject({ username: 'ada-lovelace', email: `${sub}@corp.example`, emailVerified: true, role: 'user' });
      const me = await t.request({ method: 'GET', url: '/api/auth/me', token: first.accessToken });
      expect(me.json<{ user: { id: string } }>().user.id).toBe(first.user.id);
      const again = await signIn('corp');
      expect(again.user.id).toBe(first.user.id);
      // Another person with the same preferred name gets a suffix.
      idp.user = { sub: uniqueName('sub'), preferred_username: 'ada lovelace' };
      expect((await signIn('corp')).user.username).toBe('ada-lovelace-2');
      // No password signs in to a provider-made account, not even the marker itself.
      for (const password of ['!no-password', '', 'correct horse battery']) {
        const login = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: 'ada-lovelace', password } });
        expect(login.statusCode).not.toBe(200);
      }
      const ids = await t.request({ method: 'GET', url: '/api/auth/identities', token: first.accessToken });
      const items = ids.json<{ items: { provider: string; email: string | null; createdAt: string }[] }>().items;
      expect(items.map((i) => [i.provider, i.email])).toEqual([['corp', `${sub}@corp.example`]]);
      expect(Date.parse(items[0]!.createdAt)).not.toBeNaN();
      // The last way to sign in cannot be unlinked.
      expectError(await t.request({ method: 'DELETE', url: '/api/auth/identities/corp', token: first.accessToken }), 409, 'conflict');
    });

    it('sends the dashboard back to /_/ and refuses every other redirect before anything is stored', async () => {
      const v = verifier();
      const ok = await t.request({ method: 'GET', url: startUrl('corp', `${SERVER_URL}/_/`, challengeOf(v)) });
      expect(ok.statusCode).toBe(302);
      for (const redirect of ['https://evil.example/', 'https://app.example.com.evil.example/signed-in', 'https://app.example.com/other', '//evil.example/x',
        'javascript:alert(1)', 'https://user:pw@app.example.com/signed-in', `${APP}#x`, `${SERVER_URL}/api/auth/me`, `http://app.example.com/signed-in`, '']) {
        const res = await t.request({ method: 'GET', url: startUrl('corp', redirect, challengeOf(v)) });
        expectError(res, 400, 'validation_failed');
        expect(res.headers.location).toBeUndefined();
      }
      expectError(await t.request({ method: 'GET', url: startUrl('corp', APP, 'short') }), 400, 'validation_failed');
      expectError(await t.request({ method: 'GET', url: startUrl('nope', APP, challengeOf(v)) }), 404, 'not_found');
    });

    it('a disabled account gets the sign-in gate\'s 403 at the exchange', async () => {
      const sub = uniqueName('sub');
      idp.user = { sub };
      const user = (await signIn('corp')).user;
      expect(await endSessions(user.id)).toBe(1);
      await t.sigil.store.users.updateUser(user.id, { disabled: true, updatedAt: new Date(clock.now()).toISOString() });
      const { callback: path, v } = await throughProvider('corp');
      const { fragment } = await callback(path);
      expectError(await exchange(fragment.get('code')!, v), 403, 'forbidden');
      expect(await endSessions(user.id)).toBe(0);
    });
  });

  describe.skipIf(backend.skipReason !== null)('the other sign-in gates', () => {
    it('an account with two-factor on gets the challenge at the exchange, and a code completes it', async () => {
      const sub = uniqueName('sub');
      idp.user = { sub };
      const first = await signIn('corp');
      // A provider-made account sets a password first (two-factor setup asks for it): here an admin sets one.
      const admin = await createAdmin(t);
      const patched = await t.request({ method: 'PATCH', url: `/api/users/${first.user.username}`, token: admin.accessToken, body: { password: 'a password to enroll with' } });
      expect(patched.statusCode, patched.body).toBe(200);
      const me = await signIn('corp');
      const setup = await t.request({ method: 'POST', url: '/api/auth/2fa/setup', token: me.accessToken, body: { password: 'a password to enroll with' } });
      expect(setup.statusCode, setup.body).toBe(200);
      const { secret } = setup.json<{ secret: string }>();
      expect((await t.request({ method: 'POST', url: '/api/auth/2fa/enable', token: me.accessToken, body: { code: referenceTotp(secret, clock.now()) } })).statusCode).toBe(200);
      await endSessions(first.user.id);

      const { callback: path, v } = await throughProvider('corp');
      const { fragment } = await callback(path);
      const refused = await exchange(fragment.get('code')!, v);
      expectError(refused, 401, 'two_factor_required');
      const challenge = refused.json<{ error: { challenge: string } }>().error.challenge;
      expect(await endSessions(first.user.id)).toBe(0);
      clock.advance(30_000);
      const done = await t.request({ method: 'POST', url: '/api/auth/2fa/verify', body: { challenge, code: referenceTotp(secret, clock.now()) } });
      expect(done.statusCode, done.body).toBe(200);
      expect(done.json<AuthResponse>().user).toMatchObject({ id: first.user.id, twoFactorEnabled: true });
      expect(await endSessions(first.user.id)).toBe(1);
    });
  });

  describe.skipIf(backend.skipReason !== null)('passwords and races', () => {
    it('a password reset by mail gives a provider-made account a password; then it may unlink', async () => {
      const sub = uniqueName('sub');
      const email = `${sub}@corp.example`;
      idp.user = { sub, email, email_verified: true, preferred_username: sub.replace(/_/g, '-') };
      const { user, accessToken } = await signIn('corp');
      expect((await t.request({ method: 'POST', url: '/api/auth/forgot-password', body: { email } })).statusCode).toBe(202);
      // Without SMTP_URL the test server logs each mail, link included.
      const tokenInLogs = (): string | undefined => new RegExp(`to ${email}[\\s\\S]*?reset-password#token=([A-Za-z0-9_-]{43})`).exec(t.logs.join(''))?.[1];
      await expect.poll(tokenInLogs, { timeout: 5000 }).toBeDefined();
      expect((await t.request({ method: 'POST', url: '/api/auth/reset-password', body: { token: tokenInLogs(), password: 'a password at last' } })).statusCode).toBe(204);
      const login = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: user.username, password: 'a password at last' } });
      expect(login.statusCode, login.body).toBe(200);
      // The reset ended the provider session; the password session may unlink the provider now.
      expectError(await t.request({ method: 'GET', url: '/api/auth/identities', token: accessToken }), 401, 'unauthorized');
      const del = await t.request({ method: 'DELETE', url: '/api/auth/identities/corp', token: login.json<AuthResponse>().accessToken });
      expect(del.statusCode, del.body).toBe(204);
    });

    it('logs neither the sign-in code, nor the verifier, nor the tokens', async () => {
      idp.user = { sub: uniqueName('logged') };
      const { callback: path, v } = await throughProvider('corp');
      const code = (await callback(path)).fragment.get('code')!;
      const res = await exchange(code, v);
      expect(res.statusCode).toBe(200);
      const body = res.json<AuthResponse>();
      const logs = t.logs.join('');
      for (const secret of [code, v, body.accessToken, body.refreshToken, idp.clientSecret]) expect(logs).not.toContain(secret);
    });

    it('two exchanges racing with one sign-in code: exactly one session', async () => {
      idp.user = { sub: uniqueName('racer') };
      const { callback: path, v } = await throughProvider('corp');
      const code = (await callback(path)).fragment.get('code')!;
      const answers = await Promise.all([exchange(code, v), exchange(code, v)]);
      expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 401]);
      const ok = answers.find((r) => r.statusCode === 200)!;
      expect(await endSessions(ok.json<AuthResponse>().user.id)).toBe(1);
    });

    it('two callbacks racing with one state: exactly one goes on', async () => {
      idp.user = { sub: uniqueName('racer') };
      const before = await userCount();
      const { callback: path } = await throughProvider('corp');
      const answers = await Promise.all([t.request({ method: 'GET', url: path }), t.request({ method: 'GET', url: path })]);
      expect(answers.map((r) => r.statusCode).sort()).toEqual([302, 400]);
      expect(await userCount()).toBe(before + 1);
    });
  });

  describe.skipIf(backend.skipReason !== null)('attacks, each refused with nothing created', () => {
    async function refusedAtCallback(tamper: () => void, expectedCode = 'unauthorized'): Promise<void> {
      const sub = uniqueName('victim');
      idp.user = { sub, email: `${sub}@corp.example`, email_verified: true };
      const before = await userCount();
      tamper();
      try {
        const { callback: path } = await throughProvider('corp');
        const { location, fragment } = await callback(path);
        expect(location.startsWith(`${APP}#`)).toBe(true);
        expect(fragment.get('error')).toBe(expectedCode);
        expect(fragment.get('code')).toBeNull();
      } finally {
        idp.tampering = {};
      }
      expect(await userCount()).toBe(before);
      expect(await t.sigil.store.oauth.findIdentity('corp', sub)).toBeNull();
    }

    it('a wrong nonce', () => refusedAtCallback(() => (idp.tampering = { nonce: 'someone-elses-nonce' })));
    it('an ID token signed by another key', () => refusedAtCallback(() => (idp.tampering = { otherKey: true })));
    it('another audience', () => refusedAtCallback(() => (idp.tampering = { audience: 'another-client' })));
    it('an expired ID token', () => refusedAtCallback(() => (idp.tampering = { shiftSeconds: -3600 })));
    it('an unsigned (alg none) ID token', () => refusedAtCallback(() => (idp.tampering = { alg: 'none' })));

    it('a wrong or replayed state', async () => {
      idp.user = { sub: uniqueName('victim') };
      const before = await userCount();
      const { callback: path } = await throughProvider('corp');
      const forged = path.replace(/state=[^&]+/, `state=${verifier()}`);
      expectError(await t.request({ method: 'GET', url: forged }), 400, 'bad_request');
      expectError(await t.request({ method: 'GET', url: path.replace(/&?state=[^&]+/, '') }), 400, 'bad_request');
      // The real state works once; the same callback again is refused without a redirect.
      expect((await callback(path)).fragment.get('code')).not.toBeNull();
      const replay = await t.request({ method: 'GET', url: path });
      expectError(replay, 400, 'bad_request');
      expect(replay.headers.location).toBeUndefined();
      expect(await userCount()).toBe(before + 1);
    });

    it('a state of another provider', async () => {
      idp.user = { sub: uniqueName('victim') };
      const { callback: path } = await throughProvider('corp');
      expectError(await t.request({ method: 'GET', url: path.replace('/corp/', '/github/') }), 400, 'bad_request');
    });

    it('a replayed authorization code, in a fresh attempt of the attacker', async () => {
      const sub = uniqueName('victim');
      idp.user = { sub };
      const victim = await throughProvider('corp');
      expect((await callback(victim.callback)).fragment.get('code')).not.toBeNull();
      const before = await userCount();
      const code = new URLSearchParams(victim.callback.split('?')[1]).get('code')!;
      const attacker = await throughProvider('corp');
      const injected = attacker.callback.replace(/code=[^&]+/, `code=${code}`);
      const { fragment } = await callback(injected);
      expect(fragment.get('error')).toBe('unauthorized');
      expect(idp.tokenRequests.at(-1)).toEqual({ ok: false, reason: 'code reused' });
      expect(await userCount()).toBe(before);
    });

    it('a replayed sign-in code, and a wrong code verifier (which uses the code up)', async () => {
      idp.user = { sub: uniqueName('victim') };
      const { callback: path, v } = await throughProvider('corp');
      const code = (await callback(path)).fragment.get('code')!;
      const first = await exchange(code, v);
      expect(first.statusCode).toBe(200);
      const userId = first.json<AuthResponse>().user.id;
      expectError(await exchange(code, v), 401, 'unauthorized');

      const second = await throughProvider('corp');
      const stolen = (await callback(second.callback)).fragment.get('code')!;
      expectError(await exchange(stolen, verifier()), 401, 'unauthorized');
      expectError(await exchange(stolen, second.v), 401, 'unauthorized');
      expectError(await exchange(stolen, 'not a verifier'), 400, 'validation_failed');
      // Only the first exchange made a session.
      expect(await endSessions(userId)).toBe(1);
    });

    it('an expired sign-in code or attempt', async () => {
      idp.user = { sub: uniqueName('victim') };
      const late = await throughProvider('corp');
      clock.advance(11 * 60_000);
      expectError(await t.request({ method: 'GET', url: late.callback }), 400, 'bad_request');
      const slow = await throughProvider('corp');
      const code = (await callback(slow.callback)).fragment.get('code')!;
      clock.advance(3 * 60_000);
      expectError(await exchange(code, slow.v), 401, 'unauthorized');
    });

    it('a discovery document naming another issuer: the provider is unavailable, nothing is stored', async () => {
      const res = await t.request({ method: 'GET', url: startUrl('mismatch', APP, challengeOf(verifier())) });
      expectError(res, 503, 'unavailable');
      expect(res.json<{ error: { message: string } }>().error.message).toContain('another issuer');
      expect(res.headers.location).toBeUndefined();
    });
  });

  describe.skipIf(backend.skipReason !== null)('GitHub and linking', () => {
    it('signs in with GitHub: the primary verified email, the login as the name', async () => {
      const login = uniqueName('Octo').replace(/_/g, '-');
      gh.user = { id: 1000 + Math.floor(Math.random() * 1e6), login, emails: [{ email: `${login}@x.example`, primary: false, verified: true }, { email: `${login}@gh.example`, primary: true, verified: true }] };
      const { user } = await signIn('github');
      expect(user).toMatchObject({ username: login.toLowerCase(), email: `${login}@gh.example`, emailVerified: true });
      expect((await signIn('github')).user.id).toBe(user.id);
    });

    it('links to the one existing account with the same verified email; an unverified email creates a separate account', async () => {
      const email = `${uniqueName('link')}@example.com`;
      const existing = await register(t);
      await t.sigil.store.users.updateUser(existing.id, { email, emailVerified: true, updatedAt: new Date(clock.now()).toISOString() });
      // GitHub's primary email unverified: not used for linking, nor stored.
      gh.user = { id: 2_000_000 + Math.floor(Math.random() * 1e6), login: 'unverified-octo', emails: [{ email, primary: true, verified: false }] };
      const separate = await signIn('github');
      expect(separate.user.id).not.toBe(existing.id);
      expect(separate.user).toMatchObject({ email: null, emailVerified: false });
      // OIDC with email_verified false: a separate account too, email kept unverified.
      idp.user = { sub: uniqueName('sub'), email, email_verified: false };
      const unverified = await signIn('corp');
      expect(unverified.user.id).not.toBe(existing.id);
      expect(unverified.user).toMatchObject({ email, emailVerified: false });
      // Verified: linked to the existing account.
      idp.user = { sub: uniqueName('sub'), email: email.toUpperCase(), email_verified: true };
      const linked = await signIn('corp');
      expect(linked.user.id).toBe(existing.id);
      // The account keeps its password and may unlink.
      const del = await t.request({ method: 'DELETE', url: '/api/auth/identities/corp', token: linked.accessToken });
      expect(del.statusCode, del.body).toBe(204);
      expectError(await t.request({ method: 'DELETE', url: '/api/auth/identities/corp', token: linked.accessToken }), 404, 'not_found');
    });

    it('two accounts with the verified email: no link, a new account', async () => {
      const email = `${uniqueName('two')}@example.com`;
      for (const account of [await register(t), await register(t)]) {
        await t.sigil.store.users.updateUser(account.id, { email, emailVerified: true, updatedAt: new Date(clock.now()).toISOString() });
      }
      idp.user = { sub: uniqueName('sub'), email, email_verified: true };
      const before = await userCount();
      await signIn('corp');
      expect(await userCount()).toBe(before + 1);
    });

    it('links while signed in, lists and unlinks; an account linked elsewhere is refused', async () => {
      const me = await register(t);
      const start = await t.request({ method: 'POST', url: '/api/auth/oauth/github/link/start', token: me.accessToken, body: { redirect: APP } });
      expect(start.statusCode, start.body).toBe(200);
      gh.user = { id: 3_000_000 + Math.floor(Math.random() * 1e6), login: 'linker', emails: [] };
      const atProvider = await fetch(start.json<{ url: string }>().url, { redirect: 'manual' });
      const back = new URL(atProvider.headers.get('location')!);
      const { location } = await callback(back.pathname + back.search);
      expect(location).toBe(`${APP}#linked=github`);
      const ids = await t.request({ method: 'GET', url: '/api/auth/identities', token: me.accessToken });
      expect(ids.json<{ items: { provider: string }[] }>().items.map((i) => i.provider)).toEqual(['github']);
      // Signing in with that GitHub account now signs in as me.
      expect((await signIn('github')).user.id).toBe(me.id);
      // Another user cannot take it over by linking it too.
      const other = await register(t);
      const steal = await t.request({ method: 'POST', url: '/api/auth/oauth/github/link/start', token: other.accessToken, body: { redirect: APP } });
      const at2 = await fetch(steal.json<{ url: string }>().url, { redirect: 'manual' });
      const back2 = new URL(at2.headers.get('location')!);
      expect(new URLSearchParams(new URL((await callback(back2.pathname + back2.search)).location).hash.slice(1)).get('error')).toBe('conflict');
      expect((await t.request({ method: 'DELETE', url: '/api/auth/identities/github', token: me.accessToken })).statusCode).toBe(204);
      expectError(await t.request({ method: 'POST', url: '/api/auth/oauth/github/link/start', body: { redirect: APP } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'POST', url: '/api/auth/oauth/github/link/start', token: me.accessToken, body: { redirect: 'https://evil.example/' } }), 400, 'validation_failed');
    });

    it('deleting a user deletes their identities', async () => {
      const sub = uniqueName('sub');
      idp.user = { sub };
      const { user } = await signIn('corp');
      expect(await t.sigil.store.oauth.findIdentity('corp', sub)).not.toBeNull();
      expect(await t.sigil.store.users.deleteUser(user.id)).toBe(true);
      expect(await t.sigil.store.oauth.findIdentity('corp', sub)).toBeNull();
    });
  });
});
