import type { Role } from '@sigil/protocol';
import type { Collection } from '../collections/collection.js';
import type { FilterNode, RecordQuery } from '../records/query/query-types.js';
import type { ChangeRow, NewChange, RecordRow, StoredRecord } from '../records/record.js';

/** A user row as stored. `passwordHash` never leaves the core. */
export interface UserRow {
  readonly id: string;
  /** Lower-cased; unique; immutable. */
  readonly username: string;
  readonly email: string | null;
  /** The user proved they receive mail at `email` (a verification link, or an identity provider that verified it). */
  readonly emailVerified: boolean;
  readonly passwordHash: string;
  readonly role: Role;
  readonly disabled: boolean;
  /** Signing in takes a TOTP or recovery code after the password (TwoFactorRepository). */
  readonly twoFactorEnabled: boolean;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface NewUser {
  readonly id: string;
  readonly username: string;
  readonly email: string | null;
  /** Default false. */
  readonly emailVerified?: boolean;
  readonly passwordHash: string;
  readonly role: Role;
  readonly createdAt: string;
}

export interface UserChanges {
  readonly email?: string | null;
  readonly emailVerified?: boolean;
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

/**
 * A password reset as stored: only the SHA-256 of its token. It works once,
 * until `expiresAt`, and only while unused; a password change marks every
 * unused reset of the user used.
 */
export interface PasswordResetRow {
  readonly tokenHash: string;
  readonly userId: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** ISO time at which it was used or ended by a password change, or null. */
  readonly usedAt: string | null;
}

export interface PasswordResetRepository {
  insertPasswordReset(reset: { readonly tokenHash: string; readonly userId: string; readonly createdAt: string; readonly expiresAt: string }): Promise<void>;
  /** The reset if it is unused and expires after `at`; null otherwise. */
  findLivePasswordReset(tokenHash: string, at: string): Promise<PasswordResetRow | null>;
  /**
   * Marks the reset used if and only if it is unused and expires after `at`
   * (compare-and-set): of two concurrent uses one wins. Returns its user's id,
   * or null.
   */
  consumePasswordReset(tokenHash: string, at: string): Promise<string | null>;
  /** Marks every unused reset of the user used: their password changed. Returns how many. */
  endUserPasswordResets(userId: string, at: string): Promise<number>;
  /** Deletes resets that expired or were used before `before`. Returns how many. */
  deleteStalePasswordResets(before: string): Promise<number>;
}

/** An account at an identity provider, linked to a Sigil user. `(provider, subject)` is unique. */
export interface IdentityRow {
  readonly provider: string;
  /** The provider's stable id of the account (OIDC `sub`, GitHub's numeric user id). */
  readonly subject: string;
  readonly userId: string;
  /** The email the provider gave at linking, or null. */
  readonly email: string | null;
  readonly createdAt: string;
}

/** A sign-in with a provider in progress, found by the SHA-256 of its `state`; single use. */
export interface OAuthAttemptRow {
  readonly stateHash: string;
  readonly provider: string;
  readonly nonceHash: string;
  /** The PKCE verifier of Sigil's leg with the provider (sent to its token endpoint, so kept as is). */
  readonly codeVerifier: string;
  readonly redirectUrl: string;
  /** The app's S256 challenge for the sign-in code; null when linking. */
  readonly appChallenge: string | null;
  /** Set when a signed-in user links the provider account instead of signing in. */
  readonly linkUserId: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export interface OAuthRepository {
  insertAttempt(attempt: OAuthAttemptRow): Promise<void>;
  /** Marks the attempt used if it is unused and expires after `at` (compare-and-set) and returns it; null otherwise. */
  consumeAttempt(stateHash: string, at: string): Promise<OAuthAttemptRow | null>;
  insertSignInCode(code: { readonly codeHash: string; readonly userId: string; readonly appChallenge: string; readonly createdAt: string; readonly expiresAt: string }): Promise<void>;
  /** Marks the code used if it is unused and expires after `at` (compare-and-set); its user and the app's challenge, or null. */
  consumeSignInCode(codeHash: string, at: string): Promise<{ readonly userId: string; readonly appChallenge: string } | null>;
  findIdentity(provider: string, subject: string): Promise<IdentityRow | null>;
  /** `conflict` when `(provider, subject)` is linked already. */
  insertIdentity(identity: IdentityRow): Promise<void>;
  /** The user's identities, by provider then subject. */
  listIdentities(userId: string): Promise<IdentityRow[]>;
  /** Unlinks every identity of the user at `provider`. Returns how many. */
  deleteIdentities(userId: string, provider: string): Promise<number>;
  /** Deletes attempts and codes that expired or were used before `before`. Returns how many. */
  deleteStale(before: string): Promise<number>;
}

/** What a verification link is for: proving the current address, or confirming a change to a new one. */
export type EmailVerificationPurpose = 'verify' | 'change';

/**
 * An email verification as stored: only the SHA-256 of its token, and the
 * address it was mailed to. It works once, until `expiresAt`, and only while
 * unused; any change of the user's address marks every unused one used.
 */
export interface EmailVerificationRow {
  readonly tokenHash: string;
  readonly userId: string;
  readonly email: string;
  readonly purpose: EmailVerificationPurpose;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** ISO time at which it was used or ended, or null. */
  readonly usedAt: string | null;
}

export interface EmailVerificationRepository {
  insertEmailVerification(row: Omit<EmailVerificationRow, 'usedAt'>): Promise<void>;
  /**
   * Marks the verification used if and only if it is unused and expires
   * after `at` (compare-and-set): of two concurrent uses one wins. Returns
   * the row as it was, or null.
   */
  consumeEmailVerification(tokenHash: string, at: string): Promise<EmailVerificationRow | null>;
  /** The newest unused `change` verification of the user that expires after `at`, or null. */
  findPendingEmailChange(userId: string, at: string): Promise<EmailVerificationRow | null>;
  /** Marks every unused verification of the user used (their address changed, or a newer change supersedes). Returns how many. */
  endUserEmailVerifications(userId: string, at: string): Promise<number>;
  /** Deletes verifications that expired or were used before `before`. Returns how many. */
  deleteStaleEmailVerifications(before: string): Promise<number>;
}

/** A user's TOTP secret, encrypted; pending until `enabledAt` is set by a first code. */
export interface TwoFactorSecretRow {
  readonly userId: string;
  /** AES-256-GCM ciphertext (core/auth/two-factor-crypto.ts), never the secret itself. */
  readonly secret: string;
  readonly createdAt: string;
  readonly enabledAt: string | null;
  /** The last TOTP time step a code was accepted for (-1 before the first): no code of it or before counts again. */
  readonly lastStep: number;
}

/** A login waiting for its second factor: only the SHA-256 of its token is stored. */
export interface TwoFactorChallengeRow {
  readonly tokenHash: string;
  readonly userId: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** Wrong codes given for it so far. */
  readonly failures: number;
  /** When it was completed, or ended by too many wrong codes; null while open. */
  readonly usedAt: string | null;
}

/**
 * Two-factor state of users. Everything that must not happen twice (a time
 * step, a recovery code, a challenge) is a compare-and-set: of two
 * concurrent uses one wins.
 */
export interface TwoFactorRepository {
  findTwoFactorSecret(userId: string): Promise<TwoFactorSecretRow | null>;
  /** Stores a pending secret (replacing a pending one). False, and nothing changes, when two-factor is already enabled. */
  putPendingTwoFactorSecret(userId: string, secret: string, at: string): Promise<boolean>;
  /**
   * Pending → enabled (compare-and-set), with `step` as the last used time
   * step, and sets `users.two_factor_enabled`. False when nothing was pending.
   */
  enableTwoFactor(userId: string, step: number, at: string): Promise<boolean>;
  /** Removes the secret, recovery codes and challenges, and clears the user's flag. True if there was a secret. */
  disableTwoFactor(userId: string, at: string): Promise<boolean>;
  /** Accepts time step `step` if and only if it is after the last one used (compare-and-set). */
  useTwoFactorStep(userId: string, step: number): Promise<boolean>;
  /** Re-encrypts the secret (with the current key), if the row still holds `previous`. */
  replaceTwoFactorSecret(userId: string, previous: string, secret: string): Promise<void>;
  /** Replaces all the user's recovery codes by these (SHA-256 hex). */
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], at: string): Promise<void>;
  /** Marks the user's unused code used (compare-and-set). True if it was unused. */
  useRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean>;
  countUnusedRecoveryCodes(userId: string): Promise<number>;
  insertTwoFactorChallenge(challenge: { readonly tokenHash: string; readonly userId: string; readonly createdAt: string; readonly expiresAt: string }): Promise<void>;
  /** The challenge if it is open and expires after `at`; null otherwise. */
  findLiveTwoFactorChallenge(tokenHash: string, at: string): Promise<TwoFactorChallengeRow | null>;
  /**
   * Counts a wrong code on an open challenge and ends it at `maxFailures`.
   * Returns the failures now counted, or null when it was not open.
   */
  failTwoFactorChallenge(tokenHash: string, maxFailures: number, at: string): Promise<number | null>;
  /** Completes an open, unexpired challenge (compare-and-set). Returns its user's id, or null. */
  consumeTwoFactorChallenge(tokenHash: string, at: string): Promise<string | null>;
  /** Ends every open challenge of the user (their password changed). Returns how many. */
  endUserTwoFactorChallenges(userId: string, at: string): Promise<number>;
  /** Deletes challenges that expired or ended before `before`. Returns how many. */
  deleteStaleTwoFactorChallenges(before: string): Promise<number>;
}

export interface UserRepository {
  /** Throws `AppError('conflict')` when the username is taken. */
  insertUser(user: NewUser): Promise<UserRow>;
  findUserById(id: string): Promise<UserRow | null>;
  /** `username` is compared lower-cased. */
  findUserByUsername(username: string): Promise<UserRow | null>;
  /** Users whose email equals `email` ignoring case (emails are not unique), in id order, at most `limit`; through an index. */
  findUsersByEmail(email: string, limit: number): Promise<UserRow[]>;
  /** Ordered by id ascending; `afterId` excludes itself. */
  /**
   * Users in id order after `afterId`. With `search` (lower-case), only those
   * whose username or email contains it (a scan: for admin screens).
   */
  listUsers(opts: { readonly limit: number; readonly afterId?: string | undefined; readonly search?: string | undefined }): Promise<UserRow[]>;
  /** Returns the updated row, or null when no such user. */
  updateUser(id: string, changes: UserChanges): Promise<UserRow | null>;
  /** Deletes the user and (by cascade) their sessions and refresh tokens. True if a row was deleted. */
  deleteUser(id: string): Promise<boolean>;
  /** Admins that are not disabled. */
  countActiveAdmins(): Promise<number>;
  /**
   * Inside a transaction: waits for, then holds until the transaction ends,
   * the lock every change that may take away an admin takes, so that two
   * such changes (admins demoting or deleting each other) run one after the
   * other and the second counts what the first left (PostgreSQL: an advisory
   * transaction lock; SQLite: nothing to do, the writer is exclusive).
   */
  lockAdminChanges(): Promise<void>;
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

export interface SchemaStamp {
  readonly id: string;
  readonly schemaVersion: number;
}

export interface CollectionRepository {
  /** Ordered by name. */
  listCollections(): Promise<Collection[]>;
  findCollection(name: string): Promise<Collection | null>;
  /**
   * Just the identity and schema version, for the in-transaction check of a
   * record write (the collection may have been changed, or deleted and
   * created again, since the write was validated). null when it is gone.
   * Inside a transaction the answer holds until the transaction ends: a
   * schema change waits for it (PostgreSQL: the records table's ROW EXCLUSIVE
   * lock; SQLite: the writer is exclusive).
   */
  findSchemaStamp(name: string): Promise<SchemaStamp | null>;
  /** Creates the row, the collection's records table and its indexes. `conflict` if the name exists. */
  insertCollection(collection: Collection): Promise<void>;
  /**
   * Replaces schema, rules, indexes, schemaVersion and updatedAt (by name),
   * creating and dropping database indexes so they match `indexes`. False
   * when no such collection.
   */
  updateCollection(collection: Collection): Promise<boolean>;
  /** Drops the records table and the row. False when no such collection. */
  deleteCollection(name: string): Promise<boolean>;
  /**
   * Inside a transaction: blocks record writes to the collection from other
   * transactions until this one ends, so a schema check sees every record
   * (PostgreSQL: a table lock; SQLite: nothing to do, the writer is exclusive).
   */
  lockCollection(name: string): Promise<void>;
}

/**
 * How much an expansion read may load (core/records/expansion.ts). A bounded
 * read may stop early, but only once what it returns holds more than `rows`
 * records, or records whose `dataJson` together reach `chars` characters: an
 * answer within both bounds is complete. So the database never hands over
 * more than about one record past the bound, however many match.
 */
export interface ReadBound {
  readonly rows: number;
  readonly chars: number;
}

/** A list query's answer (see `queryRecords`). */
export interface RecordPage {
  readonly rows: StoredRecord[];
  readonly seq: number;
  /** The rows stopped at `query.maxChars`, and more rows would have followed. */
  readonly truncated: boolean;
}

export interface RecordRepository {
  /** `conflict` when the id exists. */
  insertRecord(collection: string, record: RecordRow): Promise<void>;
  findRecord(collection: string, id: string): Promise<RecordRow | null>;
  /**
   * `findRecord` for a change of the record: inside a transaction it holds
   * the row until the transaction ends (PostgreSQL: FOR UPDATE; SQLite's
   * writer is exclusive anyway), so concurrent changes of one record queue
   * instead of losing their compare-and-set and retrying.
   */
  findRecordToChange(collection: string, id: string): Promise<RecordRow | null>;
  /** `findRecord` with the user fields left as their stored JSON text, for answering reads. */
  readRecord(collection: string, id: string): Promise<StoredRecord | null>;
  /**
   * Stores `record` (its data, updatedAt and version) if the stored version is
   * still `expectedVersion` (compare-and-set). False when the record is gone
   * or was changed meanwhile.
   */
  updateRecord(collection: string, record: RecordRow, expectedVersion: number): Promise<boolean>;
  /** Deletes if the stored version is `expectedVersion`. False otherwise. */
  deleteRecord(collection: string, id: string, expectedVersion: number): Promise<boolean>;
  /**
   * The records of `ids` that exist (in no particular order), user fields as
   * stored JSON text: for expansions. With `bound` the read may stop early
   * (see `ReadBound`).
   */
  readRecords(collection: string, ids: readonly string[], bound?: ReadBound): Promise<StoredRecord[]>;
  /** Records in id order after `afterId`, for batch checks over a whole collection. */
  scanRecords(collection: string, afterId: string | undefined, limit: number): Promise<RecordRow[]>;
  /** How many records the collection holds (a full count: for the admin status, not for hot paths). */
  countRecords(collection: string): Promise<number>;
  /**
   * Runs a list query. `seq` is the change-log position the rows reflect: in
   * the same snapshot, every change with seq <= it is visible and none above.
   * Rows keep their user fields as stored JSON text (lists are answered
   * without parsing them).
   */
  queryRecords(collection: string, query: RecordQuery): Promise<RecordPage>;
}

/** A relation field's reference from one record to another (a row of `record_refs`). */
export interface RecordRef {
  /** The referencing record's collection and id, and its relation field. */
  readonly source: string;
  readonly sourceId: string;
  readonly field: string;
  /** `refTarget(relation.collection)`: a collection name, or "@users". */
  readonly target: string;
  readonly targetId: string;
}

/** A record found through a back-relation: `parent` is the id it references. */
export interface ReferringRecord {
  readonly parent: string;
  readonly record: StoredRecord;
}

/**
 * The references of relation fields, kept beside the records (SPEC §4.6):
 * every write of a record with relations replaces its rows in the same
 * transaction, so "who references this record" is one indexed lookup for
 * single and array relations alike, and deleting a record can restrict,
 * cascade or set null without scanning any collection.
 */
export interface RelationRepository {
  /**
   * Of `ids` in `target` (a collection name, or "@users"), those that exist.
   * Inside a transaction on PostgreSQL the found rows are held (FOR KEY
   * SHARE) until it ends: a concurrent delete of one waits, then sees the
   * reference this transaction writes; a delete that got there first makes
   * the row missing here.
   */
  lockTargets(target: string, ids: readonly string[]): Promise<Set<string>>;
  /** Replaces every reference from record `sourceId` of `source` with `refs` (all of that record). */
  replaceRefs(source: string, sourceId: string, refs: readonly RecordRef[]): Promise<void>;
  /** References to record `targetId` of `target`, at most `limit`, ordered by source, source id and field. */
  findReferrers(target: string, targetId: string, limit: number): Promise<RecordRef[]>;
  /** Drops the references from records of `source` (all, or one field's): its collection is deleted, or its relations are rebuilt. */
  dropRefs(source: string, field?: string): Promise<void>;
  /** Id and username of each of `ids` that is a user (what users expand to). */
  findUserNames(ids: readonly string[]): Promise<{ readonly id: string; readonly username: string }[]>;
  /**
   * Back-relation reads: for each of `parents`, the records of `source` whose
   * `field` references it (`target` is the parents' `refTarget`), only those
   * matching `scope` (the caller's read scope; null: every record), newest
   * first (createdAt, then id, descending), at most `perParent` per parent.
   * One statement, however many parents. With `bound` the read may stop
   * early (see `ReadBound`).
   */
  findReferringRecords(source: string, field: string, target: string, parents: readonly string[], scope: FilterNode | null, perParent: number, bound?: ReadBound): Promise<ReferringRecord[]>;
}

export interface ChangeRepository {
  /**
   * Appends a change in the current transaction and returns its seq. Seqs are
   * assigned so that seq order is commit order (no later-committed change gets
   * a lower seq), which makes `seq > last` tailing lossless, and the changes
   * of one transaction take contiguous seqs (no other transaction's change
   * falls between them), the last one appended with `txEnd`.
   */
  appendChange(change: NewChange): Promise<number>;
  /**
   * `appendChange` for several changes, in order, with consecutive seqs, in
   * one step (a batch's changes: on PostgreSQL the change counter stays
   * locked from the first append to the commit, so one statement instead of
   * one per change keeps that serial section short). Returns their seqs.
   */
  appendChanges(changes: readonly NewChange[]): Promise<number[]>;
  /**
   * The seq of the change that ends the transaction of change `seq` (the
   * first change at or after it with `txEnd`); null when there is none. A
   * transaction commits whole, so once one of its changes is readable its end
   * is too. Replays, which read one collection's changes, use it to know
   * where a transaction that went on in other collections ended.
   */
  findTransactionEnd(seq: number): Promise<number | null>;
  /** Changes with seq > `afterSeq`, ascending, at most `limit`. */
  readChanges(afterSeq: number, limit: number): Promise<ChangeRow[]>;
  /**
   * The changes of one collection (by its `id`) with seq > `afterSeq`,
   * ascending, through an index: at most `limit`, and no more once their
   * JSON passes `maxChars` characters (at least one, however large). For
   * replays, which must not read the whole log nor hold it in memory.
   */
  readCollectionChanges(collectionId: string, afterSeq: number, limit: number, maxChars: number): Promise<ChangeRow[]>;
  /** The highest committed seq; 0 before the first change. Pruning never lowers it. */
  latestSeq(): Promise<number>;
  /** The lowest seq still in the log, or null when empty (older ones were pruned). */
  oldestSeq(): Promise<number | null>;
  /**
   * Deletes changes created before `before` (ISO). Returns how many. Only a
   * prefix of the log goes (up to the first change created at or after
   * `before`), so the log stays one gap-free range from `oldestSeq` on even
   * when writers' clocks disagree.
   */
  pruneChanges(before: string): Promise<number>;
}

/** The operations available inside a transaction. */
export interface StoreTransaction {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly passwordResets: PasswordResetRepository;
  readonly oauth: OAuthRepository;
  readonly emailVerifications: EmailVerificationRepository;
  readonly twoFactor: TwoFactorRepository;
  readonly collections: CollectionRepository;
  readonly records: RecordRepository;
  readonly changes: ChangeRepository;
  readonly relations: RelationRepository;
}

export type Dialect = 'sqlite' | 'postgres';

export interface TransactionOptions {
  /**
   * PostgreSQL only (SQLite transactions are always serial). `serializable`
   * (the default) suits read-check-write logic such as "not the last admin".
   * `read committed` suits record writes, whose safety comes from row locks
   * and compare-and-set updates; it avoids serialization retries under
   * concurrent writers. On PostgreSQL such transactions of one instance
   * share database transactions and commits (postgres-group-commit.ts), as
   * every transaction does on SQLite: they run one after another, and `fn`
   * must not wait for another transaction of the same store.
   */
  readonly isolation?: 'serializable' | 'read committed';
}

export interface PoolStats {
  /** Connections open (idle or lent out). */
  readonly total: number;
  readonly idle: number;
  /** Queries waiting for a connection. */
  readonly waiting: number;
  readonly max: number;
}

/**
 * Everything Sigil keeps. Operations outside `transaction` commit on their
 * own (one that takes several statements, such as `insertCollection`, in a
 * transaction of its own). Implementations: `openSqliteStore`,
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
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /** The connection pool's use, for metrics; null when the engine has no pool (SQLite: one writer, one reader). */
  poolStats(): PoolStats | null;
  /** Closes connections; later calls fail. */
  close(): Promise<void>;
}
