import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

describe('logs never contain credentials', () => {
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil({ env: { LOG_LEVEL: 'trace' } });
  });
  afterAll(() => t.close());

  it('passwords, tokens and Authorization headers stay out of the log at trace level', async () => {
    const password = 'Pa55word-LOG-CANARY';
    const reg = await t.request({ method: 'POST', url: '/api/auth/register', body: { username: 'log_canary', password } });
    expect(reg.statusCode).toBe(201);
    const { accessToken, refreshToken } = reg.json<{ accessToken: string; refreshToken: string }>();
    await t.request({ method: 'POST', url: '/api/auth/login', body: { username: 'log_canary', password } });
    await t.request({ method: 'POST', url: '/api/auth/login', body: { username: 'log_canary', password: `${password}-wrong` } });
    await t.request({ method: 'GET', url: '/api/auth/me', token: accessToken });
    await t.request({ method: 'GET', url: '/api/auth/me', token: `${accessToken}x` });
    const refreshed = await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken } });
    await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken } });
    // A malformed body whose parse error would quote the password.
    await t.request({ method: 'POST', url: '/api/auth/login', body: `{"username":"log_canary","password":"${password}"`, headers: { 'content-type': 'application/json' } });
    await t.request({
      method: 'PATCH',
      url: '/api/users/log_canary',
      token: refreshed.json<{ accessToken: string }>().accessToken,
      body: { password: 'Another-CANARY-pass', currentPassword: password },
    });

    const log = t.logs.join('');
    expect(log.length).toBeGreaterThan(0);
    expect(log).toContain('/api/auth/me'); // requests are logged at all…
    for (const secret of [password, 'Another-CANARY-pass', accessToken, accessToken.split('.')[2] ?? '', refreshToken]) {
      expect(log).not.toContain(secret); // …but never their credentials
    }
    expect(log.toLowerCase()).not.toContain('bearer ');
  });
});
