import { describe, expect, it } from 'vitest';
import type { SessionIdentity } from '../storage/store.js';
import { createIdentityCache } from './identity-cache.js';

const identity = { user: { id: 'u1' }, session: { id: 's1' } } as unknown as SessionIdentity;

function clockAt(ms: number) {
  let now = ms;
  return { now: () => now, advance: (d: number) => void (now += d) };
}

describe('identity cache', () => {
  it('serves an entry until its TTL passes', () => {
    const clock = clockAt(1000);
    const cache = createIdentityCache({ ttlMs: 500, clock });
    cache.set('s1', identity);
    clock.advance(499);
    expect(cache.get('s1')).toBe(identity);
    clock.advance(1);
    expect(cache.get('s1')).toBeUndefined();
  });

  it('forgets everything on invalidate', () => {
    const cache = createIdentityCache({ ttlMs: 10_000, clock: clockAt(0) });
    cache.set('s1', identity);
    cache.set('s2', identity);
    cache.invalidate();
    expect(cache.get('s1')).toBeUndefined();
    expect(cache.get('s2')).toBeUndefined();
  });

  it('is off with a TTL of 0', () => {
    const cache = createIdentityCache({ ttlMs: 0, clock: clockAt(0) });
    cache.set('s1', identity);
    expect(cache.get('s1')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = createIdentityCache({ ttlMs: 10_000, clock: clockAt(0), maxEntries: 2 });
    cache.set('a', identity);
    cache.set('b', identity);
    cache.set('c', identity);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe(identity);
    expect(cache.get('c')).toBe(identity);
  });
});
