import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encryption at rest of TOTP secrets. They must be read back to check a
 * code, so unlike passwords and tokens they cannot be hashed: each is
 * sealed with AES-256-GCM under a key derived by HKDF-SHA256 from a
 * JWT_SECRET entry, and bound to its user (the user id is the additional
 * authenticated data, so a ciphertext copied to another user's row does not
 * open). JWT_SECRET is a list: the first entry seals, every entry opens, so
 * secrets sealed under an old entry keep working while it is listed (and
 * are sealed again under the first on their next use; see docs/auth.md).
 *
 * Sealed form: `v1.<key id>.<iv>.<ciphertext + tag>` (base64url), where the
 * key id is the first 8 hex digits of the SHA-256 of the derived key.
 */
export interface TwoFactorCrypto {
  seal(userId: string, plaintext: string): string;
  /** The plaintext and whether it was sealed under the first key; null when no listed key opens it. */
  open(userId: string, sealed: string): { readonly plaintext: string; readonly current: boolean } | null;
}

const INFO = 'sigil two-factor secret v1';

interface Key {
  readonly id: string;
  readonly bytes: Buffer;
}

function deriveKey(secret: string): Key {
  const bytes = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), INFO, 32));
  return { id: createHash('sha256').update(bytes).digest('hex').slice(0, 8), bytes };
}

export function createTwoFactorCrypto(secrets: readonly string[]): TwoFactorCrypto {
  if (secrets.length === 0) throw new Error('two-factor encryption needs at least one secret');
  const keys = secrets.map(deriveKey);
  const sealing = keys[0]!;
  return {
    seal(userId, plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealing.bytes, iv);
      cipher.setAAD(Buffer.from(userId, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `v1.${sealing.id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    open(userId, sealed) {
      const [version, keyId, ivText, bodyText] = sealed.split('.');
      if (version !== 'v1' || ivText === undefined || bodyText === undefined) return null;
      const iv = Buffer.from(ivText, 'base64url');
      const body = Buffer.from(bodyText, 'base64url');
      if (iv.length !== 12 || body.length < 17) return null;
      // The id names the key; two entries could share an id (1 in 2^32), so every match is tried.
      for (const key of keys) {
        if (key.id !== keyId) continue;
        try {
          const decipher = createDecipheriv('aes-256-gcm', key.bytes, iv);
          decipher.setAAD(Buffer.from(userId, 'utf8'));
          decipher.setAuthTag(body.subarray(body.length - 16));
          const plaintext = Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
          return { plaintext, current: key === sealing };
        } catch {
          // Not this key (or tampered with): try the next.
        }
      }
      return null;
    },
  };
}
