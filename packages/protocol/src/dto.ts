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
