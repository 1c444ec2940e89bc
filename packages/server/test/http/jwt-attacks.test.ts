import { createHash, createHmac } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdForSecret } from '../../src/core/auth/token-service.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createAdmin, expectError, register, startTestSigil, TEST_JWT_SECRET, type Account, type TestSigil } from '../helpers/test-sigil.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function parts(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: string } {
  const [h = '', p = '', signature = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
    signature,
  };
}

/**
 * Each forged token is tried where it would hurt most: promoting the attacker
 * to admin and listing all users. Every attempt must be 401, and nothing may
 * change.
 */
describe('JWT attacks are answered 401 and grant nothing', () => {
  const clock = createFakeClock(Date.now());
  let t: TestSigil;
  let attacker: Account;
  let admin: Account;

  beforeAll(async () => {
    t = await startTestSigil({ clock });
    admin = await createAdmin(t);
    attacker = await register(t, 'mallory');
  });
  afterAll(() => t.close());

  async function assertRejected(token: string, code: 'unauthorized' | 'token_expired' = 'unauthorized'): Promise<void> {
    expectError(await t.request({ method: 'GET', url: '/api/auth/me', token }), 401, code);
    expectError(await t.request({ method: 'GET', url: '/api/users', token }), 401, code);
    expectError(await t.request({ method: 'PATCH', url: '/api/users/mallory', token, body: { role: 'admin' } }), 401, code);
    expectError(await t.request({ method: 'DELETE', url: `/api/users/${admin.username}`, token }), 401, code);
    const row = await t.sigil.store.users.findUserByUsername('mallory');
    expect(row?.role).toBe('user');
    expect(await t.sigil.store.users.findUserById(admin.id)).not.toBeNull();
  }

  function forgeHmac(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string): string {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  }

  it('the genuine token works (control)', async () => {
    expect((await t.request({ method: 'GET', url: '/api/auth/me', token: attacker.accessToken })).statusCode).toBe(200);
  });

  it('alg: none', async () => {
    const { header, payload } = parts(attacker.accessToken);
    await assertRejected(`${b64({ ...header, alg: 'none' })}.${b64({ ...payload, role: 'admin' })}.`);
    await assertRejected(`${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...payload, role: 'admin' })}.`);
  });

  it('HS256 signed with another secret, same kid', async () => {
    const { header, payload } = parts(attacker.accessToken);
    await assertRejected(forgeHmac(header, { ...payload, role: 'admin' }, 'another-secret-of-sufficient-length-0123456789'));
  });

  it('payload edited after signing (role: admin)', async () => {
    const { header, payload, signature } = parts(attacker.accessToken);
    await assertRejected(`${b64(header)}.${b64({ ...payload, role: 'admin' })}.${signature}`);
    await assertRejected(`${b64(header)}.${b64({ ...payload, sub: admin.id, username: admin.username })}.${signature}`);
  });

  it.each(['RS256', 'ES256'] as const)('an %s token carrying our kid', async (alg) => {
    const { privateKey } = await generateKeyPair(alg);
    const { payload } = parts(attacker.accessToken);
    const token = await new SignJWT({ ...payload, role: 'admin' })
      .setProtectedHeader({ alg, typ: 'JWT', kid: keyIdForSecret(TEST_JWT_SECRET) })
      .sign(privateKey);
    await assertRejected(token);
  });

  it('HS256 with the header claiming RS256 (algorithm confusion)', async () => {
    const { header, payload } = parts(attacker.accessToken);
    await assertRejected(forgeHmac({ ...header, alg: 'RS256' }, payload, TEST_JWT_SECRET));
  });

  it('expired: token_expired once the clock passes exp', async () => {
    const fresh = await register(t);
    clock.advance(15 * 60 * 1000);
    expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: fresh.accessToken }), 401, 'token_expired');
    expectError(await t.request({ method: 'PATCH', url: `/api/users/${fresh.username}`, token: fresh.accessToken, body: { email: 'late@example.com' } }), 401, 'token_expired');
    expect((await t.sigil.store.users.findUserById(fresh.id))?.email).toBeNull();
    clock.advance(-15 * 60 * 1000);
  });

  it('wrong iss, correctly signed', async () => {
    const { header, payload } = parts(attacker.accessToken);
    await assertRejected(forgeHmac(header, { ...payload, iss: 'someone-else' }, TEST_JWT_SECRET));
  });

  it('missing sub, correctly signed', async () => {
    const { header, payload } = parts(attacker.accessToken);
    const { sub: _sub, ...withoutSub } = payload;
    await assertRejected(forgeHmac(header, withoutSub, TEST_JWT_SECRET));
  });

  it('correctly signed but naming another user than its session', async () => {
    const { header, payload } = parts(attacker.accessToken);
    await assertRejected(forgeHmac(header, { ...payload, sub: admin.id, username: admin.username, role: 'admin' }, TEST_JWT_SECRET));
  });

  it('token of a deleted user', async () => {
    const doomed = await register(t);
    await t.request({ method: 'DELETE', url: `/api/users/${doomed.username}`, token: admin.accessToken });
    expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: doomed.accessToken }), 401, 'unauthorized');
    expectError(await t.request({ method: 'PATCH', url: `/api/users/${doomed.username}`, token: doomed.accessToken, body: { role: 'admin' } }), 401, 'unauthorized');
    expect(await t.sigil.store.users.findUserById(doomed.id)).toBeNull();
  });

  it('token of a disabled user', async () => {
    const benched = await register(t);
    await t.request({ method: 'PATCH', url: `/api/users/${benched.username}`, token: admin.accessToken, body: { disabled: true } });
    expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: benched.accessToken }), 401, 'unauthorized');
    expectError(await t.request({ method: 'PATCH', url: `/api/users/${benched.username}`, token: benched.accessToken, body: { disabled: false } }), 401, 'unauthorized');
    expect((await t.sigil.store.users.findUserById(benched.id))?.disabled).toBe(true);
  });

  it('garbage and oversized tokens', async () => {
    for (const token of ['a.b.c', 'not-a-jwt', `${'a'.repeat(9000)}.b.c`, createHash('sha256').update('x').digest('hex')]) {
      await assertRejected(token);
    }
  });
});

