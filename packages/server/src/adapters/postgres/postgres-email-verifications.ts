import type { EmailVerificationPurpose, EmailVerificationRepository, EmailVerificationRow } from '../../core/storage/store.js';
import type { Run } from './postgres-store.js';

interface VerificationRecord { token_hash: string; user_id: string; email: string; purpose: string; created_at: Date; expires_at: Date; used_at: Date | null }

const COLUMNS = 'token_hash, user_id, email, purpose, created_at, expires_at, used_at';

function toRow(r: VerificationRecord): EmailVerificationRow {
  return {
    tokenHash: r.token_hash, userId: r.user_id, email: r.email, purpose: r.purpose as EmailVerificationPurpose,
    createdAt: r.created_at.toISOString(), expiresAt: r.expires_at.toISOString(), usedAt: r.used_at === null ? null : r.used_at.toISOString(),
  };
}

/** `email_verifications` on PostgreSQL (migration 9). */
export function makePostgresEmailVerificationRepository(run: Run): EmailVerificationRepository {
  return {
    async insertEmailVerification(v) {
      await run('sigil_insert_email_verification',
        'INSERT INTO email_verifications (token_hash, user_id, email, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [v.tokenHash, v.userId, v.email, v.purpose, v.createdAt, v.expiresAt]);
    },
    async consumeEmailVerification(tokenHash, at) {
      // Compare-and-set: a concurrent use waits for the row lock, re-checks used_at on the new version and matches nothing.
      const result = await run<VerificationRecord>('sigil_consume_email_verification',
        `UPDATE email_verifications SET used_at = $2::timestamptz
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz RETURNING ${COLUMNS}`, [tokenHash, at]);
      const row = result.rows[0];
      return row === undefined ? null : { ...toRow(row), usedAt: null };
    },
    async findPendingEmailChange(userId, at) {
      const result = await run<VerificationRecord>('sigil_pending_email_change',
        `SELECT ${COLUMNS} FROM email_verifications
          WHERE user_id = $1 AND purpose = 'change' AND used_at IS NULL AND expires_at > $2::timestamptz
          ORDER BY created_at DESC, token_hash LIMIT 1`, [userId, at]);
      const row = result.rows[0];
      return row === undefined ? null : toRow(row);
    },
    async endUserEmailVerifications(userId, at) {
      const result = await run('sigil_end_user_email_verifications',
        'UPDATE email_verifications SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL', [userId, at]);
      return result.rowCount ?? 0;
    },
    async deleteStaleEmailVerifications(before) {
      const result = await run('sigil_delete_stale_email_verifications',
        'DELETE FROM email_verifications WHERE expires_at < $1::timestamptz OR used_at < $1::timestamptz', [before]);
      return result.rowCount ?? 0;
    },
  };
}
