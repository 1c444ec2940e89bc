import type Database from 'better-sqlite3';
import type { TwoFactorChallengeRow, TwoFactorRepository, TwoFactorSecretRow } from '../../core/storage/store.js';
import type { Exec } from './sqlite-store.js';
import { isoText } from './sqlite-time.js';

type Db = Database.Database;

interface SecretRecord { user_id: string; secret: string; created_at: string; enabled_at: string | null; last_step: number }
interface ChallengeRecord { token_hash: string; user_id: string; created_at: string; expires_at: string; failures: number; used_at: string | null }

const SECRET = 'user_id, secret, created_at, enabled_at, last_step';
const CHALLENGE = 'token_hash, user_id, created_at, expires_at, failures, used_at';

/** Reads, prepared on the reader and on the writer (for reads inside transactions). */
export function prepareTwoFactorReads(db: Db) {
  return {
    secret: db.prepare<[string], SecretRecord>(`SELECT ${SECRET} FROM two_factor_secrets WHERE user_id = ?`),
    unusedCodes: db.prepare<[string], number>('SELECT count(*) FROM two_factor_recovery_codes WHERE user_id = ? AND used_at IS NULL').pluck(),
    liveChallenge: db.prepare<[string, string], ChallengeRecord>(
      `SELECT ${CHALLENGE} FROM two_factor_challenges WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`),
  };
}

export function prepareTwoFactorWrites(db: Db) {
  const setFlag = db.prepare<[number, string, string]>('UPDATE users SET two_factor_enabled = ?, updated_at = ? WHERE id = ?');
  // Only while not enabled: a pending secret may be replaced, an enabled one never.
  const putPending = db.prepare<[string, string, string]>(
    `INSERT INTO two_factor_secrets (user_id, secret, created_at) VALUES (?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = -1
     WHERE two_factor_secrets.enabled_at IS NULL`);
  const enable = db.prepare<[string, number, string]>(
    'UPDATE two_factor_secrets SET enabled_at = ?, last_step = ? WHERE user_id = ? AND enabled_at IS NULL');
  const deleteSecret = db.prepare<[string]>('DELETE FROM two_factor_secrets WHERE user_id = ?');
  const deleteCodes = db.prepare<[string]>('DELETE FROM two_factor_recovery_codes WHERE user_id = ?');
  const deleteChallenges = db.prepare<[string]>('DELETE FROM two_factor_challenges WHERE user_id = ?');
  const insertCode = db.prepare<[string, string, string]>('INSERT INTO two_factor_recovery_codes (code_hash, user_id, created_at) VALUES (?, ?, ?)');
  return {
    putPending,
    enable: db.transaction((userId: string, step: number, at: string): boolean => {
      if (enable.run(at, step, userId).changes !== 1) return false;
      setFlag.run(1, at, userId);
      return true;
    }),
    disable: db.transaction((userId: string, at: string): boolean => {
      const removed = deleteSecret.run(userId).changes > 0;
      deleteCodes.run(userId);
      deleteChallenges.run(userId);
      setFlag.run(0, at, userId);
      return removed;
    }),
    // Compare-and-set: only a step after the last one used is accepted.
    useStep: db.prepare<[number, string, number]>(
      'UPDATE two_factor_secrets SET last_step = ? WHERE user_id = ? AND enabled_at IS NOT NULL AND last_step < ?'),
    replaceSecret: db.prepare<[string, string, string]>('UPDATE two_factor_secrets SET secret = ? WHERE user_id = ? AND secret = ?'),
    replaceCodes: db.transaction((userId: string, hashes: readonly string[], at: string): void => {
      deleteCodes.run(userId);
      for (const hash of hashes) insertCode.run(hash, userId, at);
    }),
    useCode: db.prepare<[string, string, string]>(
      'UPDATE two_factor_recovery_codes SET used_at = ? WHERE code_hash = ? AND user_id = ? AND used_at IS NULL'),
    insertChallenge: db.prepare<[string, string, string, string]>(
      'INSERT INTO two_factor_challenges (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)'),
    failChallenge: db.prepare<{ hash: string; max: number; at: string }, number>(
      `UPDATE two_factor_challenges SET failures = failures + 1, used_at = CASE WHEN failures + 1 >= @max THEN @at ELSE NULL END
        WHERE token_hash = @hash AND used_at IS NULL RETURNING failures`).pluck(),
    consumeChallenge: db.prepare<[string, string, string], string>(
      'UPDATE two_factor_challenges SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id').pluck(),
    endUserChallenges: db.prepare<[string, string]>('UPDATE two_factor_challenges SET used_at = ? WHERE user_id = ? AND used_at IS NULL'),
    deleteStaleChallenges: db.prepare<[string, string]>('DELETE FROM two_factor_challenges WHERE expires_at < ? OR used_at < ?'),
  };
}

export type TwoFactorReads = ReturnType<typeof prepareTwoFactorReads>;
export type TwoFactorWrites = ReturnType<typeof prepareTwoFactorWrites>;

const toSecret = (r: SecretRecord): TwoFactorSecretRow => ({
  userId: r.user_id, secret: r.secret, createdAt: r.created_at, enabledAt: r.enabled_at, lastStep: r.last_step,
});
const toChallenge = (r: ChallengeRecord): TwoFactorChallengeRow => ({
  tokenHash: r.token_hash, userId: r.user_id, createdAt: r.created_at, expiresAt: r.expires_at, failures: r.failures, usedAt: r.used_at,
});

/** `two_factor_*` tables on SQLite. Multi-statement changes run in a transaction (a savepoint inside one). */
export function makeSqliteTwoFactorRepository(read: Exec<TwoFactorReads>, write: Exec<TwoFactorWrites>): TwoFactorRepository {
  return {
    async findTwoFactorSecret(userId) {
      const row = await read((s) => s.secret.get(userId));
      return row === undefined ? null : toSecret(row);
    },
    async putPendingTwoFactorSecret(userId, secret, at) {
      return (await write((s) => s.putPending.run(userId, secret, isoText(at)).changes)) === 1;
    },
    async enableTwoFactor(userId, step, at) { return write((s) => s.enable(userId, step, isoText(at))); },
    async disableTwoFactor(userId, at) { return write((s) => s.disable(userId, isoText(at))); },
    async useTwoFactorStep(userId, step) { return (await write((s) => s.useStep.run(step, userId, step).changes)) === 1; },
    async replaceTwoFactorSecret(userId, previous, secret) { await write((s) => s.replaceSecret.run(secret, userId, previous)); },
    async replaceRecoveryCodes(userId, hashes, at) { await write((s) => s.replaceCodes(userId, hashes, isoText(at))); },
    async useRecoveryCode(userId, hash, at) { return (await write((s) => s.useCode.run(isoText(at), hash, userId).changes)) === 1; },
    async countUnusedRecoveryCodes(userId) { return (await read((s) => s.unusedCodes.get(userId))) ?? 0; },
    async insertTwoFactorChallenge(c) {
      await write((s) => s.insertChallenge.run(c.tokenHash, c.userId, isoText(c.createdAt), isoText(c.expiresAt)));
    },
    async findLiveTwoFactorChallenge(hash, at) {
      const row = await read((s) => s.liveChallenge.get(hash, isoText(at)));
      return row === undefined ? null : toChallenge(row);
    },
    async failTwoFactorChallenge(hash, maxFailures, at) {
      return (await write((s) => s.failChallenge.get({ hash, max: maxFailures, at: isoText(at) }))) ?? null;
    },
    async consumeTwoFactorChallenge(hash, at) {
      const t = isoText(at);
      return (await write((s) => s.consumeChallenge.get(t, hash, t))) ?? null;
    },
    async endUserTwoFactorChallenges(userId, at) { return write((s) => s.endUserChallenges.run(isoText(at), userId).changes); },
    async deleteStaleTwoFactorChallenges(before) {
      const t = isoText(before);
      return write((s) => s.deleteStaleChallenges.run(t, t).changes);
    },
  };
}
