import { ERROR_STATUS, type ErrorCode, type ErrorDetail, type SchemaCheckReport } from '@sigil/protocol';

const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  bad_request: 'The request is malformed.',
  validation_failed: 'The request body is invalid.',
  invalid_filter: 'The filter is invalid.',
  unauthorized: 'Authentication is required.',
  two_factor_required: 'A two-factor code is required: complete the challenge with POST /api/auth/2fa/verify.',
  token_expired: 'The access token has expired.',
  invalid_credentials: 'Invalid username or password.',
  forbidden: 'You are not allowed to do this.',
  email_not_verified: 'Verify your email address before signing in.',
  not_found: 'Not found.',
  conflict: 'The resource already exists or was changed concurrently.',
  schema_conflict: 'Existing records do not match the new schema.',
  request_timeout: 'The request was not received in time.',
  precondition_failed: 'The resource does not match If-Match.',
  payload_too_large: 'The request body is too large.',
  unsupported_media_type: 'Only application/json bodies are accepted.',
  headers_too_large: 'The request line and headers are too large.',
  rate_limited: 'Too many requests; retry later.',
  internal: 'Internal server error.',
  unavailable: 'The service is temporarily unavailable.',
};

export interface AppErrorOptions {
  readonly details?: readonly ErrorDetail[];
  readonly cause?: unknown;
  /** Seconds after which a `rate_limited` or `unavailable` request may be retried. */
  readonly retryAfter?: number;
  /** `schema_conflict` only: which records fail the proposed schema (sent as `error.report`). */
  readonly report?: SchemaCheckReport;
  /** `two_factor_required` only: the login challenge (sent as `error.challenge`). */
  readonly challenge?: string;
}

/**
 * The one error type of Sigil. Carries a stable code; the HTTP status comes
 * from `ERROR_STATUS`, never from the thrower.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly ErrorDetail[] | undefined;
  readonly retryAfter: number | undefined;
  readonly report: SchemaCheckReport | undefined;
  readonly challenge: string | undefined;

  constructor(code: ErrorCode, message?: string, options: AppErrorOptions = {}) {
    super(message ?? DEFAULT_MESSAGES[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
    this.report = options.report;
    this.challenge = options.challenge;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
