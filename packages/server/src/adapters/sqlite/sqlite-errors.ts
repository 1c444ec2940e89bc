import { AppError } from '../../core/errors.js';

/**
 * Extended result codes (better-sqlite3 puts them in `error.code`) that mean
 * "try again later": another process holds the write lock past busy_timeout,
 * or the disk is full. https://www.sqlite.org/rescode.html
 */
const UNAVAILABLE_PREFIXES = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_PROTOCOL'];

function sqliteCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/**
 * Translates a better-sqlite3 error into the `AppError` the core expects;
 * anything it does not recognise is returned unchanged (the caller rethrows it,
 * and the HTTP layer turns it into `internal`).
 */
export function translateSqliteError(error: unknown): unknown {
  const code = sqliteCode(error);
  if (code === undefined) return error;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new AppError('conflict', undefined, { cause: error });
  }
  // A row that references one deleted concurrently (a session for a user who
  // was just removed): the same "changed concurrently" outcome PostgreSQL reports.
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    return new AppError('conflict', 'A referenced row no longer exists.', { cause: error });
  }
  // A collection's records table dropped meanwhile (the collection was deleted):
  // the record the caller asked about is gone with it.
  if (code === 'SQLITE_ERROR' && error instanceof Error && /^no such table: c_[a-z0-9_]+$/.test(error.message)) {
    return new AppError('not_found', 'No such collection.', { cause: error });
  }
  // A collection's records table or index that already exists: created concurrently.
  if (code === 'SQLITE_ERROR' && error instanceof Error && /^(table|index) "?(c|ix)_[a-z0-9_]+"? already exists$/.test(error.message)) {
    return new AppError('conflict', undefined, { cause: error });
  }
  if (UNAVAILABLE_PREFIXES.some((prefix) => code.startsWith(prefix))) {
    return new AppError('unavailable', 'The database is busy; retry later.', { cause: error, retryAfter: 1 });
  }
  return error;
}
