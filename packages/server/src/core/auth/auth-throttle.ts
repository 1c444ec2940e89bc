import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { addressKey } from './address-key.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface RateSpec {
  readonly limit: number;
  readonly windowMs: number;
}

export interface AuthThrottleOptions {
  /** Every attempt (any username) from one address group. */
  readonly perAddress: RateSpec;
  /** Attempts for one username from one address group: the fast budget. */
  readonly perUsernameAddress: RateSpec;
  /** Wrong passwords for one username from all addresses together. */
  readonly failuresPerUsername: RateSpec;
  /** Once `failuresPerUsername` is spent: attempts for that username per address group. */
  readonly underAttack: RateSpec;
  /** Password-reset requests for one email address from all addresses together (mail to one inbox). */
  readonly resetsPerEmail: RateSpec;
  readonly clock: Clock;
}

export type AuthThrottle = ReturnType<typeof createAuthThrottle>;

/**
 * Who may try a password, and how often. Brute force must stay expensive,
 * but nobody may be able to lock an account's owner out by guessing wrong on
 * purpose, so no budget is ever keyed by the username alone:
 *
 * - an address group (IPv4 address, IPv6 /64) gets `perAddress` attempts
 *   over all usernames, and `perUsernameAddress` for any one username;
 * - wrong passwords for a username are also counted over all addresses.
 *   When they pass `failuresPerUsername`, the username is under attack:
 *   from then on *every* address group, old or new, gets only `underAttack`
 *   attempts for it. A distributed guesser is slowed to a trickle per
 *   address, and the owner, from wherever they are, still gets that trickle.
 *
 * Addresses are grouped by `addressKey`. Counters live in memory, per
 * instance, with a bounded number of keys (see createRateLimiter).
 */
export function createAuthThrottle(opts: AuthThrottleOptions) {
  const limiter = (spec: RateSpec): RateLimiter => createRateLimiter({ limit: spec.limit, windowMs: spec.windowMs, clock: opts.clock });
  const perAddress = limiter(opts.perAddress);
  const perUsernameAddress = limiter(opts.perUsernameAddress);
  const failuresPerUsername = limiter(opts.failuresPerUsername);
  const underAttack = limiter(opts.underAttack);
  const resetsPerEmail = limiter(opts.resetsPerEmail);
  const pair = (username: string, address: string): string => `${username}\n${addressKey(address)}`;

  const take = (budget: RateLimiter, key: string): void => {
    const verdict = budget.hit(key);
    if (!verdict.allowed) throw new AppError('rate_limited', 'Too many attempts; retry later.', { retryAfter: verdict.retryAfterSeconds });
  };

  return {
    /** Before a password is checked or an account created: throws `rate_limited` when over a budget. */
    admit(username: string, address: string): void {
      take(perAddress, addressKey(address));
      take(perUsernameAddress, pair(username, address));
      if (!failuresPerUsername.check(username).allowed) take(underAttack, pair(username, address));
    },

    /**
     * Before a password-reset mail is asked for: the address's budget (shared
     * with login and registration), then the email's over all addresses, so
     * nobody can flood an inbox. Keyed by what was asked, never by whether
     * an account has it.
     */
    admitReset(email: string, address: string): void {
      take(perAddress, addressKey(address));
      take(resetsPerEmail, email.toLowerCase());
    },

    /** Before a guessable code (a two-factor code) is checked: the address's budget, shared with login. */
    admitAddress(address: string): void {
      take(perAddress, addressKey(address));
    },

    /** A wrong password for `username`. */
    failed(username: string): void {
      failuresPerUsername.hit(username);
    },

    /** The right password: that address's fast budget for the username starts afresh. */
    succeeded(username: string, address: string): void {
      perUsernameAddress.reset(pair(username, address));
    },
  };
}
