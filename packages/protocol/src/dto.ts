/** A user's role. Admins may do everything; users only what rules allow. */
export type Role = 'user' | 'admin';

/**
 * A user as the API shows it. Never contains a password hash.
 *
 * @example
 * ```json
 * { "id": "01J9Z…", "username": "ada", "email": null, "emailVerified": false, "role": "user",
 *   "disabled": false, "twoFactorEnabled": false, "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "…" }
 * ```
 */
export interface UserDto {
  readonly id: string;
  readonly username: string;
  readonly email: string | null;
  /** The user proved they receive mail at `email` (docs/auth.md). */
  readonly emailVerified: boolean;
  readonly role: Role;
  readonly disabled: boolean;
  /** Signing in takes a TOTP or recovery code after the password (docs/auth.md, "Two-factor authentication"). */
  readonly twoFactorEnabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The answer to register and login. */
export interface AuthResponse {
  readonly user: UserDto;
  readonly accessToken: string;
  readonly refreshToken: string;
}

/**
 * An identity provider to sign in with (`GET /api/auth/providers`).
 *
 * @example
 * ```json
 * { "name": "google", "label": "Google", "type": "oidc" }
 * ```
 */
export interface IdentityProviderDto {
  /** In URLs: `/api/auth/oauth/<name>/start`. */
  readonly name: string;
  /** The text of its sign-in button. */
  readonly label: string;
  readonly type: 'oidc' | 'github';
}

/**
 * A provider account linked to the caller (`GET /api/auth/identities`).
 *
 * @example
 * ```json
 * { "provider": "github", "email": "ada@example.com", "createdAt": "2026-01-01T00:00:00.000Z" }
 * ```
 */
export interface IdentityDto {
  readonly provider: string;
  /** The email the provider gave when it was linked. */
  readonly email: string | null;
  readonly createdAt: string;
}

/**
 * The answer to register when the server requires a verified email before
 * signing in (AUTH_REQUIRE_VERIFIED_EMAIL): the account exists, a link is
 * mailed, and there is no session until it is followed. HTTP 202.
 */
export interface PendingRegistration {
  readonly user: UserDto;
  readonly verificationRequired: true;
}

/** The answer to PATCH /api/users/:username: `pendingEmail` when an address change waits for its link. */
export interface UserUpdate {
  readonly user: UserDto;
  /** The new address a confirmation link was mailed to; `user.email` stays until it is followed. */
  readonly pendingEmail?: string;
}

/** The answer to refresh: a new access token and the rotated refresh token. */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
}

/** A page of a keyset-paginated list; pass `nextCursor` as `after` for the next page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/**
 * The claims of a Sigil access token: identifiers and the role only.
 * The payload of a JWT is readable by anyone who holds it, so nothing secret
 * (no email, no hash) is ever put in it.
 */
export interface AccessTokenClaims {
  /** The user's id. */
  readonly sub: string;
  readonly username: string;
  readonly role: Role;
  /** The session (refresh token family) this token was issued for. */
  readonly sid: string;
  readonly iat: number;
  readonly exp: number;
  readonly iss: string;
}

/** Who may do an operation on a collection's records: a keyword, or a filter over the records with `@auth.*` placeholders (docs/collections.md#rules). */
export type RuleValue = 'public' | 'authenticated' | 'owner' | 'admin' | { readonly [key: string]: unknown };
export type RuleName = 'list' | 'view' | 'create' | 'update' | 'delete';
export type CollectionRules = { readonly [K in RuleName]: RuleValue };

/** A collection definition as the API shows it (`GET /api/collections/:name`). */
export interface CollectionDto {
  readonly name: string;
  /** A JSON Schema (2020-12) of the records' user fields. */
  readonly schema: { readonly [key: string]: unknown };
  readonly rules: CollectionRules;
  /** Each index is a list of dotted field paths. */
  readonly indexes: readonly (readonly string[])[];
  readonly schemaVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What `GET /api/admin/status` answers (admins only). */
export interface ServerStatus {
  readonly version: string;
  readonly engine: 'sqlite' | 'postgres';
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  /** This instance's open WebSocket connections and their subscriptions. */
  readonly realtime: { readonly connections: number; readonly subscriptions: number };
  /** The change log clients resume from: seqs `oldestSeq`..`latestSeq`, kept `retentionSeconds`. */
  readonly changeLog: { readonly oldestSeq: number | null; readonly latestSeq: number; readonly size: number; readonly retentionSeconds: number };
  readonly collections: readonly { readonly name: string; readonly records: number }[];
}
