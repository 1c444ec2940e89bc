import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, register, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

// An access token sent as a refresh token (a common client mix-up) was 400
// validation_failed because of its length; it is just an invalid refresh token.
describe('a refresh token that is merely long', () => {
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil();
  });
  afterAll(() => t.close());

  it('is 401 unauthorized on refresh, whatever its length', async () => {
    const account = await register(t);
    expect(account.accessToken.length).toBeGreaterThan(256);
    for (const refreshToken of [account.accessToken, 'x'.repeat(257), 'y'.repeat(100_000)]) {
      expectError(await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken } }), 401, 'unauthorized');
    }
    // The real one still works: nothing was revoked by the mix-up.
    expect((await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken: account.refreshToken } })).statusCode).toBe(200);
  });

  it('is an unknown token on logout: 204, nothing revoked', async () => {
    const account = await register(t);
    const res = await t.request({ method: 'POST', url: '/api/auth/logout', body: { refreshToken: account.accessToken } });
    expect(res.statusCode, res.body).toBe(204);
    expect((await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken })).statusCode).toBe(200);
  });
});
