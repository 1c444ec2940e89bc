import type { Clock } from '../clock.js';
import { hashSecretToken, newSecretToken } from './secret-token.js';
import { createMailJobs, MAX_ACCOUNTS_PER_EMAIL, MAX_MAIL_JOBS, type MailedLinkOptions } from '../mail/mail-jobs.js';
import { AppError } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import { renderMail } from '../mail/templates.js';
import type { EmailVerificationPurpose, Store, StoreTransaction, UserRow } from '../storage/store.js';
import type { RequestOrigin } from './auth-service.js';
import type { IdentityCache } from './identity-cache.js';
import { addressKey } from './address-key.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import type { RateSpec } from './auth-throttle.js';
import { normalizeEmail } from './user-fields.js';

/** The link is `<publicUrl>/verify-email#token=<token>`; without a mailer nothing can be verified. */
export interface EmailVerificationOptions extends MailedLinkOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly identities: IdentityCache;
  /** Told after a verification changed a user (their address, or its verified flag). */
  readonly onUserChanged?: (userId: string) => void;
  /** Mails per user, and per address, over all client addresses (EMAIL_VERIFICATION_RATE_LIMIT). */
  readonly rate: RateSpec;
  /** Anonymous resend requests per client address group (shared budget with login: AUTH_RATE_LIMIT_PER_ADDRESS). */
  readonly perClientAddress: RateSpec;
}

const sameAddress = (a: string | null, b: string | null): boolean => a !== null && b !== null && a.toLowerCase() === b.toLowerCase();

export type EmailVerifications = ReturnType<typeof createEmailVerifications>;

/**
 * Email verification by mail. A link proves the user receives mail at the
 * address it was sent to: a `verify` link marks the current address
 * verified (only while it is still the user's address), a `change` link
 * makes a new address the user's, verified. A token is 256 random bits,
 * stored only as its SHA-256, good once (compare-and-set), until
 * `ttlSeconds`; any change of the user's address ends every link sent
 * before it. Mails go out after the answer; how many one user, and one
 * address, may receive is limited (`rate`), so nobody can flood an inbox.
 */
export function createEmailVerifications(opts: EmailVerificationOptions) {
  const { store, clock, mailer } = opts;
  const iso = (ms = clock.now()): string => new Date(ms).toISOString();
  const jobs = createMailJobs({ maxPending: opts.maxPending ?? MAX_MAIL_JOBS, onError: opts.onError });
  const limiter = (spec: RateSpec): RateLimiter => createRateLimiter({ limit: spec.limit, windowMs: spec.windowMs, clock });
  const perUser = limiter(opts.rate);
  const perEmail = limiter(opts.rate);
  const perClient = limiter(opts.perClientAddress);

  const invalid = (): AppError => new AppError('unauthorized', 'Invalid or expired verification token.');
  const limited = (retryAfter: number): AppError => new AppError('rate_limited', 'Too many verification mails; retry later.', { retryAfter });

  /** Takes one mail from the user's and the address's budgets; both or neither. */
  function admitMail(userId: string, email: string): { ok: true } | { ok: false; retryAfter: number } {
    const byUser = perUser.check(userId);
    const byEmail = perEmail.check(email.toLowerCase());
    if (!byUser.allowed || !byEmail.allowed) return { ok: false, retryAfter: Math.max(byUser.retryAfterSeconds, byEmail.retryAfterSeconds) };
    perUser.hit(userId);
    perEmail.hit(email.toLowerCase());
    return { ok: true };
  }

  /** Stores a new link's hash in `tx` and returns the token (to mail once `tx` committed). */
  async function insertToken(tx: StoreTransaction, userId: string, email: string, purpose: EmailVerificationPurpose): Promise<string> {
    const token = newSecretToken();
    const now = clock.now();
    await tx.emailVerifications.insertEmailVerification({ tokenHash: hashSecretToken(token), userId, email, purpose, createdAt: iso(now), expiresAt: iso(now + opts.ttlSeconds * 1000) });
    return token;
  }

  /** Mails the link after the answer; failures are reported to `onError`, never to the requester. */
  function queueMail(sender: Mailer, username: string, email: string, token: string): void {
    if (!jobs.hasRoom) {
      opts.onError(new Error('too many verification mails in progress; one was dropped'));
      return;
    }
    const mail = renderMail(opts.template, {
      appName: opts.appName,
      username,
      email,
      link: `${opts.publicUrl}/verify-email#token=${token}`,
      expiresInHours: String(Math.max(1, Math.round(opts.ttlSeconds / 3600))),
    });
    jobs.start(() => sender.send({ to: email, ...mail }));
  }

  /** A link to `email` for `user`, budgets permitting; false when over them (nothing stored). */
  async function send(user: UserRow, email: string, purpose: EmailVerificationPurpose): Promise<boolean> {
    if (mailer === null) return false;
    if (!admitMail(user.id, email).ok) return false;
    const token = await store.transaction(async (tx) => {
      // A new address supersedes every link sent before it.
      if (purpose === 'change') await tx.emailVerifications.endUserEmailVerifications(user.id, iso());
      return insertToken(tx, user.id, email, purpose);
    });
    queueMail(mailer, user.username, email, token);
    return true;
  }

  /** What a resend would mail for `user`: their pending change, else their unverified address; null when nothing. */
  async function outstanding(user: UserRow): Promise<{ email: string; purpose: EmailVerificationPurpose } | null> {
    const change = await store.emailVerifications.findPendingEmailChange(user.id, iso());
    if (change !== null) return { email: change.email, purpose: 'change' };
    if (user.email !== null && !user.emailVerified) return { email: user.email, purpose: 'verify' };
    return null;
  }

  return {
    /** False in production without SMTP_URL: addresses then change directly and stay unverified. */
    get available(): boolean {
      return mailer !== null;
    },

    /**
     * After registration with an address: mails a `verify` link. Over the
     * budgets no mail goes (the account is created all the same; the user
     * can ask again later).
     */
    async registered(user: UserRow): Promise<void> {
      if (user.email === null || user.emailVerified) return;
      // The account exists whatever happens here.
      await send(user, user.email, 'verify').catch(opts.onError);
    },

    /**
     * A user asked to change their address to `email`: the change waits for
     * the link mailed there (older pending changes end). Throws
     * `rate_limited` over the budgets, `unavailable` when no mail can be sent.
     */
    async requestChange(user: UserRow, email: string): Promise<void> {
      if (mailer === null) throw new AppError('unavailable', 'Email verification needs SMTP_URL: this server cannot send mail.');
      const admitted = admitMail(user.id, email);
      if (!admitted.ok) throw limited(admitted.retryAfter);
      const token = await store.transaction(async (tx) => {
        await tx.emailVerifications.endUserEmailVerifications(user.id, iso());
        return insertToken(tx, user.id, email, 'change');
      });
      queueMail(mailer, user.username, email, token);
    },

    /** Inside the transaction that changes a user's address directly (admin, clearing it): every link sent before ends. */
    async addressChanged(tx: StoreTransaction, userId: string): Promise<void> {
      await tx.emailVerifications.endUserEmailVerifications(userId, iso());
    },

    /** The address a change of `userId` waits on, or null. */
    async pendingEmail(userId: string): Promise<string | null> {
      return (await store.emailVerifications.findPendingEmailChange(userId, iso()))?.email ?? null;
    },

    /**
     * Mails a new link for what `user` has outstanding (a pending change,
     * else their unverified address). `conflict` when there is nothing to
     * verify, `rate_limited` over the budgets. Returns the address mailed.
     */
    async resend(target: { readonly userId: string } | { readonly username: string }): Promise<string> {
      if (mailer === null) throw new AppError('unavailable', 'Email verification needs SMTP_URL: this server cannot send mail.');
      const user = 'userId' in target ? await store.users.findUserById(target.userId) : await store.users.findUserByUsername(target.username);
      if (!user) throw new AppError('not_found', 'No such user.');
      if (user.disabled) throw new AppError('conflict', 'This account is disabled.');
      const what = await outstanding(user);
      if (what === null) {
        throw new AppError('conflict', user.email === null ? 'This account has no email address to verify.' : 'This email address is already verified.');
      }
      const admitted = admitMail(user.id, what.email);
      if (!admitted.ok) throw limited(admitted.retryAfter);
      const token = await store.transaction(async (tx) => {
        if (what.purpose === 'change') await tx.emailVerifications.endUserEmailVerifications(user.id, iso());
        return insertToken(tx, user.id, what.email, what.purpose);
      });
      queueMail(mailer, user.username, what.email, token);
      return what.email;
    },

    /**
     * Without signing in (for users who may not sign in before verifying):
     * mails a `verify` link to each enabled, unverified account with this
     * address. Resolves the same, at once, whatever the address; the lookup
     * and the mails follow the answer.
     */
    async resendAnonymous(input: { readonly email?: unknown }, origin: RequestOrigin): Promise<void> {
      if (mailer === null) throw new AppError('unavailable', 'Email verification needs SMTP_URL: this server cannot send mail.');
      const email = normalizeEmail(input.email);
      if (email === null) throw new AppError('validation_failed', 'email is required.', { details: [{ path: '/email', message: 'is required' }] });
      const byClient = perClient.hit(addressKey(origin.address));
      if (!byClient.allowed) throw limited(byClient.retryAfterSeconds);
      if (!jobs.hasRoom) throw new AppError('unavailable', 'Too many verification mails in progress; retry later.', { retryAfter: 5 });
      jobs.start(async () => {
        const users = await store.users.findUsersByEmail(email, MAX_ACCOUNTS_PER_EMAIL);
        for (const user of users) {
          if (user.disabled || user.emailVerified || user.email === null) continue;
          await send(user, user.email, 'verify');
        }
      });
    },

    /**
     * Follows a link: a `verify` link marks the user's address verified (if
     * it still is their address); a `change` link makes its address the
     * user's, verified, and ends the user's password-reset links and every
     * other verification link, in one transaction.
     */
    async verify(input: { readonly token?: unknown }): Promise<void> {
      // Ours are 43 characters; anything else is unknown.
      if (typeof input.token !== 'string' || input.token.length === 0 || input.token.length > 256) throw invalid();
      const tokenHash = hashSecretToken(input.token);
      const userId = await store.transaction(async (tx) => {
        const now = iso();
        const row = await tx.emailVerifications.consumeEmailVerification(tokenHash, now);
        if (row === null) return null;
        const user = await tx.users.findUserById(row.userId);
        if (!user || user.disabled) return null;
        if (row.purpose === 'verify') {
          // A link to an address the user no longer has proves nothing about the one they have.
          if (!sameAddress(user.email, row.email)) return null;
          if (!user.emailVerified) await tx.users.updateUser(user.id, { emailVerified: true, updatedAt: now });
          return user.id;
        }
        await tx.users.updateUser(user.id, { email: row.email, emailVerified: true, updatedAt: now });
        await tx.emailVerifications.endUserEmailVerifications(user.id, now);
        await tx.passwordResets.endUserPasswordResets(user.id, now);
        return user.id;
      });
      if (userId === null) throw invalid();
      opts.identities.invalidate();
      opts.onUserChanged?.(userId);
    },

    /** Removes verifications that expired or were used more than a day ago. */
    async prune(): Promise<number> {
      return store.emailVerifications.deleteStaleEmailVerifications(iso(clock.now() - 86_400_000));
    },

    /** Waits for the mails in progress (at shutdown, before the store closes), at most `timeoutMs`. */
    async drain(timeoutMs = 60_000): Promise<void> {
      // A job may queue more mails (anonymous resends): drain waits until none are left.
      await jobs.drain(timeoutMs);
    },

  };
}
