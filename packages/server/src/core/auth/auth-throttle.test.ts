import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.js';
import { createAuthThrottle, type AuthThrottleOptions } from './auth-throttle.js';

const MINUTE = 60_000;

function fakeClock(ms = 1000 * MINUTE): { now(): number; advance(ms: number): void } {
  let t = ms;
  return { now: () => t, advance: (d) => void (t += d) };
}

const POLICY: Omit<AuthThrottleOptions, 'clock'> = {
  perAddress: { limit: 20, windowMs: MINUTE },
  perUsernameAddress: { limit: 5, windowMs: MINUTE },
  failuresPerUsername: { limit: 30, windowMs: 60 * MINUTE },
  underAttack: { limit: 2, windowMs: 10 * MINUTE },
  resetsPerEmail: { limit: 3, windowMs: 60 * MINUTE },
};

/** Admits one attempt and reports its outcome; returns the status a client would see. */
function attempt(throttle: ReturnType<typeof createAuthThrottle>, username: string, address: string, ok = false): 200 | 401 | 429 {
  try {
    throttle.admit(username, address);
  } catch (err) {
    if (isAppError(err) && err.code === 'rate_limited') return 429;
    throw err;
  }
  if (ok) {
    throttle.succeeded(username, address);
    return 200;
  }
  throttle.failed(username);
  return 401;
}

describe('createAuthThrottle', () => {
  it('limits one address guessing one username quickly', () => {
    const throttle = createAuthThrottle({ ...POLICY, clock: fakeClock() });
    const codes = Array.from({ length: 7 }, () => attempt(throttle, 'admin', '198.51.100.1'));
    expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  it('limits one address spraying many usernames', () => {
    const throttle = createAuthThrottle({ ...POLICY, clock: fakeClock() });
    const codes = Array.from({ length: 22 }, (_, i) => attempt(throttle, `user${i}`, '198.51.100.1'));
    expect(codes.filter((c) => c === 429)).toHaveLength(2);
    expect(codes.slice(0, 20).every((c) => c === 401)).toBe(true);
  });

  it('ten wrong guesses from two addresses do not keep the owner out from a third', () => {
    const throttle = createAuthThrottle({ ...POLICY, clock: fakeClock() });
    for (let i = 0; i < 10; i++) attempt(throttle, 'admin', i % 2 === 0 ? '198.51.100.1' : '198.51.100.2');
    expect(attempt(throttle, 'admin', '203.0.113.9', true)).toBe(200);
  });

  it('once a username has had many failures from everywhere, each address gets only a trickle — the owner included, but never none', () => {
    const clock = fakeClock();
    const throttle = createAuthThrottle({ ...POLICY, clock });
    // A botnet: 30 addresses, one guess each, spends the username's failure budget.
    for (let i = 0; i < 30; i++) expect(attempt(throttle, 'admin', `192.0.2.${i}`)).toBe(401);
    // Now every address, new or not, gets 2 attempts per 10 minutes for this username.
    expect(attempt(throttle, 'admin', '192.0.2.0')).toBe(401);
    expect(attempt(throttle, 'admin', '192.0.2.0')).toBe(401);
    expect(attempt(throttle, 'admin', '192.0.2.0')).toBe(429);
    expect(attempt(throttle, 'admin', '203.0.113.9', true)).toBe(200);
    // Other usernames are not affected.
    expect(attempt(throttle, 'alice', '192.0.2.0', true)).toBe(200);
  });

  it('counts the addresses of one IPv6 /64 as one', () => {
    const throttle = createAuthThrottle({ ...POLICY, clock: fakeClock() });
    const codes = Array.from({ length: 6 }, (_, i) => attempt(throttle, 'admin', `2001:db8:1:2::${i + 1}`));
    expect(codes.at(-1)).toBe(429);
    expect(attempt(throttle, 'admin', '2001:db8:1:3::1')).toBe(401);
    expect(attempt(throttle, 'admin', '::ffff:198.51.100.7')).toBe(401);
  });

  it('a success clears the fast budget of that username from that address', () => {
    const throttle = createAuthThrottle({ ...POLICY, clock: fakeClock() });
    for (let i = 0; i < 4; i++) attempt(throttle, 'admin', '198.51.100.1');
    expect(attempt(throttle, 'admin', '198.51.100.1', true)).toBe(200);
    for (let i = 0; i < 5; i++) expect(attempt(throttle, 'admin', '198.51.100.1')).toBe(401);
  });

  it('announces Retry-After, and lets the attempt through once it has passed', () => {
    const clock = fakeClock();
    const throttle = createAuthThrottle({ ...POLICY, clock });
    for (let i = 0; i < 5; i++) attempt(throttle, 'admin', '198.51.100.1');
    let retryAfter = 0;
    try {
      throttle.admit('admin', '198.51.100.1');
    } catch (err) {
      retryAfter = isAppError(err) ? (err.retryAfter ?? 0) : 0;
    }
    expect(retryAfter).toBeGreaterThan(0);
    clock.advance(retryAfter * 1000);
    expect(attempt(throttle, 'admin', '198.51.100.1')).toBe(401);
  });

  it('limits reset requests per email over all addresses, in any case, and per address', () => {
    const throttle = createAuthThrottle({ ...POLICY, clock: fakeClock() });
    const ask = (email: string, address: string): 202 | 429 => {
      try {
        throttle.admitReset(email, address);
        return 202;
      } catch (err) {
        if (isAppError(err) && err.code === 'rate_limited') return 429;
        throw err;
      }
    };
    expect([ask('Ada@example.com', '198.51.100.1'), ask('ada@example.com', '198.51.100.2'), ask('ADA@example.com', '198.51.100.3')]).toEqual([202, 202, 202]);
    expect(ask('ada@example.com', '198.51.100.4')).toBe(429);
    expect(ask('bob@example.com', '198.51.100.4')).toBe(202);
    // The address budget is the one login uses.
    for (let i = 0; i < 15; i++) attempt(throttle, `user${i}`, '203.0.113.9');
    const codes = Array.from({ length: 6 }, (_, i) => ask(`x${i}@example.com`, '203.0.113.9'));
    expect(codes).toEqual([202, 202, 202, 202, 202, 429]);
  });
});
