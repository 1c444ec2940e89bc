import type Database from 'better-sqlite3';
import type { IdentityRow, OAuthAttemptRow, OAuthRepository } from '../../core/storage/store.js';
import type { Exec } from './sqlite-store.js';
import { isoText } from './sqlite-time.js';

type Db = Database.Database;

interface AttemptRecord {
  state_hash: string; provider: string; nonce_hash: string; code_verifier: string; redirect_url: string;
  app_challenge: string | null; link_user_id: string | null; created_at: string; expires_at: string;
}
interface IdentityRecord { provider: string; subject: string; user_id: string; email: string | null; created_at: string }

const ATTEMPT = 'state_hash, provider, nonce_hash, code_verifier, redirect_url, app_challenge, link_user_id, created_at, expires_at';
const IDENTITY = 'provider, subject, user_id, email, created_at';

export function prepareOAuthStatements(db: Db) {
  return {
    insertAttempt: db.prepare<[string, string, string, string, string, string | null, string | null, string, string]>(
      `INSERT INTO oauth_attempts (${ATTEMPT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // Compare-and-set: of two uses of one state, one finds used_at still NULL.
    consumeAttempt: db.prepare<[string, string, string], AttemptRecord>(
      `UPDATE oauth_attempts SET used_at = ? WHERE state_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING ${ATTEMPT}`),
    insertCode: db.prepare<[string, string, string, string, string]>(
      'INSERT INTO oauth_codes (code_hash, user_id, app_challenge, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
    consumeCode: db.prepare<[string, string, string], { user_id: string; app_challenge: string }>(
      'UPDATE oauth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id, app_challenge'),
    findIdentity: db.prepare<[string, string], IdentityRecord>(`SELECT ${IDENTITY} FROM identities WHERE provider = ? AND subject = ?`),
    insertIdentity: db.prepare<[string, string, string, string | null, string]>(`INSERT INTO identities (${IDENTITY}) VALUES (?, ?, ?, ?, ?)`),
    listIdentities: db.prepare<[string], IdentityRecord>(`SELECT ${IDENTITY} FROM identities WHERE user_id = ? ORDER BY provider, subject`),
    deleteIdentities: db.prepare<[string, string]>('DELETE FROM identities WHERE user_id = ? AND provider = ?'),
    deleteStaleAttempts: db.prepare<[string, string]>('DELETE FROM oauth_attempts WHERE expires_at < ? OR used_at < ?'),
    deleteStaleCodes: db.prepare<[string, string]>('DELETE FROM oauth_codes WHERE expires_at < ? OR used_at < ?'),
  };
}

export type OAuthStatements = ReturnType<typeof prepareOAuthStatements>;

const toAttempt = (r: AttemptRecord): OAuthAttemptRow => ({
  stateHash: r.state_hash, provider: r.provider, nonceHash: r.nonce_hash, codeVerifier: r.code_verifier, redirectUrl: r.redirect_url,
  appChallenge: r.app_challenge, linkUserId: r.link_user_id, createdAt: r.created_at, expiresAt: r.expires_at,
});
const toIdentity = (r: IdentityRecord): IdentityRow => ({ provider: r.provider, subject: r.subject, userId: r.user_id, email: r.email, createdAt: r.created_at });

/** Identities, sign-in attempts and sign-in codes on SQLite (every statement prepared once). */
export function makeSqliteOAuthRepository(read: Exec<OAuthStatements>, write: Exec<OAuthStatements>): OAuthRepository {
  return {
    async insertAttempt(a) {
      await write((s) => s.insertAttempt.run(a.stateHash, a.provider, a.nonceHash, a.codeVerifier, a.redirectUrl, a.appChallenge, a.linkUserId, isoText(a.createdAt), isoText(a.expiresAt)));
    },
    async consumeAttempt(stateHash, at) {
      const t = isoText(at);
      const row = await write((s) => s.consumeAttempt.get(t, stateHash, t));
      return row === undefined ? null : toAttempt(row);
    },
    async insertSignInCode(c) {
      await write((s) => s.insertCode.run(c.codeHash, c.userId, c.appChallenge, isoText(c.createdAt), isoText(c.expiresAt)));
    },
    async consumeSignInCode(codeHash, at) {
      const t = isoText(at);
      const row = await write((s) => s.consumeCode.get(t, codeHash, t));
      return row === undefined ? null : { userId: row.user_id, appChallenge: row.app_challenge };
    },
    async findIdentity(provider, subject) {
      const row = await read((s) => s.findIdentity.get(provider, subject));
      return row === undefined ? null : toIdentity(row);
    },
    async insertIdentity(i) {
      await write((s) => s.insertIdentity.run(i.provider, i.subject, i.userId, i.email, isoText(i.createdAt)));
    },
    async listIdentities(userId) {
      return (await read((s) => s.listIdentities.all(userId))).map(toIdentity);
    },
    async deleteIdentities(userId, provider) {
      return (await write((s) => s.deleteIdentities.run(userId, provider))).changes;
    },
    async deleteStale(before) {
      const t = isoText(before);
      return write((s) => s.deleteStaleAttempts.run(t, t).changes + s.deleteStaleCodes.run(t, t).changes);
    },
  };
}
