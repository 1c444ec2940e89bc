import type { Role } from '@sigil/protocol';

/** A user row as stored. `passwordHash` never leaves the core. */
export interface UserRow {
  readonly id: string;
  /** Lower-cased; unique; immutable. */
  readonly username: string;
  readonly email: string | null;
  readonly passwordHash: string;
  readonly role: Role;
  readonly disabled: boolean;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface NewUser {
  readonly id: string;
  readonly username: string;
  readonly email: string | null;
  readonly passwordHash: string;
  readonly role: Role;
  readonly createdAt: string;
}

export interface UserChanges {
  readonly email?: string | null;
  readonly passwordHash?: string;
  readonly role?: Role;
  readonly disabled?: boolean;
  readonly updatedAt: string;
}

/**
 * A session is one login: a family of refresh tokens that replace each other.
 * Access tokens name their session in `sid`, so revoking a session also
 * invalidates the access tokens issued for it.
 */
export interface SessionRow {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: string;
  /** ISO time after which the session's refresh tokens no longer work. */
  readonly expiresAt: string;
  /** ISO time of revocation, or null while live. */
  readonly revokedAt: string | null;
}

export interface NewSession {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** A refresh token as stored: only its SHA-256 hash. */
export interface RefreshTokenRow {
  readonly tokenHash: string;
  readonly sessionId: string;
  readonly createdAt: string;
  /** ISO time at which it was exchanged for its successor, or null if current. */
  readonly usedAt: string | null;
}

/** The identity behind an access token, read in one query per request. */
export interface SessionIdentity {
  readonly user: UserRow;
  readonly session: SessionRow;
}

export interface UserRepository {
  /** Throws `AppError('conflict')` when the username is taken. */
  insertUser(user: NewUser): Promise<UserRow>;
  findUserById(id: string): Promise<UserRow | null>;
  /** `username` is compared lower-cased. */
  findUserByUsername(username: string): Promise<UserRow | null>;
  /** Ordered by id ascending; `afterId` excludes itself. */
  listUsers(opts: { readonly limit: number; readonly afterId?: string | undefined }): Promise<UserRow[]>;
  /** Returns the updated row, or null when no such user. */
  updateUser(id: string, changes: UserChanges): Promise<UserRow | null>;
  /** Deletes the user and (by cascade) their sessions and refresh tokens. True if a row was deleted. */
  deleteUser(id: string): Promise<boolean>;
  /** Admins that are not disabled. */
  countActiveAdmins(): Promise<number>;
  countUsers(): Promise<number>;
}

export interface SessionRepository {
  insertSession(session: NewSession): Promise<void>;
  findSession(id: string): Promise<SessionRow | null>;
  /** The session and its user in one query; null if either is gone. */
  findSessionIdentity(sessionId: string): Promise<SessionIdentity | null>;
  /** Sets `revokedAt` if not yet revoked. */
  revokeSession(id: string, at: string): Promise<void>;
  /** Revokes every live session of the user except `exceptSessionId`. Returns the revoked ids. */
  revokeUserSessions(userId: string, at: string, exceptSessionId?: string): Promise<string[]>;
  insertRefreshToken(token: { readonly tokenHash: string; readonly sessionId: string; readonly createdAt: string }): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null>;
  /**
   * Marks the token used if and only if it is still unused (compare-and-set).
   * Returns false when it was already used: the caller treats that as reuse.
   */
  markRefreshTokenUsed(tokenHash: string, at: string): Promise<boolean>;
  /** Deletes sessions that expired or were revoked before `before` (and their tokens). Returns how many. */
  deleteStaleSessions(before: string): Promise<number>;
}

/** The operations available inside a transaction. */
export interface StoreTransaction {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
}

export type Dialect = 'sqlite' | 'postgres';

/**
 * Everything Sigil keeps. Operations on `users`/`sessions` outside
 * `transaction` commit on their own. Implementations: `openSqliteStore`,
 * `openPostgresStore`; both pass `test/contract`.
 */
export interface Store extends StoreTransaction {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in one database transaction: all its writes commit together or
   * none do (`fn` throws → rollback, the error is rethrown). Transactions
   * behave as if run one after another (SQLite: one writer; PostgreSQL:
   * SERIALIZABLE). On PostgreSQL a serialization failure re-runs `fn` (a few
   * times, then `unavailable`), so `fn` must do nothing outside the database
   * but through `tx`, and must not call the store itself.
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /** Closes connections; later calls fail. */
  close(): Promise<void>;
}
