import Database from 'better-sqlite3';
import type { Role } from '@sigil/protocol';
import { AppError } from '../../core/errors.js';
import type { SessionRow, Store, StoreTransaction, UserRow } from '../../core/storage/store.js';
import { makeSqliteChangeRepository, prepareChangeReads, prepareChangeWrites, type ChangeReads, type ChangeWrites } from './sqlite-changes.js';
import {
  makeSqliteCollectionRepository, prepareCollectionReads, prepareCollectionWrites, type CollectionReads, type CollectionWrites,
} from './sqlite-collections.js';
import { translateSqliteError } from './sqlite-errors.js';
import { migrateSqlite } from './sqlite-migrations.js';
import { createGroupCommit, Mutex } from './sqlite-group-commit.js';
import { ReadCache } from './sqlite-read-cache.js';
import { makeSqliteRecordRepository, SqliteRecordStatements } from './sqlite-records.js';
import { makeSqliteRelationRepository, prepareRelationStatements, type RelationStatements } from './sqlite-relations.js';
import { isoText } from './sqlite-time.js';
import { makeSqliteOAuthRepository, prepareOAuthStatements, type OAuthStatements } from './sqlite-oauth.js';
import { makeSqliteEmailVerificationRepository, prepareEmailVerificationReads, prepareEmailVerificationWrites } from './sqlite-email-verifications.js';
import { makeSqliteTwoFactorRepository, prepareTwoFactorReads, prepareTwoFactorWrites, type TwoFactorReads, type TwoFactorWrites } from './sqlite-two-factor.js';
import { preparePrivateDatabaseFile } from './sqlite-files.js';

type Db = Database.Database;

interface UserRecord {
  id: string; username: string; email: string | null; email_verified: number; password_hash: string;
  role: string; disabled: number; created_at: string; updated_at: string; two_factor_enabled: number;
}
interface SessionRecord { id: string; user_id: string; created_at: string; expires_at: string; revoked_at: string | null }
interface IdentityRecord extends UserRecord {
  s_id: string; s_created_at: string; s_expires_at: string; s_revoked_at: string | null;
}
interface TokenRecord { token_hash: string; session_id: string; created_at: string; used_at: string | null }
interface ResetRecord { token_hash: string; user_id: string; created_at: string; expires_at: string; used_at: string | null }

const USER = 'id, username, email, email_verified, password_hash, role, disabled, created_at, updated_at, two_factor_enabled';
const SESSION = 'id, user_id, created_at, expires_at, revoked_at';

/** Statements that only read; prepared on the reader and on the writer (for reads inside transactions). */
function prepareReads(db: Db) {
  return {
    userById: db.prepare<[string], UserRecord>(`SELECT ${USER} FROM users WHERE id = ?`),
    userByName: db.prepare<[string], UserRecord>(`SELECT ${USER} FROM users WHERE username = ?`),
    usersFirst: db.prepare<[number], UserRecord>(`SELECT ${USER} FROM users ORDER BY id LIMIT ?`),
    usersAfter: db.prepare<[string, number], UserRecord>(`SELECT ${USER} FROM users WHERE id > ? ORDER BY id LIMIT ?`),
    usersMatching: db.prepare<{ after: string; search: string; limit: number }, UserRecord>(
      `SELECT ${USER} FROM users WHERE id > @after AND (instr(username, @search) > 0 OR instr(lower(coalesce(email, '')), @search) > 0) ORDER BY id LIMIT @limit`),
    activeAdmins: db.prepare<[], number>(`SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0`).pluck(),
    userCount: db.prepare<[], number>('SELECT count(*) FROM users').pluck(),
    session: db.prepare<[string], SessionRecord>(`SELECT ${SESSION} FROM sessions WHERE id = ?`),
    // The per-request hot path: one statement, one B-tree lookup per table.
    identity: db.prepare<[string], IdentityRecord>(
      `SELECT u.id, u.username, u.email, u.email_verified, u.password_hash, u.role, u.disabled, u.created_at, u.updated_at, u.two_factor_enabled,
              s.id AS s_id, s.created_at AS s_created_at, s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`,
    ),
    token: db.prepare<[string], TokenRecord>('SELECT token_hash, session_id, created_at, used_at FROM refresh_tokens WHERE token_hash = ?'),
    usersByEmail: db.prepare<[string, number], UserRecord>(`SELECT ${USER} FROM users WHERE lower(email) = lower(?) AND email IS NOT NULL ORDER BY id LIMIT ?`),
    liveReset: db.prepare<[string, string], ResetRecord>(
      'SELECT token_hash, user_id, created_at, expires_at, used_at FROM password_resets WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?'),
    ...prepareEmailVerificationReads(db),
  };
}

function prepareWrites(db: Db) {
  return {
    insertUser: db.prepare<[Record<string, string | number | null>], UserRecord>(
      `INSERT INTO users (id, username, email, email_verified, password_hash, role, disabled, created_at, updated_at)
       VALUES (@id, @username, @email, @emailVerified, @passwordHash, @role, 0, @createdAt, @createdAt) RETURNING ${USER}`,
    ),
    // One statement for any subset of changes: a flag per nullable column, COALESCE for the rest.
    updateUser: db.prepare<[Record<string, string | number | null>], UserRecord>(
      `UPDATE users SET
         email = CASE WHEN @setEmail THEN @email ELSE email END,
         email_verified = coalesce(@emailVerified, email_verified),
         password_hash = coalesce(@passwordHash, password_hash),
         role = coalesce(@role, role),
         disabled = coalesce(@disabled, disabled),
         updated_at = @updatedAt
       WHERE id = @id RETURNING ${USER}`,
    ),
    deleteUser: db.prepare<[string]>('DELETE FROM users WHERE id = ?'),
    insertSession: db.prepare<[string, string, string, string]>(
      'INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
    ),
    revokeSession: db.prepare<[string, string]>('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    revokeUserSessions: db.prepare<[string, string, string | null], string>(
      'UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ? RETURNING id',
    ).pluck(),
    insertToken: db.prepare<[string, string, string]>(
      'INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)',
    ),
    // Compare-and-set: only the first caller finds used_at still NULL.
    markTokenUsed: db.prepare<[string, string]>('UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL'),
    deleteStale: db.prepare<[string, string]>('DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?'),
    insertReset: db.prepare<[string, string, string, string]>(
      'INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)'),
    // Compare-and-set, as for refresh tokens.
    consumeReset: db.prepare<[string, string, string], string>(
      'UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id').pluck(),
    endUserResets: db.prepare<[string, string]>('UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL'),
    deleteStaleResets: db.prepare<[string, string]>('DELETE FROM password_resets WHERE expires_at < ? OR used_at < ?'),
    ...prepareEmailVerificationWrites(db),
  };
}

type Reads = ReturnType<typeof prepareReads>;
type Writes = ReturnType<typeof prepareWrites>;
/** Runs a synchronous statement on the right connection: immediately when it can, else after the lock. */
export type Exec<S> = <T>(op: (s: S) => T) => T | Promise<T>;

/** Everything prepared on one connection for reading. */
interface ReadSide {
  readonly base: Reads;
  readonly collections: CollectionReads;
  readonly records: SqliteRecordStatements;
  readonly changes: ChangeReads;
  readonly relations: RelationStatements;
  readonly oauth: OAuthStatements;
  readonly twoFactor: TwoFactorReads;
}
/** Everything prepared on the writer for writing. */
interface WriteSide {
  readonly base: Writes;
  readonly collections: CollectionWrites;
  readonly records: SqliteRecordStatements;
  readonly changes: ChangeWrites;
  readonly relations: RelationStatements;
  readonly oauth: OAuthStatements;
  readonly twoFactor: TwoFactorWrites;
}

function prepareReadSide(db: Db, cache: ConstructorParameters<typeof SqliteRecordStatements>[1]): ReadSide {
  return { base: prepareReads(db), collections: prepareCollectionReads(db), records: new SqliteRecordStatements(db, cache), changes: prepareChangeReads(db), relations: prepareRelationStatements(db), oauth: prepareOAuthStatements(db), twoFactor: prepareTwoFactorReads(db) };
}
function prepareWriteSide(db: Db, records: SqliteRecordStatements, relations: RelationStatements): WriteSide {
  return { base: prepareWrites(db), collections: prepareCollectionWrites(db), records, changes: prepareChangeWrites(db), relations, oauth: prepareOAuthStatements(db), twoFactor: prepareTwoFactorWrites(db) };
}

/** The same runner, handed one part of the statements. */
const narrow = <A, B>(exec: Exec<A>, pick: (a: A) => B): Exec<B> => (op) => exec((a) => op(pick(a)));

function toUser(r: UserRecord): UserRow {
  return {
    id: r.id, username: r.username, email: r.email, emailVerified: r.email_verified === 1, passwordHash: r.password_hash, role: r.role as Role,
    disabled: r.disabled === 1, twoFactorEnabled: r.two_factor_enabled === 1, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}
function toSession(r: SessionRecord): SessionRow {
  return { id: r.id, userId: r.user_id, createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at };
}
const userOrNull = (r: UserRecord | undefined): UserRow | null => (r === undefined ? null : toUser(r));

/** Applies `map` without an extra microtask when the value is already there (the uncontended path). */
function then<T, R>(value: T | Promise<T>, map: (v: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(map) : map(value);
}


function makeRepositories(readSide: Exec<ReadSide>, writeSide: Exec<WriteSide>, forget: (collection: string) => void): StoreTransaction {
  const read = narrow(readSide, (s) => s.base);
  const write = narrow(writeSide, (s) => s.base);
  return {
    collections: makeSqliteCollectionRepository(narrow(readSide, (s) => s.collections), narrow(writeSide, (s) => s.collections), forget),
    records: makeSqliteRecordRepository(narrow(readSide, (s) => s.records), narrow(writeSide, (s) => s.records)),
    changes: makeSqliteChangeRepository(narrow(readSide, (s) => s.changes), narrow(writeSide, (s) => s.changes)),
    relations: makeSqliteRelationRepository(readSide, writeSide),
    oauth: makeSqliteOAuthRepository(narrow(readSide, (s) => s.oauth), narrow(writeSide, (s) => s.oauth)),
    emailVerifications: makeSqliteEmailVerificationRepository(read, write),
    twoFactor: makeSqliteTwoFactorRepository(narrow(readSide, (s) => s.twoFactor), narrow(writeSide, (s) => s.twoFactor)),
    users: {
      async insertUser(u) {
        const params = {
          id: u.id, username: u.username.toLowerCase(), email: u.email, emailVerified: Number(u.emailVerified ?? false),
          passwordHash: u.passwordHash, role: u.role, createdAt: isoText(u.createdAt),
        };
        return then(write((s) => s.insertUser.get(params)), (r) => toUser(r!));
      },
      async findUserById(id) { return then(read((s) => s.userById.get(id)), userOrNull); },
      async findUserByUsername(name) { return then(read((s) => s.userByName.get(name.toLowerCase())), userOrNull); },
      async findUsersByEmail(email, limit) { return then(read((s) => s.usersByEmail.all(email, limit)), (rows) => rows.map(toUser)); },
      async listUsers({ limit, afterId, search }) {
        const rows = read((s) => (search ? s.usersMatching.all({ after: afterId ?? '', search, limit }) : afterId === undefined ? s.usersFirst.all(limit) : s.usersAfter.all(afterId, limit)));
        return then(rows, (list) => list.map(toUser));
      },
      async updateUser(id, c) {
        const params = {
          id, setEmail: c.email === undefined ? 0 : 1, email: c.email ?? null, passwordHash: c.passwordHash ?? null,
          emailVerified: c.emailVerified === undefined ? null : Number(c.emailVerified),
          role: c.role ?? null, disabled: c.disabled === undefined ? null : Number(c.disabled), updatedAt: isoText(c.updatedAt),
        };
        return then(write((s) => s.updateUser.get(params)), userOrNull);
      },
      async deleteUser(id) { return then(write((s) => s.deleteUser.run(id).changes), (n) => n > 0); },
      async countActiveAdmins() { return then(read((s) => s.activeAdmins.get()), (n) => n ?? 0); },
      // The writer is exclusive: a transaction already runs alone.
      async lockAdminChanges() {},
      async countUsers() { return then(read((s) => s.userCount.get()), (n) => n ?? 0); },
    },
    sessions: {
      async insertSession(x) {
        return then(write((s) => s.insertSession.run(x.id, x.userId, isoText(x.createdAt), isoText(x.expiresAt))), () => undefined);
      },
      async findSession(id) { return then(read((s) => s.session.get(id)), (r) => (r === undefined ? null : toSession(r))); },
      async findSessionIdentity(sessionId) {
        return then(read((s) => s.identity.get(sessionId)), (r) => r === undefined ? null : {
          user: toUser(r),
          session: { id: r.s_id, userId: r.id, createdAt: r.s_created_at, expiresAt: r.s_expires_at, revokedAt: r.s_revoked_at },
        });
      },
      async revokeSession(id, at) { return then(write((s) => s.revokeSession.run(isoText(at), id)), () => undefined); },
      async revokeUserSessions(userId, at, except) {
        return write((s) => s.revokeUserSessions.all(isoText(at), userId, except ?? null));
      },
      async insertRefreshToken(t) {
        return then(write((s) => s.insertToken.run(t.tokenHash, t.sessionId, isoText(t.createdAt))), () => undefined);
      },
      async findRefreshToken(hash) {
        return then(read((s) => s.token.get(hash)), (r) => r === undefined ? null
          : { tokenHash: r.token_hash, sessionId: r.session_id, createdAt: r.created_at, usedAt: r.used_at });
      },
      async markRefreshTokenUsed(hash, at) { return then(write((s) => s.markTokenUsed.run(isoText(at), hash).changes), (n) => n === 1); },
      async deleteStaleSessions(before) {
        const t = isoText(before);
        return then(write((s) => s.deleteStale.run(t, t).changes), Number);
      },
    },
    passwordResets: {
      async insertPasswordReset(r) {
        return then(write((s) => s.insertReset.run(r.tokenHash, r.userId, isoText(r.createdAt), isoText(r.expiresAt))), () => undefined);
      },
      async findLivePasswordReset(hash, at) {
        return then(read((s) => s.liveReset.get(hash, isoText(at))), (r) => r === undefined ? null
          : { tokenHash: r.token_hash, userId: r.user_id, createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at });
      },
      async consumePasswordReset(hash, at) {
        const t = isoText(at);
        return then(write((s) => s.consumeReset.get(t, hash, t)), (id) => id ?? null);
      },
      async endUserPasswordResets(userId, at) { return then(write((s) => s.endUserResets.run(isoText(at), userId).changes), Number); },
      async deleteStalePasswordResets(before) {
        const t = isoText(before);
        return then(write((s) => s.deleteStaleResets.run(t, t).changes), Number);
      },
    },
  };
}

function guarded<S, T>(stmts: S, op: (s: S) => T): T {
  try {
    return op(stmts);
  } catch (error) {
    throw translateSqliteError(error);
  }
}

function connect(filename: string, readonly: boolean, onStatement: ((sql: string) => void) | undefined): Db {
  // `verbose` only when asked for: better-sqlite3 then reports every statement it runs.
  const db = new Database(filename, { readonly, fileMustExist: readonly, ...(onStatement === undefined ? {} : { verbose: (sql: unknown) => onStatement(String(sql)) }) });
  // Wait for another process's write lock instead of failing at once.
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * Opens (creating if needed) the SQLite database at `filename` and migrates it.
 *
 * better-sqlite3 is synchronous but the Store is async, so a transaction's
 * `fn` can await while its BEGIN is open on the connection. To keep other
 * work out of it: every write and transaction goes through one writer
 * connection behind an async mutex, and reads outside transactions use a
 * separate read-only connection, which in WAL mode sees the last committed
 * state and never blocks. With no transaction open, a write or read runs
 * synchronously with no extra await. `:memory:` has no second connection, so
 * there reads also wait for an open transaction.
 */
export async function openSqliteStore(opts: {
  readonly filename: string;
  /** Memory for the read cache (see `ReadCache`); 0, the default, means none. */
  readonly readCacheBytes?: number;
  /** Tests only: told the SQL of every statement run, on either connection. */
  readonly onStatement?: (sql: string) => void;
}): Promise<Store> {
  const memory = opts.filename === ':memory:';
  if (!memory) preparePrivateDatabaseFile(opts.filename);
  let writer: Db | undefined;
  let reader: Db | undefined;
  try {
    writer = connect(opts.filename, false, opts.onStatement);
    if (!memory) {
      // WAL: readers see committed data while a write is in progress. NORMAL sync
      // in WAL survives a process crash (SIGKILL); only an OS crash may lose the
      // last commits: the usual trade for ~10x fewer fsyncs.
      writer.pragma('journal_mode = WAL');
      writer.pragma('synchronous = NORMAL');
      // Checkpoints (which fsync) every ~40 MB of WAL instead of every ~4 MB:
      // measured here, a commit costs ~150 µs with the default and ~90 µs with this.
      writer.pragma('wal_autocheckpoint = 10000');
    }
    migrateSqlite(writer);
    reader = memory ? writer : connect(opts.filename, true, opts.onStatement);
    return createStore(writer, reader, opts.readCacheBytes ?? 0);
  } catch (error) {
    reader?.close();
    writer?.close();
    throw translateSqliteError(error);
  }
}

function createStore(writer: Db, reader: Db, readCacheBytes: number): Store {
  const mutex = new Mutex();
  const separateReader = reader !== writer;
  // Only a separate reader answers from the cache: the writer's reads happen
  // inside transactions, and a connection's data_version does not move on its
  // own commits. The writer tells the cache what it changes.
  const cache = separateReader && readCacheBytes > 0 ? new ReadCache(reader, readCacheBytes) : undefined;
  const readerReads = prepareReadSide(reader, cache && { cache, serveReads: true });
  const writerReads = separateReader ? prepareReadSide(writer, cache && { cache, serveReads: false }) : readerReads;
  const writes = prepareWriteSide(writer, writerReads.records, writerReads.relations);
  // A collection's table changed: its cached record statements go, on both connections.
  const forget = (collection: string): void => {
    readerReads.records.forget(collection);
    writerReads.records.forget(collection);
  };
  let closed = false;
  let closing: Promise<void> | undefined;

  const assertOpen = (): void => {
    if (closed) throw new AppError('unavailable', 'The store is closed.');
  };
  const read: Exec<ReadSide> = (op) => {
    assertOpen();
    if (separateReader || !mutex.locked) return guarded(readerReads, op);
    return mutex.run(() => (assertOpen(), guarded(readerReads, op)));
  };
  // Every write reaches the read cache in the tick it commits (or fails) in.
  const ended = <T>(value: T): T => {
    cache?.writeEnded();
    return value;
  };
  const write: Exec<WriteSide> = (op) => {
    assertOpen();
    // One statement is atomic on its own; it only has to keep out of an open transaction.
    if (!mutex.locked) return ended(guarded(writes, op));
    // Re-checked after the wait: close() may have run meanwhile.
    return mutex.run(() => (assertOpen(), ended(guarded(writes, op))));
  };

  const groupCommit = createGroupCommit({
    writer,
    mutex,
    isClosed: () => closed,
    // A tx object that escapes `fn` must not write into a later transaction.
    repositories: (isActive, wrote) => {
      const inTx = <S>(stmts: S, onUse?: () => void): Exec<S> => (op) => {
        if (!isActive()) throw new Error('This transaction has already finished.');
        onUse?.();
        return guarded(stmts, op);
      };
      return makeRepositories(inTx(writerReads), inTx(writes, wrote), forget);
    },
    ended: () => ended(undefined),
  });

  return {
    dialect: 'sqlite',
    poolStats: () => null,
    ...makeRepositories(read, write, forget),
    // Note: inside `fn`, use `tx`; calling the store itself would wait for this very transaction.
    async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
      assertOpen();
      return groupCommit.enqueue(fn);
    },
    async ping() {
      assertOpen();
      guarded(reader, (db) => db.prepare('SELECT 1').get());
    },
    close() {
      // Let queued transactions finish, then refuse new work.
      closing ??= mutex.run(() => {
        closed = true;
        if (separateReader) reader.close();
        writer.close();
      });
      return closing;
    },
  };
}
