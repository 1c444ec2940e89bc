import type { Clock } from '../clock.js';
import { hashSecretToken, newSecretToken } from './secret-token.js';
import { createMailJobs, MAX_ACCOUNTS_PER_EMAIL, MAX_MAIL_JOBS, type MailedLinkOptions } from '../mail/mail-jobs.js';
import { AppError } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import { renderMail } from '../mail/templates.js';
import type { Store } from '../storage/store.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { RequestOrigin } from './auth-service.js';
import type { IdentityCache } from './identity-cache.js';
import type { PasswordHasher } from './password.js';
import { validatePassword } from './password.js';
import { normalizeEmail } from './user-fields.js';

/** The link is `<publicUrl>/reset-password#token=<token>`; without a mailer there is no reset. */
export interface PasswordResetOptions extends MailedLinkOptions {
  readonly store: Store;
  readonly passwords: PasswordHasher;
  readonly clock: Clock;
  readonly throttle: AuthThrottle;
  readonly identities: IdentityCache;
  /** Told after a reset revoked the user's sessions, so their live connections close. */
  readonly onUserChanged?: (userId: string) => void;
}


export type PasswordResets = ReturnType<typeof createPasswordResets>;

/**
 * Password reset by mail. Asking answers the same whatever the address:
 * the lookup, the token and the mail happen after the answer, off the
 * request path, so neither the answer nor its timing says whether an
 * account has the address. A token is 256 random bits, stored only as its
 * SHA-256, good once, until `ttlSeconds`, and only while the password has
 * not changed since; using it revokes every session of the user.
 */
export function createPasswordResets(opts: PasswordResetOptions) {
  const { store, clock, mailer } = opts;
  const iso = (ms = clock.now()): string => new Date(ms).toISOString();
  const jobs = createMailJobs({ maxPending: opts.maxPending ?? MAX_MAIL_JOBS, onError: opts.onError });

  async function deliver(email: string, sender: Mailer): Promise<void> {
    const users = await store.users.findUsersByEmail(email, MAX_ACCOUNTS_PER_EMAIL);
    for (const user of users) {
      if (user.disabled || user.email === null) continue;
      const token = newSecretToken();
      const now = clock.now();
      await store.passwordResets.insertPasswordReset({ tokenHash: hashSecretToken(token), userId: user.id, createdAt: iso(now), expiresAt: iso(now + opts.ttlSeconds * 1000) });
      const mail = renderMail(opts.template, {
        appName: opts.appName,
        username: user.username,
        link: `${opts.publicUrl}/reset-password#token=${token}`,
        expiresInMinutes: String(Math.round(opts.ttlSeconds / 60)),
      });
      await sender.send({ to: user.email, ...mail });
    }
  }

  const invalid = (): AppError => new AppError('unauthorized', 'Invalid or expired reset token.');

  return {
    /** False in production without SMTP_URL. */
    get available(): boolean {
      return mailer !== null;
    },

    /** Resolves at once, the same for every well-formed address; the mail, if any, follows. */
    async request(input: { readonly email?: unknown }, origin: RequestOrigin): Promise<void> {
      if (mailer === null) throw new AppError('unavailable', 'Password reset needs SMTP_URL: this server cannot send mail.');
      const email = normalizeEmail(input.email);
      if (email === null) throw new AppError('validation_failed', 'email is required.', { details: [{ path: '/email', message: 'is required' }] });
      opts.throttle.admitReset(email, origin.address);
      if (!jobs.hasRoom) throw new AppError('unavailable', 'Too many reset mails in progress; retry later.', { retryAfter: 5 });
      // Not even the lookup runs before the answer is written.
      jobs.start(() => deliver(email, mailer));
    },

    /** Sets the password of the token's user and revokes all their sessions. */
    async reset(input: { readonly token?: unknown; readonly password?: unknown }): Promise<void> {
      const password = validatePassword(input.password);
      // Ours are 43 characters; anything else is unknown.
      if (typeof input.token !== 'string' || input.token.length === 0 || input.token.length > 256) throw invalid();
      const tokenHash = hashSecretToken(input.token);
      // Checked before hashing, so bad tokens cost no argon2 work.
      if (!(await store.passwordResets.findLivePasswordReset(tokenHash, iso()))) throw invalid();
      const passwordHash = await opts.passwords.hash(password);
      const userId = await store.transaction(async (tx) => {
        const now = iso();
        const id = await tx.passwordResets.consumePasswordReset(tokenHash, now);
        if (id === null) return null;
        const user = await tx.users.findUserById(id);
        if (!user || user.disabled) return null;
        await tx.users.updateUser(id, { passwordHash, updatedAt: now });
        await tx.passwordResets.endUserPasswordResets(id, now);
        await tx.twoFactor.endUserTwoFactorChallenges(id, now);
        await tx.sessions.revokeUserSessions(id, now);
        return id;
      });
      if (userId === null) throw invalid();
      opts.identities.invalidate();
      opts.onUserChanged?.(userId);
    },

    /** Removes resets that expired or were used more than a day ago. */
    async prune(): Promise<number> {
      return store.passwordResets.deleteStalePasswordResets(iso(clock.now() - 86_400_000));
    },

    /** Waits for the mails in progress (at shutdown, before the store closes), at most `timeoutMs`. */
    async drain(timeoutMs = 60_000): Promise<void> {
      await jobs.drain(timeoutMs);
    },

  };
}
