import type { AuthResponse } from '@sigil/protocol';
import type { IdentityProvidersConfig } from '../../../config/identity-providers-config.js';
import type { Clock } from '../../clock.js';
import { AppError, isAppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { IdentityRow, Store, StoreTransaction, UserRow } from '../../storage/store.js';
import type { AuthService, RequestOrigin } from '../auth-service.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { hasUsablePassword, NO_PASSWORD } from '../no-password.js';
import type { Principal } from '../principal.js';
import { normalizeEmail } from '../user-fields.js';
import { createGithubClient } from './github-client.js';
import type { IdentityProvider, ProviderIdentity } from './identity-provider.js';
import { pickUsername } from './oauth-usernames.js';
import { createOidcClient } from './oidc-client.js';
import { isCodeVerifier, isS256Challenge, s256, verifierMatches } from './pkce.js';
import { hashSecretToken, newSecretToken } from '../secret-token.js';
import { checkRedirect } from './redirect-allow-list.js';

export interface OAuthSignInOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly auth: AuthService;
  readonly throttle: AuthThrottle;
  readonly config: IdentityProvidersConfig;
  /** Tests only: providers in place of those built from the configuration. */
  readonly providers?: readonly IdentityProvider[];
}

/** A provider as the sign-in screen lists it. */
export interface ProviderInfo {
  readonly name: string;
  readonly label: string;
  readonly type: 'oidc' | 'github';
}

export interface IdentityInfo {
  readonly provider: string;
  readonly email: string | null;
  readonly createdAt: string;
}

/** A sign-in attempt lives this long: the user is at the provider meanwhile. */
const ATTEMPT_TTL_MS = 10 * 60_000;
/** The app exchanges the sign-in code right after the redirect. */
const SIGN_IN_CODE_TTL_MS = 2 * 60_000;
/** Accounts one verified email may hold for linking to be considered (exactly one must qualify). */
const MAX_EMAIL_MATCHES = 10;
/** The throttle's key for sign-in starts: not a valid username, so never a user's budget. */
const THROTTLE_KEY = '@identity-provider';

export type OAuthSignIn = ReturnType<typeof createOAuthSignIn>;

/**
 * Sign-in with identity providers (docs/auth.md, "Sign in with an identity
 * provider"). `start` remembers the attempt server-side (state and nonce as
 * SHA-256, Sigil's PKCE verifier, the app's redirect and challenge) and
 * sends the browser to the provider; `callback` takes the attempt once,
 * proves the identity with the provider, finds, links or creates the user
 * and sends the browser back with a one-time sign-in code in the fragment;
 * `exchange` turns that code and the app's PKCE verifier into a session,
 * through `auth.signInUser` like every other sign-in.
 */
export function createOAuthSignIn(opts: OAuthSignInOptions) {
  const { store, clock, config } = opts;
  const iso = (ms = clock.now()): string => new Date(ms).toISOString();
  const providers = new Map<string, IdentityProvider>(
    (opts.providers ?? config.providers.map((p) => (p.type === 'oidc' ? createOidcClient(p, clock) : createGithubClient(p)))).map((p) => [p.name, p]),
  );
  const dashboardPrefix = `${config.serverUrl}/_/`;
  const allowed = [...config.redirectUrls, dashboardPrefix];
  const callbackUri = (name: string): string => `${config.serverUrl}/api/auth/oauth/${name}/callback`;

  function provider(name: string): IdentityProvider {
    const found = providers.get(name);
    if (!found) throw new AppError('not_found', `No identity provider "${name.slice(0, 40)}" is configured.`);
    return found;
  }

  async function begin(name: string, input: { redirect: unknown; appChallenge: string | null; linkUserId: string | null }, origin: RequestOrigin): Promise<string> {
    const p = provider(name);
    const redirectUrl = checkRedirect(input.redirect, allowed);
    opts.throttle.admit(THROTTLE_KEY, origin.address);
    const state = newSecretToken();
    const nonce = newSecretToken();
    const codeVerifier = newSecretToken();
    let url: string;
    try {
      url = await p.authorizationUrl({ state, nonce, codeChallenge: s256(codeVerifier), redirectUri: callbackUri(name) });
    } catch (error) {
      // Discovery failed: the provider is down or not what OIDC_<NAME>_ISSUER says; nobody can sign in with it now.
      if (isAppError(error)) throw new AppError('unavailable', `${error.message} Sign-in with ${p.label} is unavailable.`, { cause: error, retryAfter: 30 });
      throw error;
    }
    const now = clock.now();
    await store.oauth.insertAttempt({
      stateHash: hashSecretToken(state), provider: name, nonceHash: hashSecretToken(nonce), codeVerifier, redirectUrl,
      appChallenge: input.appChallenge, linkUserId: input.linkUserId, createdAt: iso(now), expiresAt: iso(now + ATTEMPT_TTL_MS),
    });
    return url;
  }

  /** The user for a proven identity: its linked user, the one account with this verified email, or a new one. */
  async function resolveUser(tx: StoreTransaction, name: string, who: ProviderIdentity): Promise<UserRow> {
    const linked = await tx.oauth.findIdentity(name, who.subject);
    if (linked) {
      const user = await tx.users.findUserById(linked.userId);
      if (user) return user;
    }
    const email = safeEmail(who.email);
    let user: UserRow | null = null;
    if (email !== null && who.emailVerified) {
      const matches = (await tx.users.findUsersByEmail(email, MAX_EMAIL_MATCHES)).filter((u) => u.emailVerified);
      if (matches.length === 1) user = matches[0]!;
    }
    user ??= await tx.users.insertUser({
      id: newId(clock.now()), username: await pickUsername(tx.users, who.usernameHints), email, emailVerified: email !== null && who.emailVerified,
      passwordHash: NO_PASSWORD, role: 'user', createdAt: iso(),
    });
    await tx.oauth.insertIdentity({ provider: name, subject: who.subject, userId: user.id, email, createdAt: iso() });
    return user;
  }

  async function link(tx: StoreTransaction, name: string, who: ProviderIdentity, userId: string): Promise<void> {
    const existing = await tx.oauth.findIdentity(name, who.subject);
    if (existing?.userId === userId) return;
    if (existing) throw new AppError('conflict', 'This account at the provider is linked to another user.');
    if (!(await tx.users.findUserById(userId))) throw new AppError('unauthorized', 'The user who started linking is gone.');
    await tx.oauth.insertIdentity({ provider: name, subject: who.subject, userId, email: safeEmail(who.email), createdAt: iso() });
  }

  return {
    /** For sign-in buttons. */
    listProviders(): ProviderInfo[] {
      return [...providers.values()].map((p) => ({ name: p.name, label: p.label, type: p.type }));
    },

    /** The provider's authorization URL to redirect to. `codeChallenge`: the app's S256 challenge for the exchange. */
    async start(name: string, input: { readonly redirect?: unknown; readonly codeChallenge?: unknown }, origin: RequestOrigin): Promise<string> {
      provider(name);
      if (!isS256Challenge(input.codeChallenge)) {
        throw new AppError('validation_failed', 'code_challenge must be the S256 challenge (43 base64url characters) of a verifier the app keeps.', {
          details: [{ path: '/code_challenge', message: 'must be 43 base64url characters' }],
        });
      }
      return begin(name, { redirect: input.redirect, appChallenge: input.codeChallenge, linkUserId: null }, origin);
    },

    /** Like start, for a signed-in user: the callback links the provider account to them instead of signing in. */
    async startLink(name: string, principal: Principal, input: { readonly redirect?: unknown }, origin: RequestOrigin): Promise<string> {
      provider(name);
      return begin(name, { redirect: input.redirect, appChallenge: null, linkUserId: principal.userId }, origin);
    },

    /**
     * The provider sent the browser back. An unknown, used or expired
     * `state` is refused (400) without a redirect: nothing says where to.
     * Past that, the answer is always a redirect to the app, with
     * `#code=…` (sign-in), `#linked=<provider>` (linking), or
     * `#error=<code>&message=…`.
     */
    async callback(name: string, query: { readonly state?: unknown; readonly code?: unknown; readonly error?: unknown }): Promise<string> {
      const p = provider(name);
      const state = query.state;
      if (typeof state !== 'string' || state.length === 0 || state.length > 256) throw new AppError('bad_request', 'Unknown or expired sign-in attempt (state).');
      const attempt = await store.oauth.consumeAttempt(hashSecretToken(state), iso());
      if (!attempt || attempt.provider !== name) throw new AppError('bad_request', 'Unknown or expired sign-in attempt (state).');
      const back = (fields: Record<string, string>): string => `${attempt.redirectUrl}#${new URLSearchParams(fields).toString()}`;
      try {
        if (query.error !== undefined) throw new AppError('unauthorized', `The identity provider did not sign you in (${typeof query.error === 'string' ? query.error.slice(0, 64) : 'error'}).`);
        if (typeof query.code !== 'string' || query.code === '' || query.code.length > 2048) throw new AppError('unauthorized', 'The identity provider sent no code.');
        const who = await p.identify({ code: query.code, codeVerifier: attempt.codeVerifier, nonceHash: attempt.nonceHash, redirectUri: callbackUri(name) });
        if (attempt.linkUserId !== null) {
          const userId = attempt.linkUserId;
          await store.transaction((tx) => link(tx, name, who, userId));
          return back({ linked: name });
        }
        const appChallenge = attempt.appChallenge ?? '';
        const code = newSecretToken();
        await withConflictRetry(() => store.transaction(async (tx) => {
          const user = await resolveUser(tx, name, who);
          const now = clock.now();
          await tx.oauth.insertSignInCode({ codeHash: hashSecretToken(code), userId: user.id, appChallenge, createdAt: iso(now), expiresAt: iso(now + SIGN_IN_CODE_TTL_MS) });
        }));
        return back({ code });
      } catch (error) {
        if (!isAppError(error)) throw error;
        return back({ error: error.code, message: error.message });
      }
    },

    /** The app's half: the sign-in code from the fragment and the verifier of its challenge. Answers what login answers. */
    async exchange(input: { readonly code?: unknown; readonly codeVerifier?: unknown }): Promise<AuthResponse> {
      const invalid = (): AppError => new AppError('unauthorized', 'Invalid or expired sign-in code.');
      if (typeof input.code !== 'string' || input.code === '' || input.code.length > 256) throw invalid();
      if (!isCodeVerifier(input.codeVerifier)) {
        throw new AppError('validation_failed', 'codeVerifier must be 43–128 characters of A-Z a-z 0-9 - . _ ~.', { details: [{ path: '/codeVerifier', message: 'must be a PKCE code verifier' }] });
      }
      // Taken before the verifier is checked: a stolen code gets one guess, then it is gone.
      const found = await store.oauth.consumeSignInCode(hashSecretToken(input.code), iso());
      if (!found || !verifierMatches(input.codeVerifier, found.appChallenge)) throw invalid();
      const user = await store.users.findUserById(found.userId);
      if (!user) throw invalid();
      return opts.auth.signInUser(user);
    },

    async listIdentities(principal: Principal): Promise<IdentityInfo[]> {
      return (await store.oauth.listIdentities(principal.userId)).map(toInfo);
    },

    /** Unlinks the caller's account at `provider`; refused (409) when it is their last way to sign in. */
    async unlink(principal: Principal, name: string): Promise<void> {
      await store.transaction(async (tx) => {
        const user = await tx.users.findUserById(principal.userId);
        if (!user) throw new AppError('unauthorized');
        const identities = await tx.oauth.listIdentities(user.id);
        const removing = identities.filter((i) => i.provider === name);
        if (removing.length === 0) throw new AppError('not_found', `No identity at "${name.slice(0, 40)}" is linked.`);
        if (!hasUsablePassword(user.passwordHash) && removing.length === identities.length) {
          throw new AppError('conflict', 'This is your last way to sign in: set a password (password reset by mail) or link another provider first.');
        }
        await tx.oauth.deleteIdentities(user.id, name);
      });
    },

    /** Removes attempts and sign-in codes that expired or were used more than a day ago. */
    async prune(): Promise<number> {
      return store.oauth.deleteStale(iso(clock.now() - 86_400_000));
    },
  };
}

function toInfo(i: IdentityRow): IdentityInfo {
  return { provider: i.provider, email: i.email, createdAt: i.createdAt };
}

/** The provider's email if it is one Sigil accepts, else none. */
function safeEmail(email: string | null): string | null {
  try {
    return normalizeEmail(email);
  } catch {
    return null;
  }
}

/** Two first sign-ins racing for one name: the loser's insert hits the unique key; it picks again. */
async function withConflictRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 3 || !isAppError(error) || error.code !== 'conflict') throw error;
    }
  }
}
