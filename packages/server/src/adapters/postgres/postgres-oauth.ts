import type { IdentityRow, OAuthAttemptRow, OAuthRepository } from '../../core/storage/store.js';
import type { Run } from './postgres-store.js';

interface AttemptRecord {
  state_hash: string; provider: string; nonce_hash: string; code_verifier: string; redirect_url: string;
  app_challenge: string | null; link_user_id: string | null; created_at: Date; expires_at: Date;
}
interface IdentityRecord { provider: string; subject: string; user_id: string; email: string | null; created_at: Date }

const ATTEMPT = 'state_hash, provider, nonce_hash, code_verifier, redirect_url, app_challenge, link_user_id, created_at, expires_at';
const IDENTITY = 'provider, subject, user_id, email, created_at';

const toAttempt = (r: AttemptRecord): OAuthAttemptRow => ({
  stateHash: r.state_hash, provider: r.provider, nonceHash: r.nonce_hash, codeVerifier: r.code_verifier, redirectUrl: r.redirect_url,
  appChallenge: r.app_challenge, linkUserId: r.link_user_id, createdAt: r.created_at.toISOString(), expiresAt: r.expires_at.toISOString(),
});
const toIdentity = (r: IdentityRecord): IdentityRow => ({ provider: r.provider, subject: r.subject, userId: r.user_id, email: r.email, createdAt: r.created_at.toISOString() });

/** Identities, sign-in attempts and sign-in codes on PostgreSQL (named, prepared statements). */
export function makePostgresOAuthRepository(run: Run): OAuthRepository {
  return {
    async insertAttempt(a) {
      await run('sigil_oauth_insert_attempt', `INSERT INTO oauth_attempts (${ATTEMPT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [a.stateHash, a.provider, a.nonceHash, a.codeVerifier, a.redirectUrl, a.appChallenge, a.linkUserId, a.createdAt, a.expiresAt]);
    },
    async consumeAttempt(stateHash, at) {
      // Compare-and-set: a concurrent use waits for the row lock, then matches nothing.
      const row = (await run<AttemptRecord>('sigil_oauth_consume_attempt',
        `UPDATE oauth_attempts SET used_at = $2::timestamptz
          WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz RETURNING ${ATTEMPT}`, [stateHash, at])).rows[0];
      return row === undefined ? null : toAttempt(row);
    },
    async insertSignInCode(c) {
      await run('sigil_oauth_insert_code', 'INSERT INTO oauth_codes (code_hash, user_id, app_challenge, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [c.codeHash, c.userId, c.appChallenge, c.createdAt, c.expiresAt]);
    },
    async consumeSignInCode(codeHash, at) {
      const row = (await run<{ user_id: string; app_challenge: string }>('sigil_oauth_consume_code',
        `UPDATE oauth_codes SET used_at = $2::timestamptz
          WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz RETURNING user_id, app_challenge`, [codeHash, at])).rows[0];
      return row === undefined ? null : { userId: row.user_id, appChallenge: row.app_challenge };
    },
    async findIdentity(provider, subject) {
      const row = (await run<IdentityRecord>('sigil_oauth_find_identity', `SELECT ${IDENTITY} FROM identities WHERE provider = $1 AND subject = $2`, [provider, subject])).rows[0];
      return row === undefined ? null : toIdentity(row);
    },
    async insertIdentity(i) {
      await run('sigil_oauth_insert_identity', `INSERT INTO identities (${IDENTITY}) VALUES ($1, $2, $3, $4, $5)`, [i.provider, i.subject, i.userId, i.email, i.createdAt]);
    },
    async listIdentities(userId) {
      const result = await run<IdentityRecord>('sigil_oauth_list_identities', `SELECT ${IDENTITY} FROM identities WHERE user_id = $1 ORDER BY provider, subject`, [userId]);
      return result.rows.map(toIdentity);
    },
    async deleteIdentities(userId, provider) {
      return (await run('sigil_oauth_delete_identities', 'DELETE FROM identities WHERE user_id = $1 AND provider = $2', [userId, provider])).rowCount ?? 0;
    },
    async deleteStale(before) {
      const a = await run('sigil_oauth_stale_attempts', 'DELETE FROM oauth_attempts WHERE expires_at < $1::timestamptz OR used_at < $1::timestamptz', [before]);
      const c = await run('sigil_oauth_stale_codes', 'DELETE FROM oauth_codes WHERE expires_at < $1::timestamptz OR used_at < $1::timestamptz', [before]);
      return (a.rowCount ?? 0) + (c.rowCount ?? 0);
    },
  };
}
