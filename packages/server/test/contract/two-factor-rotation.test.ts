/**
 * Two-factor secrets across a JWT_SECRET rotation (docs/auth.md): sealed
 * under the first entry, opened with any, sealed again under the new first
 * entry at the next code, and unreadable once their entry is dropped, when
 * a recovery code still signs in. Three servers, one after another, on one
 * database of each engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createTestDatabaseUrl, STORES, type TestDatabase } from '../helpers/stores.js';
import { expectError, register, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';
import { referenceTotp } from '../helpers/totp-reference.js';

const OLD = 'rotation-old-9fK2mQ7xV4pL8sD3nB6hJ1cR5tW0yZaE';
const NEW = 'rotation-new-3Hq8Zt1Lw6Yp4Rk9Vd2Nc7Mb5Xs0GjFu';

describe.each(STORES)('two-factor across a JWT_SECRET rotation on $name', (backend) => {
  let db: TestDatabase;
  const clock = createFakeClock(Date.parse('2026-03-01T00:00:15.000Z'));
  beforeAll(async () => {
    if (!backend.skipReason) db = await createTestDatabaseUrl(backend.name);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  const serve = (secrets: string) => startTestSigil({ databaseUrl: db.url, clock, env: { JWT_SECRET: secrets } });
  const keyIdOf = async (t: TestSigil, userId: string) => (await t.sigil.store.twoFactor.findTwoFactorSecret(userId))?.secret.split('.')[1];

  async function challengeOf(t: TestSigil, username: string, password: string): Promise<string> {
    const res = await t.request({ method: 'POST', url: '/api/auth/login', body: { username, password } });
    expectError(res, 401, 'two_factor_required');
    return res.json<{ error: { challenge: string } }>().error.challenge;
  }
  const verify = (t: TestSigil, challenge: string, code: string) => t.request({ method: 'POST', url: '/api/auth/2fa/verify', body: { challenge, code } });

  it.skipIf(backend.skipReason !== null)('re-seals on use while the old entry is listed; without it, only recovery codes work', async () => {
    const first = await serve(OLD);
    const enrol = async () => {
      const user = await register(first);
      const { secret } = (await first.request({ method: 'POST', url: '/api/auth/2fa/setup', token: user.accessToken, body: { password: user.password } })).json<{ secret: string }>();
      const enabled = await first.request({ method: 'POST', url: '/api/auth/2fa/enable', token: user.accessToken, body: { code: referenceTotp(secret, clock.now()) } });
      expect(enabled.statusCode, enabled.body).toBe(200);
      return { ...user, secret, recoveryCodes: enabled.json<{ recoveryCodes: string[] }>().recoveryCodes };
    };
    const active = await enrol();
    const away = await enrol();
    const oldKey = await keyIdOf(first, active.id);
    await first.close();
    clock.advance(60_000);

    const second = await serve(`${NEW},${OLD}`);
    const done = await verify(second, await challengeOf(second, active.username, active.password), referenceTotp(active.secret, clock.now()));
    expect(done.statusCode, done.body).toBe(200);
    // Sealed again under the new first entry (written just after the answer).
    for (let i = 0; i < 50 && (await keyIdOf(second, active.id)) === oldKey; i++) await sleep(20);
    expect(await keyIdOf(second, active.id)).not.toBe(oldKey);
    expect(await keyIdOf(second, away.id)).toBe(oldKey);
    await second.close();
    clock.advance(60_000);

    const third = await serve(NEW);
    try {
      expect((await verify(third, await challengeOf(third, active.username, active.password), referenceTotp(active.secret, clock.now()))).statusCode).toBe(200);
      // The user who did not come back: their secret opens with no listed entry.
      expectError(await verify(third, await challengeOf(third, away.username, away.password), referenceTotp(away.secret, clock.now())), 401, 'invalid_credentials');
      expect(third.logs.join('')).toContain('a two-factor secret opens with no JWT_SECRET entry');
      expect((await verify(third, await challengeOf(third, away.username, away.password), away.recoveryCodes[0]!)).statusCode).toBe(200);
    } finally {
      await third.close();
    }
  });
});
