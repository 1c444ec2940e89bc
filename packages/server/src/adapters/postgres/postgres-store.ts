import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Role } from '@sigil/protocol';
import { AppError } from '../../core/errors.js';
import type { SessionRow, Store, StoreTransaction, TransactionOptions, UserRow } from '../../core/storage/store.js';
import { makePostgresChangeRepository } from './postgres-changes.js';
import { makePostgresCollectionRepository } from './postgres-collections.js';
import { isRetryableTransactionError, isUserReferenceViolation, translatePostgresError } from './postgres-errors.js';
import { migratePostgres } from './postgres-migrations.js';
import { makePostgresRelationRepository } from './postgres-relations.js';
import { makePostgresRecordRepository } from './postgres-records.js';
import { makePostgresOAuthRepository } from './postgres-oauth.js';
import { makePostgresEmailVerificationRepository } from './postgres-email-verifications.js';
import { makePostgresTwoFactorRepository } from './postgres-two-factor.js';
import { createPostgresGroupCommit } from './postgres-group-commit.js';
import { PostgresReadCache } from './postgres-read-cache.js';

interface UserRecord {
  id: string; username: string; email: string | null; email_verified: boolean; password_hash: string;
  role: string; disabled: boolean; created_at: Date; updated_at: Date; two_factor_enabled: boolean;
}
interface SessionRecord { id: string; user_id: string; created_at: Date; expires_at: Date; revoked_at: Date | null }
interface IdentityRecord extends UserRecord { s_id: string; s_created_at: Date; s_expires_at: Date; s_revoked_at: Date | null }
interface TokenRecord { token_hash: string; session_id: string; created_at: Date; used_at: Date | null }
interface ResetRecord { token_hash: string; user_id: string; created_at: Date; expires_at: Date; used_at: Date | null }

/**
 * Runs one query on the pool or on a transaction's client. A `name` makes pg
 * prepare it once per connection (fixed statements, and the first shapes of
 * compiled list queries: `listStatementName`); `undefined` runs it unnamed
 * (SQL that varies without bound, which would otherwise pile up prepared
 * statements on every connection).
 */
export type Run = <R extends pg.QueryResultRow>(name: string | undefined, text: string, values: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * Runs `fn` atomically: in the caller's transaction when there is one, else
 * in a transaction of its own (for multi-statement operations such as
 * creating a collection's row, table and indexes).
 */
export type Atomic = <T>(fn: (run: Run) => Promise<T>) => Promise<T>;

type Isolation = NonNullable<TransactionOptions['isolation']>;

const USER = 'id, username, email, email_verified, password_hash, role, disabled, created_at, updated_at, two_factor_enabled';
const SESSION = 'id, user_id, created_at, expires_at, revoked_at';

/** Key of the advisory lock of changes that may take away an admin (`lockAdminChanges`): "admins" in ASCII. */
const ADMIN_CHANGES_LOCK_KEY = 107_112_509_238_899;

/** How often a transaction is re-run after a serialization failure or deadlock before giving up. */
const MAX_TRANSACTION_ATTEMPTS = 10;

/** Exponential backoff with full jitter, so transactions that collided spread out. */
const pauseBeforeRetry = (attempt: number): Promise<void> => sleep(Math.random() * Math.min(200, 2 ** (attempt + 1)));

const iso = (d: Date): string => d.toISOString();
const isoOrNull = (d: Date | null): string | null => (d === null ? null : d.toISOString());

function toUser(r: UserRecord): UserRow {
  return {
    id: r.id, username: r.username, email: r.email, emailVerified: r.email_verified, passwordHash: r.password_hash, role: r.role as Role,
    disabled: r.disabled, twoFactorEnabled: r.two_factor_enabled, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  };
}
function toSession(r: SessionRecord): SessionRow {
  return { id: r.id, userId: r.user_id, createdAt: iso(r.created_at), expiresAt: iso(r.expires_at), revokedAt: isoOrNull(r.revoked_at) };
}
const first = <R extends pg.QueryResultRow>(result: pg.QueryResult<R>): R | undefined => result.rows[0];

/**
 * The repositories over one way of running a query (the pool, or a
 * transaction's client). Fixed queries are named, so pg prepares them once
 * per connection and later runs skip parsing and planning. `atomic` is how
 * the pool side runs a multi-statement operation in a transaction of its
 * own; null inside a transaction, which already is one.
 */
function makeRepositories(run: Run, atomic: Atomic | null, cache?: PostgresReadCache): StoreTransaction {
  return {
    collections: makePostgresCollectionRepository(run, atomic),
    records: makePostgresRecordRepository(run, cache),
    changes: makePostgresChangeRepository(run),
    relations: makePostgresRelationRepository(run),
    oauth: makePostgresOAuthRepository(run),
    emailVerifications: makePostgresEmailVerificationRepository(run),
    twoFactor: makePostgresTwoFactorRepository(run, atomic),
    users: {
      async insertUser(u) {
        const result = await run<UserRecord>('sigil_insert_user',
          `INSERT INTO users (id, username, email, password_hash, role, disabled, created_at, updated_at, email_verified)
           VALUES ($1, $2, $3, $4, $5, false, $6, $6, $7) RETURNING ${USER}`,
          [u.id, u.username.toLowerCase(), u.email, u.passwordHash, u.role, u.createdAt, u.emailVerified ?? false]);
        return toUser(first(result)!);
      },
      async findUserById(id) {
        const row = first(await run<UserRecord>('sigil_user_by_id', `SELECT ${USER} FROM users WHERE id = $1`, [id]));
        return row === undefined ? null : toUser(row);
      },
      async findUserByUsername(username) {
        const row = first(await run<UserRecord>('sigil_user_by_name', `SELECT ${USER} FROM users WHERE username = $1`,
          [username.toLowerCase()]));
        return row === undefined ? null : toUser(row);
      },
      async findUsersByEmail(email, limit) {
        const result = await run<UserRecord>('sigil_users_by_email',
          `SELECT ${USER} FROM users WHERE lower(email) = lower($1) AND email IS NOT NULL ORDER BY id LIMIT $2`, [email, limit]);
        return result.rows.map(toUser);
      },
      async listUsers({ limit, afterId, search }) {
        const result = search
          ? await run<UserRecord>('sigil_users_matching', `SELECT ${USER} FROM users WHERE id > $1 AND (strpos(username, $2) > 0 OR strpos(lower(coalesce(email, '')), $2) > 0) ORDER BY id LIMIT $3`, [afterId ?? '', search, limit])
          : afterId === undefined
          ? await run<UserRecord>('sigil_users_first', `SELECT ${USER} FROM users ORDER BY id LIMIT $1`, [limit])
          : await run<UserRecord>('sigil_users_after', `SELECT ${USER} FROM users WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
        return result.rows.map(toUser);
      },
      async updateUser(id, c) {
        // One statement for any subset of changes: a flag for the nullable column, coalesce for the rest.
        const row = first(await run<UserRecord>('sigil_update_user',
          `UPDATE users SET
             email = CASE WHEN $2::boolean THEN $3::text ELSE email END,
             password_hash = coalesce($4::text, password_hash),
             role = coalesce($5::text, role),
             disabled = coalesce($6::boolean, disabled),
             updated_at = $7::timestamptz,
             email_verified = coalesce($8::boolean, email_verified)
           WHERE id = $1 RETURNING ${USER}`,
          [id, c.email !== undefined, c.email ?? null, c.passwordHash ?? null, c.role ?? null, c.disabled ?? null, c.updatedAt, c.emailVerified ?? null]));
        return row === undefined ? null : toUser(row);
      },
      async deleteUser(id) {
        return ((await run('sigil_delete_user', 'DELETE FROM users WHERE id = $1', [id])).rowCount ?? 0) > 0;
      },
      async countActiveAdmins() {
        const result = await run<{ n: number }>('sigil_count_admins',
          `SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND NOT disabled`, []);
        return first(result)?.n ?? 0;
      },
      async lockAdminChanges() {
        await run('sigil_lock_admins', 'SELECT pg_advisory_xact_lock($1)', [ADMIN_CHANGES_LOCK_KEY]);
      },
      async countUsers() {
        return first(await run<{ n: number }>('sigil_count_users', 'SELECT count(*)::int AS n FROM users', []))?.n ?? 0;
      },
    },
    sessions: {
      async insertSession(s) {
        await run('sigil_insert_session', 'INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)',
          [s.id, s.userId, s.createdAt, s.expiresAt]);
      },
      async findSession(id) {
        const row = first(await run<SessionRecord>('sigil_session', `SELECT ${SESSION} FROM sessions WHERE id = $1`, [id]));
        return row === undefined ? null : toSession(row);
      },
      async findSessionIdentity(sessionId) {
        // The per-request hot path: one prepared statement, two primary-key lookups.
        const row = first(await run<IdentityRecord>('sigil_session_identity',
          `SELECT u.id, u.username, u.email, u.email_verified, u.password_hash, u.role, u.disabled, u.created_at, u.updated_at, u.two_factor_enabled,
                  s.id AS s_id, s.created_at AS s_created_at, s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`, [sessionId]));
        if (row === undefined) return null;
        return {
          user: toUser(row),
          session: { id: row.s_id, userId: row.id, createdAt: iso(row.s_created_at), expiresAt: iso(row.s_expires_at), revokedAt: isoOrNull(row.s_revoked_at) },
        };
      },
      async revokeSession(id, at) {
        await run('sigil_revoke_session', 'UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [id, at]);
      },
      async revokeUserSessions(userId, at, exceptSessionId) {
        const result = await run<{ id: string }>('sigil_revoke_user_sessions',
          `UPDATE sessions SET revoked_at = $2
            WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3::text RETURNING id`,
          [userId, at, exceptSessionId ?? null]);
        return result.rows.map((r) => r.id);
      },
      async insertRefreshToken(t) {
        await run('sigil_insert_token', 'INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)',
          [t.tokenHash, t.sessionId, t.createdAt]);
      },
      async findRefreshToken(tokenHash) {
        const row = first(await run<TokenRecord>('sigil_token',
          'SELECT token_hash, session_id, created_at, used_at FROM refresh_tokens WHERE token_hash = $1', [tokenHash]));
        return row === undefined ? null
          : { tokenHash: row.token_hash, sessionId: row.session_id, createdAt: iso(row.created_at), usedAt: isoOrNull(row.used_at) };
      },
      async markRefreshTokenUsed(tokenHash, at) {
        // Compare-and-set: a concurrent UPDATE waits for the row lock, re-checks
        // `used_at IS NULL` on the new version and matches nothing.
        const result = await run('sigil_mark_token_used',
          'UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL', [tokenHash, at]);
        return result.rowCount === 1;
      },
      async deleteStaleSessions(before) {
        const result = await run('sigil_delete_stale_sessions',
          'DELETE FROM sessions WHERE expires_at < $1::timestamptz OR revoked_at < $1::timestamptz', [before]);
        return result.rowCount ?? 0;
      },
    },
    passwordResets: {
      async insertPasswordReset(r) {
        await run('sigil_insert_reset', 'INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)',
          [r.tokenHash, r.userId, r.createdAt, r.expiresAt]);
      },
      async findLivePasswordReset(tokenHash, at) {
        const row = first(await run<ResetRecord>('sigil_live_reset',
          `SELECT token_hash, user_id, created_at, expires_at, used_at FROM password_resets
            WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz`, [tokenHash, at]));
        return row === undefined ? null
          : { tokenHash: row.token_hash, userId: row.user_id, createdAt: iso(row.created_at), expiresAt: iso(row.expires_at), usedAt: isoOrNull(row.used_at) };
      },
      async consumePasswordReset(tokenHash, at) {
        // Compare-and-set, as for refresh tokens: a concurrent use waits for the row lock and then matches nothing.
        const row = first(await run<{ user_id: string }>('sigil_consume_reset',
          `UPDATE password_resets SET used_at = $2::timestamptz
            WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz RETURNING user_id`, [tokenHash, at]));
        return row?.user_id ?? null;
      },
      async endUserPasswordResets(userId, at) {
        const result = await run('sigil_end_user_resets', 'UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL', [userId, at]);
        return result.rowCount ?? 0;
      },
      async deleteStalePasswordResets(before) {
        const result = await run('sigil_delete_stale_resets',
          'DELETE FROM password_resets WHERE expires_at < $1::timestamptz OR used_at < $1::timestamptz', [before]);
        return result.rowCount ?? 0;
      },
    },
  };
}

const ignore = (): void => undefined;

/**
 * Whether a failed transaction is worth re-running (both: when the key of
 * `record_refs` to users fails at commit). SERIALIZABLE: on a
 * serialization failure or a deadlock. READ COMMITTED never fails to
 * serialize (a concurrent update waits for the row lock, then re-checks its
 * WHERE on the new row version), but can still deadlock.
 */
function shouldRetry(error: unknown, isolation: Isolation): boolean {
  if (isolation === 'serializable') return isRetryableTransactionError(error);
  return (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '40P01') || isUserReferenceViolation(error);
}

/**
 * Opens a pool on `url` and migrates the database.
 *
 * Transactions run at SERIALIZABLE isolation: the Store promises that
 * transactions never interleave, and a read-then-write such as "refuse to
 * demote the last admin" is only safe if concurrent ones behave as if run one
 * after another (as they are on SQLite). PostgreSQL enforces that by aborting
 * one side of a conflict (40001); the transaction is then re-run from the
 * start, up to MAX_TRANSACTION_ATTEMPTS times, so `fn` must not have effects
 * outside the database.
 *
 * `{ isolation: 'read committed' }` is for record writes: their safety comes
 * from compare-and-set updates, unique keys and row locks (the change-log
 * counter, see postgres-changes.ts), and under SERIALIZABLE every pair of
 * concurrent writers would collide on that counter row and be re-run. Only
 * deadlocks (40P01) are re-run there.
 */
export async function openPostgresStore(opts: {
  readonly url: string;
  readonly max?: number;
  /** The read cache's budget (`READ_CACHE_MB`, postgres-read-cache.ts); default none. */
  readonly readCacheBytes?: number;
  /** Tests only: told the SQL of every statement run through the store (the pool's and transactions'). */
  readonly onStatement?: (sql: string) => void;
}): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 10_000,
    application_name: 'sigil',
  });
  // An idle client losing its connection (server restart, failover) emits
  // 'error' on the pool; unhandled, that would crash the process. The pool
  // drops that client, and the next query reports `unavailable` if need be.
  pool.on('error', ignore);
  try {
    const client = await pool.connect();
    client.on('error', ignore);
    try {
      await migratePostgres(client);
    } finally {
      client.off('error', ignore);
      client.release();
    }
  } catch (error) {
    await pool.end().catch(ignore);
    throw translatePostgresError(error);
  }
  return createStore(pool, opts.readCacheBytes ?? 0, opts.onStatement);
}

function createStore(pool: pg.Pool, readCacheBytes: number, onStatement: ((sql: string) => void) | undefined): Store {
  let closing: Promise<void> | undefined;
  const assertOpen = (): void => {
    if (closing !== undefined) throw new AppError('unavailable', 'The store is closed.');
  };
  const poolRun: Run = async (name, text, values) => {
    assertOpen();
    onStatement?.(text);
    try {
      return await pool.query({ name, text, values });
    } catch (error) {
      throw translatePostgresError(error);
    }
  };

  async function attempt<T>(fn: (run: Run) => Promise<T>, isolation: Isolation): Promise<{ done: true; value: T } | { done: false; error: unknown }> {
    const client = await pool.connect().catch((error: unknown) => {
      throw translatePostgresError(error);
    });
    // A checked-out client has no pool listener: without ours, a dropped
    // connection while `fn` awaits would be an uncaught 'error' event.
    client.on('error', ignore);
    let active = true;
    let conflicted = false;
    let broken = false;
    const run: Run = async (name, text, values) => {
      if (!active) throw new Error('This transaction has already finished.');
      onStatement?.(text);
      try {
        return await client.query({ name, text, values });
      } catch (error) {
        if (shouldRetry(error, isolation)) conflicted = true;
        throw translatePostgresError(error);
      }
    };
    try {
      await client.query(isolation === 'read committed' ? 'BEGIN ISOLATION LEVEL READ COMMITTED' : 'BEGIN ISOLATION LEVEL SERIALIZABLE');
      const value = await fn(run);
      await client.query('COMMIT');
      return { done: true, value };
    } catch (error) {
      // After a failed COMMIT PostgreSQL has already rolled back; ROLLBACK then only warns.
      await client.query('ROLLBACK').catch(() => { broken = true; });
      // `fn` may have caught the 40001 and thrown something else: the flag still says "re-run".
      if (conflicted || shouldRetry(error, isolation)) return { done: false, error };
      throw translatePostgresError(error);
    } finally {
      active = false;
      client.off('error', ignore);
      client.release(broken); // true destroys a client whose connection is in doubt
    }
  }

  async function inTransaction<T>(fn: (run: Run) => Promise<T>, isolation: Isolation): Promise<T> {
    assertOpen();
    for (let attemptNo = 1; ; attemptNo++) {
      const outcome = await attempt(fn, isolation);
      if (outcome.done) return outcome.value;
      if (attemptNo >= MAX_TRANSACTION_ATTEMPTS || closing !== undefined) throw translatePostgresError(outcome.error);
      await pauseBeforeRetry(attemptNo);
    }
  }

  const cache = readCacheBytes > 0 ? new PostgresReadCache(poolRun, readCacheBytes) : undefined;
  const groupCommit = createPostgresGroupCommit({
    pool,
    repositories: (run) => makeRepositories(run, null),
    isRetryable: (error) => shouldRetry(error, 'read committed'),
    translate: translatePostgresError,
    isClosed: () => closing !== undefined,
    maxAttempts: MAX_TRANSACTION_ATTEMPTS,
    pause: pauseBeforeRetry,
    onStatement,
  });

  return {
    dialect: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max }),
    ...makeRepositories(poolRun, (fn) => inTransaction(fn, 'serializable'), cache),
    async transaction(fn, options) {
      const isolation = options?.isolation ?? 'serializable';
      // READ COMMITTED transactions (record writes) share commits: postgres-group-commit.ts.
      if (isolation === 'read committed') {
        assertOpen();
        return groupCommit.enqueue(fn);
      }
      return inTransaction((run) => fn(makeRepositories(run, null)), isolation);
    },
    async ping() {
      await poolRun('sigil_ping', 'SELECT 1', []);
    },
    close() {
      closing ??= pool.end().catch(ignore);
      return closing;
    },
  };
}
