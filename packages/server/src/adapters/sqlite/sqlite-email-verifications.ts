import type Database from 'better-sqlite3';
import type { EmailVerificationPurpose, EmailVerificationRepository, EmailVerificationRow } from '../../core/storage/store.js';
import { isoText } from './sqlite-time.js';
import type { Exec } from './sqlite-store.js';

type Db = Database.Database;

interface VerificationRecord { token_hash: string; user_id: string; email: string; purpose: string; created_at: string; expires_at: string; used_at: string | null }

const COLUMNS = 'token_hash, user_id, email, purpose, created_at, expires_at, used_at';

export function prepareEmailVerificationReads(db: Db) {
  return {
    pendingEmailChange: db.prepare<[string, string], VerificationRecord>(
      `SELECT ${COLUMNS} FROM email_verifications
        WHERE user_id = ? AND purpose = 'change' AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC, token_hash LIMIT 1`),
  };
}

export function prepareEmailVerificationWrites(db: Db) {
  return {
    insertVerification: db.prepare<[string, string, string, string, string, string]>(
      'INSERT INTO email_verifications (token_hash, user_id, email, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
    // Compare-and-set: only the first caller finds used_at still NULL.
    consumeVerification: db.prepare<[string, string, string], VerificationRecord>(
      `UPDATE email_verifications SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING ${COLUMNS}`),
    endUserVerifications: db.prepare<[string, string]>('UPDATE email_verifications SET used_at = ? WHERE user_id = ? AND used_at IS NULL'),
    deleteStaleVerifications: db.prepare<[string, string]>('DELETE FROM email_verifications WHERE expires_at < ? OR used_at < ?'),
  };
}

type Reads = ReturnType<typeof prepareEmailVerificationReads>;
type Writes = ReturnType<typeof prepareEmailVerificationWrites>;

function toRow(r: VerificationRecord): EmailVerificationRow {
  return {
    tokenHash: r.token_hash, userId: r.user_id, email: r.email, purpose: r.purpose as EmailVerificationPurpose,
    createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at,
  };
}

/** `email_verifications` on SQLite (migration 9). */
export function makeSqliteEmailVerificationRepository(read: Exec<Reads>, write: Exec<Writes>): EmailVerificationRepository {
  return {
    async insertEmailVerification(v) {
      await write((s) => s.insertVerification.run(v.tokenHash, v.userId, v.email, v.purpose, isoText(v.createdAt), isoText(v.expiresAt)));
    },
    async consumeEmailVerification(tokenHash, at) {
      const t = isoText(at);
      const row = await write((s) => s.consumeVerification.get(t, tokenHash, t));
      // RETURNING shows the new used_at; the caller gets the row as it was.
      return row === undefined ? null : { ...toRow(row), usedAt: null };
    },
    async findPendingEmailChange(userId, at) {
      const row = await read((s) => s.pendingEmailChange.get(userId, isoText(at)));
      return row === undefined ? null : toRow(row);
    },
    async endUserEmailVerifications(userId, at) {
      return write((s) => s.endUserVerifications.run(isoText(at), userId).changes);
    },
    async deleteStaleEmailVerifications(before) {
      const t = isoText(before);
      return write((s) => s.deleteStaleVerifications.run(t, t).changes);
    },
  };
}
