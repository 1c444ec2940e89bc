import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Files SQLite keeps beside the database; they hold the same data. */
const COMPANIONS = ['-wal', '-shm', '-journal'];

/**
 * Makes the database private to the server's user before SQLite opens it:
 * a missing directory is created 0700, the database file is created (or
 * tightened) 0600, and so are existing companion files. SQLite creates new
 * -wal/-shm/-journal files with the database file's permissions, so they
 * follow. The file holds password hashes, emails and every record; under
 * the usual umask 022 it would otherwise be world-readable.
 *
 * An existing directory keeps its mode: it may be a mount point or shared
 * on purpose (a backup group), and the files inside are private anyway.
 */
export function preparePrivateDatabaseFile(filename: string): void {
  mkdirSync(dirname(filename), { recursive: true, mode: 0o700 });
  // 'a': create if missing, never truncate; the mode applies only on creation.
  closeSync(openSync(filename, 'a', 0o600));
  for (const path of [filename, ...COMPANIONS.map((suffix) => `${filename}${suffix}`)]) tighten(path);
}

function tighten(path: string): void {
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
