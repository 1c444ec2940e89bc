import { createHash, randomBytes } from 'node:crypto';

/**
 * A new opaque secret token: 256 random bits, base64url (43 characters).
 * Refresh tokens, reset and verification links, login challenges and
 * sign-in codes are all of this kind. It is handed out once and never
 * stored: the database keeps only `hashSecretToken(token)`, so a leaked
 * database cannot be replayed.
 */
export function newSecretToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * SHA-256 hex of a secret token, the form in which it is stored and looked
 * up. A fast unsalted hash is right here (unlike passwords): the input
 * already has 256 bits of entropy (recovery codes: 80), so there is nothing
 * to brute-force, and lookups must be by equality on an index.
 */
export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
