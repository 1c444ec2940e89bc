import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { expectError, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

describe('login and register are rate limited', () => {
  const clock = createFakeClock();
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil({ clock, env: { AUTH_RATE_LIMIT_PER_ADDRESS: '6/1m', AUTH_RATE_LIMIT_PER_USERNAME: '3/1m' } });
  });
  afterAll(() => t.close());

  it('per username: the 4th attempt within a minute is 429 with Retry-After, even with the right password', async () => {
    const reg = await t.request({ method: 'POST', url: '/api/auth/register', body: { username: 'limited', password: 'right password' } });
    expect(reg.statusCode).toBe(201); // attempt 1 for "limited"
    for (let i = 0; i < 2; i++) {
      expectError(await t.request({ method: 'POST', url: '/api/auth/login', body: { username: 'LIMITED', password: 'wrong password' } }), 401, 'invalid_credentials');
    }
    const limited = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: 'limited', password: 'right password' } });
    expectError(limited, 429, 'rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    // The limiter is a sliding window approximated by two fixed windows, so a wait can reach two windows.
    expect(retryAfter).toBeLessThanOrEqual(120);

    clock.advance(retryAfter * 1000);
    expect((await t.request({ method: 'POST', url: '/api/auth/login', body: { username: 'limited', password: 'right password' } })).statusCode).toBe(200);
  });

  it('per address: many usernames from one address are limited too', async () => {
    clock.advance(120_000);
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      codes.push((await t.request({ method: 'POST', url: '/api/auth/login', body: { username: `spray_${i}`, password: 'wrong password' } })).statusCode);
    }
    expect(codes.slice(0, 6)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(codes.slice(6)).toEqual([429, 429]);
    expectError(await t.request({ method: 'POST', url: '/api/auth/register', body: { username: 'newcomer', password: 'long enough' } }), 429, 'rate_limited');
    expect(await t.sigil.store.users.findUserByUsername('newcomer')).toBeNull();
  });
});
