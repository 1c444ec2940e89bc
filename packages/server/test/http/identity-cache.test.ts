import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { expectError, register, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

describe('the identity cache', () => {
  const clock = createFakeClock(Date.now());
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil({ clock, env: { AUTH_CACHE_TTL: '1s' } });
  });
  afterAll(() => t.close());

  it('sees a change made outside this process (another instance) within AUTH_CACHE_TTL', async () => {
    const account = await register(t);
    expect((await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken })).statusCode).toBe(200);
    // Written straight to the database, as another instance would.
    await t.sigil.store.users.updateUser(account.id, { disabled: true, updatedAt: new Date(clock.now()).toISOString() });
    clock.advance(999);
    expect((await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken })).statusCode).toBe(200);
    clock.advance(1);
    expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken }), 401, 'unauthorized');
  });

  it('applies changes made through this process at once', async () => {
    const account = await register(t);
    expect((await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken })).statusCode).toBe(200);
    expect((await t.request({ method: 'POST', url: '/api/auth/logout', body: { refreshToken: account.refreshToken } })).statusCode).toBe(204);
    expectError(await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken }), 401, 'unauthorized');
  });
});
