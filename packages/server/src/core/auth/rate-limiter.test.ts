import { describe, expect, it } from 'vitest';
import { createRateLimiter, parseRateLimit } from './rate-limiter.js';

const MINUTE = 60_000;
// A multiple of the window, so tests can reason about window edges.
const START = 100 * MINUTE;

function fakeClock(ms = START): { now(): number; set(ms: number): void; advance(ms: number): void } {
  let t = ms;
  return { now: () => t, set: (v) => void (t = v), advance: (d) => void (t += d) };
}

describe('createRateLimiter', () => {
  it('allows `limit` hits, then denies with a Retry-After', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 3, windowMs: MINUTE, clock });
    expect([1, 2, 3].map(() => limiter.hit('ip:1'))).toEqual([
      { allowed: true, retryAfterSeconds: 0 },
      { allowed: true, retryAfterSeconds: 0 },
      { allowed: true, retryAfterSeconds: 0 },
    ]);
    // In the next window the 3 hits weigh 3 * (60 - s) / 60; that drops to 2 at s = 20.
    expect(limiter.hit('ip:1')).toEqual({ allowed: false, retryAfterSeconds: 80 });
    clock.advance(79_000);
    expect(limiter.hit('ip:1').allowed).toBe(false);
    clock.advance(1_000);
    expect(limiter.hit('ip:1').allowed).toBe(true);
  });

  it('keeps keys independent', () => {
    const limiter = createRateLimiter({ limit: 1, windowMs: MINUTE, clock: fakeClock() });
    expect(limiter.hit('a').allowed).toBe(true);
    expect(limiter.hit('a').allowed).toBe(false);
    expect(limiter.hit('b').allowed).toBe(true);
  });

  it('does not allow a double burst across a window edge (unlike a fixed window)', () => {
    const clock = fakeClock(START + MINUTE - 1_000);
    const limiter = createRateLimiter({ limit: 10, windowMs: MINUTE, clock });
    for (let i = 0; i < 10; i++) expect(limiter.hit('k').allowed).toBe(true);
    clock.advance(2_000); // 1 s into the next window
    expect(limiter.hit('k').allowed).toBe(false);
    clock.advance(MINUTE);
    expect(limiter.hit('k').allowed).toBe(true);
  });

  it('does not count denied hits, so hammering does not extend the lockout', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 2, windowMs: MINUTE, clock });
    limiter.hit('k');
    limiter.hit('k');
    const first = limiter.hit('k');
    for (let i = 0; i < 50; i++) limiter.hit('k');
    expect(limiter.hit('k').retryAfterSeconds).toBe(first.retryAfterSeconds);
  });

  it('announces a Retry-After that is exact to the second (seeded random walk)', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (const [limit, windowMs] of [[1, 1_000], [3, MINUTE], [5, 30_000], [100, 15 * MINUTE], [7, 7_777]] as const) {
      const clock = fakeClock(START + 123);
      const limiter = createRateLimiter({ limit, windowMs, clock });
      let denials = 0;
      for (let step = 0; step < 400; step++) {
        clock.advance(Math.floor(random() * (windowMs / limit) * 1.5));
        const decision = limiter.hit('k');
        if (decision.allowed) continue;
        denials++;
        const retry = decision.retryAfterSeconds;
        expect(retry).toBeGreaterThanOrEqual(1);
        const deniedAt = clock.now();
        if (retry > 1) {
          clock.set(deniedAt + (retry - 1) * 1000);
          expect(limiter.hit('k').allowed).toBe(false);
        }
        clock.set(deniedAt + retry * 1000);
        expect(limiter.hit('k').allowed).toBe(true);
      }
      expect(denials).toBeGreaterThan(0);
    }
  });

  it('check says what hit would answer without counting anything', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 2, windowMs: MINUTE, clock });
    expect(limiter.check('k')).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect(limiter.size).toBe(0);
    limiter.hit('k');
    for (let i = 0; i < 5; i++) expect(limiter.check('k').allowed).toBe(true);
    limiter.hit('k');
    const denied = limiter.check('k');
    expect(denied.allowed).toBe(false);
    expect(denied).toEqual(limiter.hit('k'));
    clock.advance(denied.retryAfterSeconds * 1000);
    expect(limiter.check('k').allowed).toBe(true);
  });

  it('reset forgets a key', () => {
    const limiter = createRateLimiter({ limit: 1, windowMs: MINUTE, clock: fakeClock() });
    limiter.hit('k');
    expect(limiter.hit('k').allowed).toBe(false);
    limiter.reset('k');
    expect(limiter.hit('k').allowed).toBe(true);
  });

  it('evicts keys whose windows have passed', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 5, windowMs: MINUTE, clock });
    for (let i = 0; i < 100; i++) limiter.hit(`ip:${i}`);
    expect(limiter.size).toBe(100);
    clock.advance(MINUTE);
    limiter.hit('ip:0');
    expect(limiter.size).toBe(100); // previous window still weighs
    clock.advance(2 * MINUTE);
    limiter.hit('fresh');
    expect(limiter.size).toBe(1);
  });

  it('caps tracked keys, forgetting the least recently seen', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 1, windowMs: MINUTE, clock, maxKeys: 3 });
    limiter.hit('a');
    limiter.hit('b');
    limiter.hit('c');
    limiter.hit('a'); // denied, but seen: now most recent
    limiter.hit('d'); // evicts b
    expect(limiter.size).toBe(3);
    expect(limiter.hit('a').allowed).toBe(false);
    expect(limiter.hit('b').allowed).toBe(true); // forgotten, so counted afresh (evicts c)
    for (let i = 0; i < 10_000; i++) limiter.hit(`rotating:${i}`);
    expect(limiter.size).toBe(3);
  });

  it('refuses nonsensical options', () => {
    const clock = fakeClock();
    expect(() => createRateLimiter({ limit: 0, windowMs: MINUTE, clock })).toThrow();
    expect(() => createRateLimiter({ limit: 1.5, windowMs: MINUTE, clock })).toThrow();
    expect(() => createRateLimiter({ limit: 1, windowMs: 0, clock })).toThrow();
    expect(() => createRateLimiter({ limit: 1, windowMs: MINUTE, clock, maxKeys: 0 })).toThrow();
  });
});

describe('parseRateLimit', () => {
  it.each([
    ['10/1m', 10, MINUTE],
    ['100/15m', 100, 15 * MINUTE],
    ['5/30s', 5, 30_000],
    ['5/30', 5, 30_000],
    [' 20 / 1h ', 20, 60 * MINUTE],
  ])('parses %j', (text, limit, windowMs) => {
    expect(parseRateLimit(text)).toEqual({ limit, windowMs });
  });

  it.each(['', '10', '/1m', '10/', '0/1m', '-1/1m', '1.5/1m', '10/0s', '10/abc', '10/1m/2', 'ten/1m', '10/-1m'])(
    'rejects %j with a message naming it',
    (text) => {
      expect(() => parseRateLimit(text)).toThrow(`invalid rate limit ${JSON.stringify(text)}`);
    },
  );
});
