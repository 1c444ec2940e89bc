import { createHash, randomBytes } from 'node:crypto';

/**
 * A new opaque refresh token: 256 random bits, base64url (43 characters).
 * It is handed to the client once and never stored: the database keeps only
 * `hashRefreshToken(token)`, so a leaked database cannot be replayed.
 */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * SHA-256 hex of a refresh token, the form in which it is stored and looked up.
 * A fast unsalted hash is right here (unlike passwords): the input already has
 * 256 bits of entropy, so there is nothing to brute-force, and lookups must be
 * by equality on an index.
 */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
