import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { expectError, register, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

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

describe('rate limits cannot be used to lock the owner out', () => {
  const clock = createFakeClock();
  let t: TestSigil;
  const login = (username: string, password: string, address: string) =>
    t.sigil.http.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: address, payload: { username, password } });
  beforeAll(async () => {
    // The shipped defaults, not the test helper's generous ones.
    t = await startTestSigil({
      clock,
      env: { AUTH_RATE_LIMIT_PER_ADDRESS: '20/1m', AUTH_RATE_LIMIT_PER_USERNAME: '10/1m', AUTH_FAILURE_LIMIT_PER_USERNAME: '100/1h', AUTH_RATE_LIMIT_UNDER_ATTACK: '3/15m' },
    });
    await t.sigil.users.createAdmin('owner', 'the real password');
  });
  afterAll(() => t.close());

  it('ten wrong guesses from two addresses: the owner still signs in from a new address', async () => {
    for (let i = 0; i < 10; i++) expectError(await login('owner', `guess ${i}`, i % 2 === 0 ? '198.51.100.1' : '198.51.100.2'), 401, 'invalid_credentials');
    expect((await login('owner', 'the real password', '203.0.113.50')).statusCode).toBe(200);
  });

  it('a distributed guesser is slowed to a trickle per address, and the owner keeps a way in', async () => {
    clock.advance(2 * 3_600_000);
    for (let i = 0; i < 100; i++) expectError(await login('owner', `guess ${i}`, `192.0.2.${i}`), 401, 'invalid_credentials');
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await login('owner', `again ${i}`, '192.0.2.1')).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    expect((await login('owner', 'the real password', '203.0.113.51')).statusCode).toBe(200);
  });

  it('the addresses of one IPv6 /64 share one budget', async () => {
    clock.advance(2 * 3_600_000);
    const codes: number[] = [];
    for (let i = 1; i <= 11; i++) codes.push((await login('owner', 'wrong password', `2001:db8:77:1::${i.toString(16)}`)).statusCode);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes[10]).toBe(429);
    expect((await login('owner', 'the real password', '2001:db8:77:2::1')).statusCode).toBe(200);
  });
});

describe('every password check is rate limited', () => {
  const clock = createFakeClock();
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil({ clock, env: { AUTH_RATE_LIMIT_PER_ADDRESS: '20/1m', AUTH_RATE_LIMIT_PER_USERNAME: '5/1m' } });
  });
  afterAll(() => t.close());

  it('PATCH /api/users/:me with currentPassword: guesses beyond the budget get 429, the password is not checked', async () => {
    const me = await register(t, 'patcher', 'right password');
    clock.advance(120_000); // registering was an attempt too; start from a clean budget
    const patch = (currentPassword: string) =>
      t.request({ method: 'PATCH', url: `/api/users/${me.username}`, token: me.accessToken, body: { password: 'new password here', currentPassword } });
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await patch(`guess ${i}`)).statusCode);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5)).toEqual([429, 429, 429]);
    // Even the right password waits: the limit does not tell a guesser when they hit it.
    const limited = await patch('right password');
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    clock.advance(Number(limited.headers['retry-after']) * 1000);
    expect((await patch('right password')).statusCode).toBe(200);
  });
});

describe('concurrent password work is bounded', () => {
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil({ env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '2' } });
  });
  afterAll(() => t.close());

  it('logins beyond the running and queued slots get 503 unavailable with Retry-After at once, never a 500', async () => {
    const attempts = Array.from({ length: 20 }, (_, i) =>
      t.sigil.http.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: `198.51.100.${i}`, payload: { username: `nobody${i}`, password: 'wrong password' } }),
    );
    const responses = await Promise.all(attempts);
    const codes = responses.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 401).length).toBeGreaterThanOrEqual(3);
    const busy = responses.filter((r) => r.statusCode === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 401 || c === 503)).toBe(true);
    for (const r of busy) {
      expectError(r, 503, 'unavailable');
      expect(r.headers['retry-after']).toBe('1');
    }
  });
});
