import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { hashSecretToken, newSecretToken } from './secret-token.js';
import { AppError } from '../errors.js';
import type { Store, StoreTransaction, TwoFactorSecretRow, UserRow } from '../storage/store.js';
import type { AuthThrottle, RateSpec } from './auth-throttle.js';
import type { RequestOrigin } from './auth-service.js';
import type { IdentityCache } from './identity-cache.js';
import type { PasswordHasher } from './password.js';
import type { Principal } from './principal.js';
import { createRateLimiter } from './rate-limiter.js';
import { requireAdmin } from './principal.js';
import type { TwoFactorCrypto } from './two-factor-crypto.js';
import { matchTotp, newTotpSecret, totpUri } from './totp.js';

export interface TwoFactorOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly passwords: PasswordHasher;
  /** Password checks (setup, disable) take login's budgets; codes take the address's. */
  readonly throttle: AuthThrottle;
  /** Code checks per user, over all addresses (TWO_FACTOR_RATE_LIMIT_PER_USER). */
  readonly codesPerUser: RateSpec;
  readonly crypto: TwoFactorCrypto;
  /** The issuer in the otpauth URI (APP_NAME). */
  readonly issuer: string;
  readonly identities: IdentityCache;
  /** Told after a user's two-factor state changed. */
  readonly onUserChanged?: (userId: string) => void;
  /** A secret no listed JWT_SECRET entry opens (its entry was dropped). */
  readonly onUnreadableSecret?: (userId: string) => void;
}

/** How long a login challenge lives, and how many wrong codes end it. */
export const CHALLENGE_TTL_SECONDS = 300;
export const CHALLENGE_MAX_FAILURES = 5;
export const RECOVERY_CODE_COUNT = 10;

// Crockford's base32 alphabet (no i, l, o, u): nothing to misread when typing a code from paper.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** 80 random bits as 16 base32 characters in groups of four: `7k2m-x9dq-4bn0-ra3e`. */
function newRecoveryCode(): string {
  const bytes = randomBytes(16);
  let code = '';
  for (let i = 0; i < 16; i++) code += ALPHABET[bytes[i]! & 31]!;
  return code.match(/.{4}/g)!.join('-');
}

/** What a user typed as a recovery code, in stored form: lower case, no separators. */
const normalizeRecoveryCode = (code: string): string => code.toLowerCase().replace(/[\s-]/g, '');

const invalidCode = (): AppError => new AppError('invalid_credentials', 'Invalid two-factor code.');
const invalidChallenge = (): AppError => new AppError('unauthorized', 'Invalid or expired two-factor challenge; sign in again.');
/** Thrown inside a transaction so that a wrong code rolls it back (the challenge stays open). */
class WrongCode extends Error {}

export type TwoFactor = ReturnType<typeof createTwoFactor>;

/**
 * TOTP two-factor authentication: enrolment (setup → enable), recovery
 * codes, turning it off, admin reset, and the login challenge that
 * `AuthService.signInUser` hands out instead of tokens. Codes are guessable
 * (one in a million, three steps accepted), so every check is rate limited
 * per address and per user, and a challenge ends after
 * CHALLENGE_MAX_FAILURES wrong codes. No time step, recovery code or
 * challenge works twice: each is a compare-and-set in the database.
 */
export function createTwoFactor(opts: TwoFactorOptions) {
  const { store, clock, crypto } = opts;
  const iso = (ms = clock.now()): string => new Date(ms).toISOString();
  const perUser = createRateLimiter({ limit: opts.codesPerUser.limit, windowMs: opts.codesPerUser.windowMs, clock });

  function admitCode(userId: string, origin: RequestOrigin): void {
    opts.throttle.admitAddress(origin.address);
    const verdict = perUser.hit(userId);
    if (!verdict.allowed) throw new AppError('rate_limited', 'Too many two-factor codes; retry later.', { retryAfter: verdict.retryAfterSeconds });
  }

  /** Like a password change: proves the caller knows the password, under login's budgets. */
  async function checkPassword(user: UserRow, password: unknown, origin: RequestOrigin): Promise<void> {
    if (typeof password !== 'string' || password === '') throw new AppError('invalid_credentials', 'password is wrong or missing.');
    opts.throttle.admit(user.username, origin.address);
    if (!(await opts.passwords.verify(user.passwordHash, password))) {
      opts.throttle.failed(user.username);
      throw new AppError('invalid_credentials', 'password is wrong or missing.');
    }
    opts.throttle.succeeded(user.username, origin.address);
  }

  async function currentUser(principal: Principal): Promise<UserRow> {
    const user = await store.users.findUserById(principal.userId);
    if (!user) throw new AppError('unauthorized', 'The session of this token has ended.');
    return user;
  }

  function openSecret(row: TwoFactorSecretRow): string | null {
    const opened = crypto.open(row.userId, row.secret);
    if (opened === null) {
      opts.onUnreadableSecret?.(row.userId);
      return null;
    }
    if (!opened.current) {
      // Sealed under an older JWT_SECRET entry: seal it under the first, so the old entry can be dropped.
      void store.twoFactor.replaceTwoFactorSecret(row.userId, row.secret, crypto.seal(row.userId, opened.plaintext)).catch(() => undefined);
    }
    return opened.plaintext;
  }

  /**
   * Checks a TOTP code (six digits) or a recovery code of an enabled user,
   * and spends it (compare-and-set): true if it was good and unspent.
   */
  async function spendCode(tx: StoreTransaction, row: TwoFactorSecretRow, code: string): Promise<boolean> {
    if (/^\d{6}$/.test(code)) {
      const secret = openSecret(row);
      const step = secret === null ? null : matchTotp(secret, code, clock.now());
      return step !== null && (await tx.twoFactor.useTwoFactorStep(row.userId, step));
    }
    const normalized = normalizeRecoveryCode(code);
    if (normalized.length !== 16) return false;
    return tx.twoFactor.useRecoveryCode(row.userId, hashSecretToken(normalized), iso());
  }

  async function enabledSecret(userId: string): Promise<TwoFactorSecretRow> {
    const row = await store.twoFactor.findTwoFactorSecret(userId);
    if (row === null || row.enabledAt === null) throw new AppError('conflict', 'Two-factor authentication is not on.');
    return row;
  }

  /** Spends a code of the user outside any other transaction; throws `invalid_credentials` if it is no good. */
  async function requireCode(user: UserRow, code: unknown, origin: RequestOrigin): Promise<void> {
    const row = await enabledSecret(user.id);
    if (typeof code !== 'string' || code.length > 64) throw invalidCode();
    admitCode(user.id, origin);
    if (!(await store.transaction((tx) => spendCode(tx, row, code.trim())))) throw invalidCode();
  }

  async function newRecoveryCodes(tx: StoreTransaction, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await tx.twoFactor.replaceRecoveryCodes(userId, codes.map((c) => hashSecretToken(normalizeRecoveryCode(c))), iso());
    return codes;
  }

  function changed(userId: string): void {
    opts.identities.invalidate();
    opts.onUserChanged?.(userId);
  }

  return {
    /** The caller's state: on, set up but not yet confirmed, and how many recovery codes are left. */
    async status(principal: Principal): Promise<{ enabled: boolean; pending: boolean; recoveryCodesLeft: number }> {
      const row = await store.twoFactor.findTwoFactorSecret(principal.userId);
      const enabled = row !== null && row.enabledAt !== null;
      return { enabled, pending: row !== null && !enabled, recoveryCodesLeft: enabled ? await store.twoFactor.countUnusedRecoveryCodes(principal.userId) : 0 };
    },

    /** Starts enrolment: a new pending secret (replacing a pending one). Refused while two-factor is on. */
    async setup(principal: Principal, input: { readonly password?: unknown }, origin: RequestOrigin): Promise<{ secret: string; otpauthUri: string }> {
      const user = await currentUser(principal);
      if (user.twoFactorEnabled) throw new AppError('conflict', 'Two-factor authentication is already on; turn it off first.');
      await checkPassword(user, input.password, origin);
      const secret = newTotpSecret();
      if (!(await store.twoFactor.putPendingTwoFactorSecret(user.id, crypto.seal(user.id, secret), iso()))) {
        throw new AppError('conflict', 'Two-factor authentication is already on; turn it off first.');
      }
      return { secret, otpauthUri: totpUri(secret, opts.issuer, user.username) };
    },

    /** Confirms enrolment with a code of the pending secret; returns the recovery codes, shown this once. */
    async enable(principal: Principal, input: { readonly code?: unknown }, origin: RequestOrigin): Promise<{ recoveryCodes: string[] }> {
      const row = await store.twoFactor.findTwoFactorSecret(principal.userId);
      if (row === null || row.enabledAt !== null) {
        throw new AppError('conflict', row === null ? 'Start with POST /api/auth/2fa/setup.' : 'Two-factor authentication is already on.');
      }
      if (typeof input.code !== 'string') throw invalidCode();
      admitCode(principal.userId, origin);
      const secret = openSecret(row);
      const step = secret === null ? null : matchTotp(secret, input.code.trim(), clock.now());
      if (step === null) throw invalidCode();
      const codes = await store.transaction(async (tx) => {
        if (!(await tx.twoFactor.enableTwoFactor(principal.userId, step, iso()))) return null;
        return newRecoveryCodes(tx, principal.userId);
      });
      if (codes === null) throw new AppError('conflict', 'Two-factor authentication is already on.');
      changed(principal.userId);
      return { recoveryCodes: codes };
    },

    /** Turns two-factor off, with the password and a TOTP or recovery code. */
    async disable(principal: Principal, input: { readonly password?: unknown; readonly code?: unknown }, origin: RequestOrigin): Promise<void> {
      const user = await currentUser(principal);
      await enabledSecret(user.id);
      await checkPassword(user, input.password, origin);
      await requireCode(user, input.code, origin);
      await store.twoFactor.disableTwoFactor(user.id, iso());
      changed(user.id);
    },

    /** New recovery codes (the old ones stop working), with a TOTP or recovery code. */
    async regenerateRecoveryCodes(principal: Principal, input: { readonly code?: unknown }, origin: RequestOrigin): Promise<{ recoveryCodes: string[] }> {
      const user = await currentUser(principal);
      await requireCode(user, input.code, origin);
      return { recoveryCodes: await store.transaction((tx) => newRecoveryCodes(tx, user.id)) };
    },

    /** Admins only: turns a user's two-factor off (a lost device). Sessions stay; 204 whether it was on or not. */
    async reset(principal: Principal | null, username: string): Promise<void> {
      requireAdmin(principal, "reset a user's two-factor authentication");
      const user = await store.users.findUserByUsername(typeof username === 'string' ? username.toLowerCase() : '');
      if (!user) throw new AppError('not_found', 'No such user.');
      await store.twoFactor.disableTwoFactor(user.id, iso());
      changed(user.id);
    },

    /** A login challenge for `user`: 256 random bits, stored as its SHA-256, good once for CHALLENGE_TTL_SECONDS. */
    async startChallenge(user: UserRow): Promise<string> {
      const token = newSecretToken();
      const now = clock.now();
      await store.twoFactor.insertTwoFactorChallenge({ tokenHash: hashSecretToken(token), userId: user.id, createdAt: iso(now), expiresAt: iso(now + CHALLENGE_TTL_SECONDS * 1000) });
      return token;
    },

    /**
     * Completes a challenge with a TOTP or recovery code: the challenge and
     * the code are spent together, in one transaction. Returns the user, read
     * afresh, for AuthService to open the session.
     */
    async verify(input: { readonly challenge?: unknown; readonly code?: unknown }, origin: RequestOrigin): Promise<UserRow> {
      opts.throttle.admitAddress(origin.address);
      if (typeof input.challenge !== 'string' || input.challenge === '' || input.challenge.length > 256) throw invalidChallenge();
      if (typeof input.code !== 'string' || input.code.length > 64) throw invalidCode();
      const code = input.code.trim();
      const tokenHash = hashSecretToken(input.challenge);
      const challenge = await store.twoFactor.findLiveTwoFactorChallenge(tokenHash, iso());
      if (challenge === null) throw invalidChallenge();
      const verdict = perUser.hit(challenge.userId);
      if (!verdict.allowed) throw new AppError('rate_limited', 'Too many two-factor codes; retry later.', { retryAfter: verdict.retryAfterSeconds });
      const row = await store.twoFactor.findTwoFactorSecret(challenge.userId);
      if (row === null || row.enabledAt === null) throw invalidChallenge();
      let userId: string | null;
      try {
        userId = await store.transaction(async (tx) => {
          const id = await tx.twoFactor.consumeTwoFactorChallenge(tokenHash, iso());
          if (id === null) return null;
          if (!(await spendCode(tx, row, code))) throw new WrongCode();
          return id;
        });
      } catch (err) {
        if (!(err instanceof WrongCode)) throw err;
        const failures = await store.twoFactor.failTwoFactorChallenge(tokenHash, CHALLENGE_MAX_FAILURES, iso());
        if (failures === null || failures >= CHALLENGE_MAX_FAILURES) {
          throw new AppError('unauthorized', 'Too many wrong two-factor codes; sign in again.');
        }
        throw invalidCode();
      }
      if (userId === null) throw invalidChallenge();
      const user = await store.users.findUserById(userId);
      if (!user || !user.twoFactorEnabled) throw invalidChallenge();
      return user;
    },

    /** Removes challenges that expired or ended more than a day ago. */
    async prune(): Promise<number> {
      return store.twoFactor.deleteStaleTwoFactorChallenges(iso(clock.now() - 86_400_000));
    },
  };
}
