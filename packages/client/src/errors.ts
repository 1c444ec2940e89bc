import { ERROR_STATUS, isErrorCode, type ErrorCode, type ErrorDetail, type SchemaCheckReport } from '@sigil/protocol';

/**
 * An error answered by the server: its stable `code` (see docs/errors.md),
 * the HTTP `status`, `details` (JSON Pointer paths; `index` in a batch) and,
 * for `rate_limited` and some `unavailable` answers, `retryAfter` in seconds.
 * Realtime `error` messages become a SigilError too (`status` from the code).
 *
 * @example
 * ```ts
 * try {
 *   await client.collection('tasks').update(id, { done: true }, { ifMatch: 3 });
 * } catch (error) {
 *   if (error instanceof SigilError && error.code === 'precondition_failed') reload();
 *   else throw error;
 * }
 * ```
 */
export class SigilError extends Error {
  override readonly name = 'SigilError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: readonly ErrorDetail[];
  /** Seconds to wait before retrying (the `Retry-After` header), or null. */
  readonly retryAfter: number | null;
  /** The failing records of a `schema_conflict`. */
  readonly report: SchemaCheckReport | undefined;

  constructor(init: { code: ErrorCode; message: string; status?: number; details?: readonly ErrorDetail[]; retryAfter?: number | null; report?: SchemaCheckReport }) {
    super(init.message);
    this.code = init.code;
    this.status = init.status ?? ERROR_STATUS[init.code];
    this.details = init.details ?? [];
    this.retryAfter = init.retryAfter ?? null;
    this.report = init.report;
  }
}

/**
 * A login (or registration-free sign-in) of a user with two-factor on: the
 * password was right, and the server wants a TOTP or recovery code before it
 * opens a session. Pass `challenge` (good once, for 5 minutes) with the code
 * to `client.auth.completeTwoFactor`.
 *
 * @example
 * ```ts
 * try {
 *   await client.auth.login({ username, password });
 * } catch (error) {
 *   if (!(error instanceof TwoFactorRequiredError)) throw error;
 *   await client.auth.completeTwoFactor({ challenge: error.challenge, code: await askForCode() });
 * }
 * ```
 */
export class TwoFactorRequiredError extends SigilError {
  constructor(
    /** The login challenge from the server's 401 `two_factor_required`. */
    readonly challenge: string,
    message: string,
  ) {
    super({ code: 'two_factor_required', message });
  }
}

/**
 * The server could not be reached, or did not answer in time: nothing is
 * known about whether a write took effect. Distinct from SigilError, which
 * is always an answer.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof SigilNetworkError) showOfflineBanner(); }
 * ```
 */
export class SigilNetworkError extends Error {
  override readonly name = 'SigilNetworkError';
}

/** A SigilError from an HTTP answer's status, headers and (parsed) body. */
export function errorFromResponse(status: number, body: unknown, retryAfterHeader: string | null): SigilError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown; report?: unknown } } | null)?.error;
  const retry = retryAfterHeader === null ? null : Number(retryAfterHeader);
  const retryAfter = retry !== null && Number.isFinite(retry) ? retry : null;
  if (error && isErrorCode(error.code)) {
    const challenge = (error as { challenge?: unknown }).challenge;
    if (error.code === 'two_factor_required' && typeof challenge === 'string') return new TwoFactorRequiredError(challenge, String(error.message));
    return new SigilError({
      code: error.code,
      message: typeof error.message === 'string' ? error.message : error.code,
      status,
      details: Array.isArray(error.details) ? (error.details as ErrorDetail[]) : [],
      retryAfter,
      ...(error.report ? { report: error.report as SchemaCheckReport } : {}),
    });
  }
  // Not Sigil's error body (a proxy's page, say): classify by status.
  const code: ErrorCode = status === 404 ? 'not_found' : status === 429 ? 'rate_limited' : status >= 500 ? (status === 503 ? 'unavailable' : 'internal') : 'bad_request';
  return new SigilError({ code, message: `HTTP ${status}`, status, retryAfter });
}
