import type { AuthResponse, PendingRegistration, TokenPair } from '@sigil/protocol';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { SessionRepository, Store, StoreTransaction, UserRow } from '../storage/store.js';
import type { IdentityCache } from './identity-cache.js';
import type { PasswordHasher } from './password.js';
import type { Principal } from './principal.js';
import type { AuthThrottle } from './auth-throttle.js';
import { hashSecretToken, newSecretToken } from './secret-token.js';
import type { TokenService } from './token-service.js';
import type { TwoFactor } from './two-factor.js';
import { normalizeEmail, normalizeUsername, toUserDto } from './user-fields.js';
import { validatePassword } from './password.js';
import { hasUsablePassword } from './no-password.js';

export interface AuthServiceOptions {
  readonly store: Store;
  readonly tokens: TokenService;
  readonly passwords: PasswordHasher;
  readonly clock: Clock;
  readonly refreshTokenTtlSeconds: number;
  /** Budgets for login and register attempts (see AuthThrottle). */
  readonly throttle: AuthThrottle;
  readonly identities: IdentityCache;
  /** Told after a session of this user was revoked (logout, refresh-token reuse), so live connections can be re-checked. */
  readonly onUserChanged?: (userId: string) => void;
  /** AUTH_REQUIRE_VERIFIED_EMAIL: users (role user) sign in only with a verified email; registration then needs one. */
  readonly requireVerifiedEmail?: boolean;
  /** After an account was created (it mails the verification link). Must not throw. */
  readonly onRegistered?: (user: UserRow) => Promise<void>;
  /** Challenges users with two-factor on for their second factor (core/auth/two-factor.ts). */
  readonly twoFactor: TwoFactor;
}

export interface RegisterInput {
  readonly username: unknown;
  readonly password: unknown;
  readonly email?: unknown;
}

export interface LoginInput {
  readonly username: unknown;
  readonly password: unknown;
}

/** Where a request comes from, for rate limiting. */
export interface RequestOrigin {
  readonly address: string;
}

export type AuthService = ReturnType<typeof createAuthService>;

/**
 * Registration, login, token refresh with rotation and reuse detection,
 * logout, and access-token authentication. Transport-free: HTTP and
 * WebSocket both call `authenticate`.
 */
export function createAuthService(opts: AuthServiceOptions) {
  const { store, tokens, passwords, clock, identities } = opts;
  const iso = (): string => new Date(clock.now()).toISOString();

  /** Opens a session for `user` and returns its first token pair. */
  async function startSession(tx: StoreTransaction, user: UserRow): Promise<TokenPair> {
    const now = clock.now();
    const sessionId = newId(now);
    await tx.sessions.insertSession({
      id: sessionId,
      userId: user.id,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + opts.refreshTokenTtlSeconds * 1000).toISOString(),
    });
    return issuePair(tx.sessions, user, sessionId);
  }

  async function issuePair(sessions: SessionRepository, user: UserRow, sessionId: string): Promise<TokenPair> {
    const refreshToken = newSecretToken();
    await sessions.insertRefreshToken({ tokenHash: hashSecretToken(refreshToken), sessionId, createdAt: iso() });
    const accessToken = await tokens.sign({ sub: user.id, username: user.username, role: user.role, sid: sessionId });
    return { accessToken, refreshToken };
  }

  /** After a revocation: forget cached identities and let live connections of the user be re-checked. */
  async function sessionEnded(sessionId: string): Promise<void> {
    identities.invalidate();
    if (!opts.onUserChanged) return;
    const session = await store.sessions.findSession(sessionId);
    if (session) opts.onUserChanged(session.userId);
  }

  /**
   * The one place where a proven identity (a password, an identity
   * provider) becomes a session: every gate on signing in belongs here, so
   * no way of signing in can skip one.
   */
  async function signInUser(user: UserRow): Promise<AuthResponse> {
    return openSession(user, false);
  }

  /** signInUser's gates; `secondFactor`: the user just gave their two-factor code for a challenge. */
  async function openSession(user: UserRow, secondFactor: boolean): Promise<AuthResponse> {
    if (user.disabled) throw new AppError('forbidden', 'This account is disabled.');
    // Admins are exempt, so an operator cannot lock themselves out (docs/auth.md#email-verification).
    if (opts.requireVerifiedEmail === true && user.role === 'user' && !user.emailVerified) {
      throw new AppError('email_not_verified', 'Verify your email address before signing in: follow the link mailed to you, or ask for a new one (POST /api/auth/resend-verification).');
    }
    if (user.twoFactorEnabled && !secondFactor) {
      // No tokens yet: a client that does not know two-factor fails safe on the 401.
      const challenge = await opts.twoFactor.startChallenge(user);
      throw new AppError('two_factor_required', undefined, { challenge });
    }
    return store.transaction(async (tx) => ({ user: toUserDto(user), ...(await startSession(tx, user)) }));
  }

  return {
    /** A session, or (AUTH_REQUIRE_VERIFIED_EMAIL) none until the mailed link is followed. */
    async register(input: RegisterInput, origin: RequestOrigin): Promise<AuthResponse | PendingRegistration> {
      const username = normalizeUsername(input.username);
      opts.throttle.admit(username, origin.address);
      const password = validatePassword(input.password);
      const email = normalizeEmail(input.email);
      if (email === null && opts.requireVerifiedEmail === true) {
        throw new AppError('validation_failed', 'email is required: accounts sign in only once their email address is verified.', { details: [{ path: '/email', message: 'is required' }] });
      }
      if (await store.users.findUserByUsername(username)) {
        throw new AppError('conflict', 'This username is taken.');
      }
      const passwordHash = await passwords.hash(password);
      const created = await store.transaction(async (tx) => {
        const now = iso();
        const user = await tx.users.insertUser({ id: newId(clock.now()), username, email, passwordHash, role: 'user', createdAt: now });
        if (opts.requireVerifiedEmail === true) return { user, pair: null };
        return { user, pair: await startSession(tx, user) };
      });
      await opts.onRegistered?.(created.user);
      if (created.pair === null) return { user: toUserDto(created.user), verificationRequired: true };
      return { user: toUserDto(created.user), ...created.pair };
    },

    async login(input: LoginInput, origin: RequestOrigin): Promise<AuthResponse> {
      if (typeof input.username !== 'string' || typeof input.password !== 'string') {
        throw new AppError('validation_failed', 'username and password are required strings.');
      }
      const username = input.username.toLowerCase().slice(0, 64);
      opts.throttle.admit(username, origin.address);
      // Same work whether or not the user exists: unknown users are verified
      // against a dummy hash, so timing does not reveal which usernames exist.
      // A password longer than the policy allows (128 code points) cannot match; still pay the hash.
      const plausible = input.password.length <= 512;
      const user = plausible ? await store.users.findUserByUsername(username) : null;
      // An account made by an identity provider has no password: verified against the dummy too (same time, never a match).
      const ok = await passwords.verifyOrDummy(user && hasUsablePassword(user.passwordHash) ? user.passwordHash : null, plausible ? input.password : '');
      if (!user || !ok) {
        opts.throttle.failed(username);
        throw new AppError('invalid_credentials');
      }
      opts.throttle.succeeded(username, origin.address);
      return signInUser(user);
    },

    signInUser,

    /** `POST /api/auth/2fa/verify`: a challenge from signInUser and a TOTP or recovery code → a session, as login answers. */
    async completeTwoFactor(input: { readonly challenge?: unknown; readonly code?: unknown }, origin: RequestOrigin): Promise<AuthResponse> {
      return openSession(await opts.twoFactor.verify(input, origin), true);
    },

    async refresh(refreshToken: unknown): Promise<TokenPair> {
      if (typeof refreshToken !== 'string' || refreshToken === '' || refreshToken.length > 256) {
        throw new AppError('unauthorized', 'Invalid refresh token.');
      }
      const tokenHash = hashSecretToken(refreshToken);
      let revokedSession: string | undefined;
      const outcome = await store.transaction(async (tx): Promise<TokenPair | 'invalid' | 'reused'> => {
        const row = await tx.sessions.findRefreshToken(tokenHash);
        if (!row) return 'invalid';
        if (!(await tx.sessions.markRefreshTokenUsed(tokenHash, iso()))) {
          // A rotated token came back: whoever holds the family may be a thief.
          await tx.sessions.revokeSession(row.sessionId, iso());
          revokedSession = row.sessionId;
          return 'reused';
        }
        const identity = await tx.sessions.findSessionIdentity(row.sessionId);
        if (!identity || !isLive(identity.session, clock.now()) || identity.user.disabled) return 'invalid';
        return issuePair(tx.sessions, identity.user, row.sessionId);
      });
      // Thrown after the transaction so that a reuse's revocation commits.
      if (outcome === 'reused' && revokedSession !== undefined) await sessionEnded(revokedSession);
      if (outcome === 'invalid') throw new AppError('unauthorized', 'Invalid or expired refresh token.');
      if (outcome === 'reused') throw new AppError('unauthorized', 'This refresh token was already used; the session is revoked.');
      return outcome;
    },

    /** Revokes the token's session. Unknown tokens are accepted silently, so logout is idempotent. */
    async logout(refreshToken: unknown): Promise<void> {
      if (typeof refreshToken !== 'string' || refreshToken === '') {
        throw new AppError('bad_request', 'refreshToken is required.');
      }
      // Ours are 43 characters: a longer one is unknown, and unknown tokens are accepted silently.
      if (refreshToken.length > 256) return;
      const row = await store.sessions.findRefreshToken(hashSecretToken(refreshToken));
      if (row) {
        await store.sessions.revokeSession(row.sessionId, iso());
        await sessionEnded(row.sessionId);
      }
    },

    /**
     * Verifies an access token and checks that its session is live and its
     * user exists and is enabled: one indexed query, or none while the
     * identity cache holds the session.
     */
    async authenticate(accessToken: string): Promise<Principal> {
      const claims = await tokens.verify(accessToken);
      let identity = identities.get(claims.sid) ?? null;
      if (identity === null) {
        identity = await store.sessions.findSessionIdentity(claims.sid);
        if (identity) identities.set(claims.sid, identity);
      }
      if (!identity || identity.user.id !== claims.sub || identity.session.revokedAt !== null || identity.user.disabled) {
        throw new AppError('unauthorized', 'The session of this token has ended.');
      }
      const user = toUserDto(identity.user);
      return { userId: user.id, username: user.username, role: user.role, sessionId: claims.sid, user, expiresAt: claims.exp * 1000 };
    },

    /** Removes sessions that expired or were revoked more than a day ago. */
    async pruneSessions(): Promise<number> {
      return store.sessions.deleteStaleSessions(new Date(clock.now() - 86_400_000).toISOString());
    },
  };
}

function isLive(session: { readonly revokedAt: string | null; readonly expiresAt: string }, now: number): boolean {
  return session.revokedAt === null && Date.parse(session.expiresAt) > now;
}
