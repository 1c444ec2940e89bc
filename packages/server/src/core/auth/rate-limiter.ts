import type { Clock } from '../clock.js';
import { parseDuration } from '../duration.js';

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** 0 when allowed; otherwise whole seconds until a retry will be allowed (for `Retry-After`). */
  readonly retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one attempt for `key` (if allowed) and says whether it may proceed. */
  hit(key: string): RateLimitDecision;
  /** What `hit` would answer now, without counting anything. */
  check(key: string): RateLimitDecision;
  /** Forgets `key`, e.g. after a successful login. */
  reset(key: string): void;
  /** Number of keys currently tracked (bounded by `maxKeys`). */
  readonly size: number;
}

export interface RateLimiterOptions {
  /** Attempts allowed per window. */
  readonly limit: number;
  readonly windowMs: number;
  readonly clock: Clock;
  /**
   * Most keys tracked at once. When full, the least recently seen key is
   * forgotten. This bounds memory against an attacker rotating keys; the
   * price is that such a flood can reset old counters, so keep it well above
   * the number of legitimately active keys.
   */
  readonly maxKeys?: number;
}

export const DEFAULT_MAX_KEYS = 100_000;

interface Entry {
  /** Start of the current fixed window (a multiple of windowMs). */
  start: number;
  /** Attempts counted in the current window. */
  current: number;
  /** Attempts counted in the window before it. */
  previous: number;
}

// Floating-point weights: treat "equal up to rounding" as equal, so the retry
// time we announce is really a time at which the next attempt is allowed.
const EPSILON = 1e-9;

/**
 * A sliding-window counter (two fixed windows, the previous one weighted by
 * how much of it still overlaps the sliding window). O(1) memory per key,
 * unlike a log of timestamps, and without the fixed window's 2× burst at
 * window edges. Denied attempts are not counted, so a client that keeps
 * hammering is not locked out longer than the window.
 */
export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const { limit, windowMs, clock } = opts;
  const maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error('rate limit must be a positive whole number');
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) throw new Error('rate limit window must be a positive whole number of ms');
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new Error('maxKeys must be a positive whole number');

  // Map iteration order is insertion order; re-inserting on every hit keeps
  // it least-recently-seen first, so both expired and evictable keys sit at
  // the front and cleanup is amortised O(1) per hit.
  const entries = new Map<string, Entry>();

  const evictExpired = (now: number): void => {
    for (const [key, entry] of entries) {
      // Two full windows after its start, an entry weighs nothing.
      if (now - entry.start < 2 * windowMs) break;
      entries.delete(key);
    }
  };

  const roll = (entry: Entry, windowStart: number): void => {
    if (windowStart === entry.start) return;
    entry.previous = windowStart - entry.start === windowMs ? entry.current : 0;
    entry.current = 0;
    entry.start = windowStart;
  };

  const decide = (entry: Entry, now: number, windowStart: number): RateLimitDecision => {
    const elapsed = now - windowStart;
    const estimate = (entry.previous * (windowMs - elapsed)) / windowMs + entry.current;
    if (estimate + 1 <= limit + EPSILON) return { allowed: true, retryAfterSeconds: 0 };
    const waitMs = msUntilAllowed(entry, elapsed, limit, windowMs);
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  };

  return {
    check(key) {
      const now = clock.now();
      const windowStart = Math.floor(now / windowMs) * windowMs;
      const stored = entries.get(key);
      if (stored === undefined) return { allowed: true, retryAfterSeconds: 0 };
      const entry = { ...stored };
      roll(entry, windowStart);
      return decide(entry, now, windowStart);
    },

    hit(key) {
      const now = clock.now();
      const windowStart = Math.floor(now / windowMs) * windowMs;
      evictExpired(now);

      let entry = entries.get(key);
      if (entry === undefined) {
        if (entries.size >= maxKeys) {
          const oldest = entries.keys().next();
          if (oldest.done !== true) entries.delete(oldest.value);
        }
        entry = { start: windowStart, current: 0, previous: 0 };
      } else {
        entries.delete(key);
        roll(entry, windowStart);
      }
      entries.set(key, entry);

      const decision = decide(entry, now, windowStart);
      if (decision.allowed) entry.current++;
      return decision;
    },

    reset(key) {
      entries.delete(key);
    },

    get size() {
      return entries.size;
    },
  };
}

/**
 * The shortest wait after which `estimate + 1 <= limit`. Solves the linear
 * decay of the previous window's weight, first inside the current window,
 * else in the next one (where the current count becomes the previous).
 */
function msUntilAllowed(entry: Entry, elapsed: number, limit: number, windowMs: number): number {
  const room = limit - 1 - entry.current;
  const untilNextWindow = windowMs - elapsed;
  if (room >= 0 && entry.previous > 0) {
    // previous * (windowMs - elapsed - t) / windowMs <= room
    const t = untilNextWindow - (room * windowMs) / entry.previous;
    if (t < untilNextWindow) return Math.max(0, t);
  }
  // In the next window, at offset s: current * (windowMs - s) / windowMs <= limit - 1.
  const s = entry.current <= limit - 1 ? 0 : windowMs * (1 - (limit - 1) / entry.current);
  return untilNextWindow + s;
}

/**
 * Parses `<count>/<duration>`, e.g. `10/1m`, `100/15m`, `5/30s` (duration as
 * in `parseDuration`). Used for rate-limit settings in configuration.
 */
export function parseRateLimit(text: string): { limit: number; windowMs: number } {
  const match = /^\s*(\d{1,9})\s*\/\s*(\S+)\s*$/.exec(typeof text === 'string' ? text : '');
  if (match === null) {
    throw new Error(`invalid rate limit ${JSON.stringify(text)}: expected <count>/<duration>, e.g. 10/1m or 5/30s`);
  }
  const limit = Number(match[1]);
  if (limit < 1) throw new Error(`invalid rate limit ${JSON.stringify(text)}: count must be at least 1`);
  let seconds: number;
  try {
    seconds = parseDuration(match[2]!);
  } catch (err) {
    throw new Error(`invalid rate limit ${JSON.stringify(text)}: ${(err as Error).message}`, { cause: err });
  }
  return { limit, windowMs: seconds * 1000 };
}
