import { AppError } from '../../core/errors.js';

/** Node socket errors that mean the server cannot be reached right now. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html)
 * that mean "retry later": server shutting down or starting, too many
 * connections, out of resources.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53000', '53100', '53200', '53300', '58000', '58030']);

/**
 * 40001 serialization_failure, 40P01 deadlock_detected: the transaction may
 * simply be run again. So may a violation of `record_refs`' key to users
 * (23503), checked at commit: a user's deletion whose snapshot missed a
 * reference committed meanwhile (see migration 6) sees it when run again.
 */
export function isRetryableTransactionError(error: unknown): boolean {
  const code = errorCode(error);
  return code === '40001' || code === '40P01' || isUserReferenceViolation(error);
}

/** The commit-time check of `record_refs`' key to users failed (see `isRetryableTransactionError`). */
export function isUserReferenceViolation(error: unknown): boolean {
  return errorCode(error) === '23503' && (error as { constraint?: unknown }).constraint === USER_REFERENCE_KEY;
}

/** The name PostgreSQL gives the foreign key of `record_refs.target_user`. */
const USER_REFERENCE_KEY = 'record_refs_target_user_fkey';

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Connecting to a host with several addresses fails with one error per address.
  return error instanceof AggregateError ? errorCode(error.errors[0]) : undefined;
}

/** pg reports a dropped connection or a pool timeout as a plain Error with one of these messages. */
function isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i
    .test(error.message);
}

/**
 * Translates a pg error into the `AppError` the core expects; anything it
 * does not recognise is returned unchanged for the caller to rethrow.
 */
export function translatePostgresError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const code = errorCode(error);
  // 42P07 duplicate_table: a collection's records table created concurrently.
  if (code === '23505' || code === '42P07') return new AppError('conflict', undefined, { cause: error });
  // 42P01 undefined_table on a collection's records table: the collection was deleted meanwhile.
  if (code === '42P01' && error instanceof Error && /relation "c_[a-z0-9_]+" does not exist/.test(error.message)) {
    return new AppError('not_found', 'No such collection.', { cause: error });
  }
  // jsonb cannot hold U+0000 (22P05 untranslatable_character): the caller's data, not the server, is at fault.
  if (code === '22P05') {
    return new AppError('validation_failed', 'Text must not contain the character U+0000.', { cause: error });
  }
  // A row that references one deleted concurrently: same outcome as SQLite's FK failure.
  if (code === '23503') return new AppError('conflict', 'A referenced row no longer exists.', { cause: error });
  if (
    code !== undefined &&
    (code.startsWith('08') || UNAVAILABLE_STATES.has(code) || NETWORK_CODES.has(code) || isRetryableTransactionError(error))
  ) {
    return new AppError('unavailable', 'The database is unavailable; retry later.', { cause: error, retryAfter: 1 });
  }
  if (isConnectionLoss(error)) {
    return new AppError('unavailable', 'The database is unavailable; retry later.', { cause: error, retryAfter: 1 });
  }
  return error;
}
