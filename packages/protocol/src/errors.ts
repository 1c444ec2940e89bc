/**
 * Every error Sigil returns, over HTTP or WebSocket, carries one of these
 * stable codes. Codes are only ever added, never renamed: clients branch on
 * them. The HTTP status of each code lives here and nowhere else.
 *
 * @example
 * ```ts
 * import { ERROR_STATUS } from '@sigil/protocol';
 * ERROR_STATUS.not_found; // 404
 * ```
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  invalid_filter: 400,
  unauthorized: 401,
  two_factor_required: 401,
  token_expired: 401,
  invalid_credentials: 401,
  forbidden: 403,
  email_not_verified: 403,
  not_found: 404,
  conflict: 409,
  schema_conflict: 409,
  request_timeout: 408,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  headers_too_large: 431,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** One problem inside a failed request, e.g. a schema violation at a JSON Pointer. */
export interface ErrorDetail {
  /** JSON Pointer into the request body or query (`/title`), or `""` for the whole. */
  readonly path: string;
  readonly message: string;
  /** In a failed batch (`POST /api/batch`): the position of the operation that failed, on the first detail. */
  readonly index?: number;
}

/**
 * The body of every error response.
 *
 * @example
 * ```json
 * { "error": { "code": "validation_failed", "message": "body is invalid",
 *              "details": [{ "path": "/title", "message": "must be string" }] } }
 * ```
 */
export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly details?: readonly ErrorDetail[];
    /** Only on `schema_conflict`: the records that do not fit the proposed schema. */
    readonly report?: SchemaCheckReport;
    /** Only on `two_factor_required`: the login challenge to complete with `POST /api/auth/2fa/verify`. */
    readonly challenge?: string;
  };
}

/** One existing record that does not fit a proposed collection schema. */
export interface SchemaCheckFailure {
  readonly id: string;
  /** JSON Pointers into the record's fields (`/title`). */
  readonly errors: readonly ErrorDetail[];
}

/**
 * The result of checking every record of a collection against a proposed
 * schema: a `schema_conflict` error carries it, and so does a successful
 * `PUT /api/collections/:name?dryRun=true` (with `total: 0`).
 *
 * @example
 * ```json
 * { "total": 2, "failures": [{ "id": "01JD…", "errors": [{ "path": "/title", "message": "must be string" }] }] }
 * ```
 */
export interface SchemaCheckReport {
  /** How many records fail, all of them counted. */
  readonly total: number;
  /** The first failing records in id order, at most 100. */
  readonly failures: readonly SchemaCheckFailure[];
}

/** True when `value` is one of the stable error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}
