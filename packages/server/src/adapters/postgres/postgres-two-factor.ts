import type { TwoFactorChallengeRow, TwoFactorRepository } from '../../core/storage/store.js';
import type { Atomic, Run } from './postgres-store.js';

interface SecretRecord { user_id: string; secret: string; created_at: Date; enabled_at: Date | null; last_step: string }
interface ChallengeRecord { token_hash: string; user_id: string; created_at: Date; expires_at: Date; failures: number; used_at: Date | null }

const CHALLENGE = 'token_hash, user_id, created_at, expires_at, failures, used_at';

const toChallenge = (r: ChallengeRecord): TwoFactorChallengeRow => ({
  tokenHash: r.token_hash, userId: r.user_id, createdAt: r.created_at.toISOString(), expiresAt: r.expires_at.toISOString(),
  failures: r.failures, usedAt: r.used_at === null ? null : r.used_at.toISOString(),
});

/**
 * `two_factor_*` tables on PostgreSQL. Single-row compare-and-sets: a
 * concurrent UPDATE waits for the row lock, re-checks its WHERE on the new
 * row version and matches nothing. `atomic` runs the multi-statement
 * changes in a transaction of their own (null: already in one).
 */
export function makePostgresTwoFactorRepository(run: Run, atomic: Atomic | null): TwoFactorRepository {
  const atomically: Atomic = atomic ?? ((fn) => fn(run));
  const setFlag = (r: Run, userId: string, on: boolean, at: string) =>
    r('sigil_2fa_set_flag', 'UPDATE users SET two_factor_enabled = $2, updated_at = $3 WHERE id = $1', [userId, on, at]);
  return {
    async findTwoFactorSecret(userId) {
      const row = (await run<SecretRecord>('sigil_2fa_secret',
        'SELECT user_id, secret, created_at, enabled_at, last_step FROM two_factor_secrets WHERE user_id = $1', [userId])).rows[0];
      return row === undefined ? null : {
        userId: row.user_id, secret: row.secret, createdAt: row.created_at.toISOString(),
        enabledAt: row.enabled_at === null ? null : row.enabled_at.toISOString(), lastStep: Number(row.last_step),
      };
    },
    async putPendingTwoFactorSecret(userId, secret, at) {
      const result = await run('sigil_2fa_put_pending',
        `INSERT INTO two_factor_secrets (user_id, secret, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = -1
         WHERE two_factor_secrets.enabled_at IS NULL`, [userId, secret, at]);
      return result.rowCount === 1;
    },
    async enableTwoFactor(userId, step, at) {
      return atomically(async (r) => {
        const result = await r('sigil_2fa_enable',
          'UPDATE two_factor_secrets SET enabled_at = $3, last_step = $2 WHERE user_id = $1 AND enabled_at IS NULL', [userId, step, at]);
        if (result.rowCount !== 1) return false;
        await setFlag(r, userId, true, at);
        return true;
      });
    },
    async disableTwoFactor(userId, at) {
      return atomically(async (r) => {
        const removed = ((await r('sigil_2fa_delete_secret', 'DELETE FROM two_factor_secrets WHERE user_id = $1', [userId])).rowCount ?? 0) > 0;
        await r('sigil_2fa_delete_codes', 'DELETE FROM two_factor_recovery_codes WHERE user_id = $1', [userId]);
        await r('sigil_2fa_delete_challenges', 'DELETE FROM two_factor_challenges WHERE user_id = $1', [userId]);
        await setFlag(r, userId, false, at);
        return removed;
      });
    },
    async useTwoFactorStep(userId, step) {
      const result = await run('sigil_2fa_use_step',
        'UPDATE two_factor_secrets SET last_step = $2 WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_step < $2', [userId, step]);
      return result.rowCount === 1;
    },
    async replaceTwoFactorSecret(userId, previous, secret) {
      await run('sigil_2fa_replace_secret', 'UPDATE two_factor_secrets SET secret = $3 WHERE user_id = $1 AND secret = $2', [userId, previous, secret]);
    },
    async replaceRecoveryCodes(userId, hashes, at) {
      await atomically(async (r) => {
        await r('sigil_2fa_delete_codes', 'DELETE FROM two_factor_recovery_codes WHERE user_id = $1', [userId]);
        await r('sigil_2fa_insert_codes',
          'INSERT INTO two_factor_recovery_codes (code_hash, user_id, created_at) SELECT unnest($2::text[]), $1, $3', [userId, hashes, at]);
      });
    },
    async useRecoveryCode(userId, hash, at) {
      const result = await run('sigil_2fa_use_code',
        'UPDATE two_factor_recovery_codes SET used_at = $3 WHERE code_hash = $2 AND user_id = $1 AND used_at IS NULL', [userId, hash, at]);
      return result.rowCount === 1;
    },
    async countUnusedRecoveryCodes(userId) {
      const result = await run<{ n: number }>('sigil_2fa_count_codes',
        'SELECT count(*)::int AS n FROM two_factor_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
      return result.rows[0]?.n ?? 0;
    },
    async insertTwoFactorChallenge(c) {
      await run('sigil_2fa_insert_challenge', 'INSERT INTO two_factor_challenges (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)',
        [c.tokenHash, c.userId, c.createdAt, c.expiresAt]);
    },
    async findLiveTwoFactorChallenge(hash, at) {
      const row = (await run<ChallengeRecord>('sigil_2fa_live_challenge',
        `SELECT ${CHALLENGE} FROM two_factor_challenges WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz`, [hash, at])).rows[0];
      return row === undefined ? null : toChallenge(row);
    },
    async failTwoFactorChallenge(hash, maxFailures, at) {
      const row = (await run<{ failures: number }>('sigil_2fa_fail_challenge',
        `UPDATE two_factor_challenges SET failures = failures + 1,
                used_at = CASE WHEN failures + 1 >= $2 THEN $3::timestamptz ELSE NULL END
          WHERE token_hash = $1 AND used_at IS NULL RETURNING failures`, [hash, maxFailures, at])).rows[0];
      return row?.failures ?? null;
    },
    async consumeTwoFactorChallenge(hash, at) {
      const row = (await run<{ user_id: string }>('sigil_2fa_consume_challenge',
        `UPDATE two_factor_challenges SET used_at = $2::timestamptz
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz RETURNING user_id`, [hash, at])).rows[0];
      return row?.user_id ?? null;
    },
    async endUserTwoFactorChallenges(userId, at) {
      const result = await run('sigil_2fa_end_user_challenges', 'UPDATE two_factor_challenges SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL', [userId, at]);
      return result.rowCount ?? 0;
    },
    async deleteStaleTwoFactorChallenges(before) {
      const result = await run('sigil_2fa_delete_stale_challenges',
        'DELETE FROM two_factor_challenges WHERE expires_at < $1::timestamptz OR used_at < $1::timestamptz', [before]);
      return result.rowCount ?? 0;
    },
  };
}
