import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEV_SECRET_FILE = 'jwt-secret';

/**
 * Outside production, a missing JWT_SECRET is generated once and kept in the
 * data directory (mode 0600, directory 0700; an existing file is tightened
 * to 0600) so tokens survive restarts. Returns the secret
 * and whether it was created just now.
 */
export function readOrCreateDevSecret(dataDir: string): { secret: string; created: boolean } {
  const file = join(dataDir, DEV_SECRET_FILE);
  try {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) {
      // Made by an earlier version, or copied in under umask 022: anyone who reads it can forge tokens.
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      return { secret, created: false };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, created: true };
}
