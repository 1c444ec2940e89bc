import { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, type ErrorBody, type ErrorCode, type ErrorDetail } from '@sigil/protocol';
import { AppError, isAppError } from '../core/errors.js';
import { answerWhileReceiving } from './client-errors.js';
import type { LingerBounds } from './lingering-close.js';
import { SECURITY_HEADERS } from './security-headers.js';

/**
 * Turns every error into the one error body. Foreign errors (Fastify's body
 * parser, schema validation) are translated here; anything unknown becomes
 * `internal` with a generic message, and only the log sees its cause.
 *
 * 4xx errors are not logged with their messages: a JSON parse error's message
 * quotes the body, which may hold a password.
 */
export function installErrorHandler(app: FastifyInstance, opts: { readonly exposeInternalMessages: boolean; readonly linger: LingerBounds }): void {
  app.setErrorHandler((error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error);
    if (appError.code === 'internal') {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.debug({ code: appError.code }, 'request rejected');
    }
    const message =
      appError.code === 'internal' && opts.exposeInternalMessages && !isAppError(error) ? `${appError.message} ${error.message}` : appError.message;
    // The client is still sending a body we refused: answer so that it can read the 413 (see lingering-close.ts).
    // (inject() has no socket to linger on: it gets the ordinary reply.)
    if (appError.code === 'payload_too_large' && !request.raw.complete && request.raw.socket instanceof Socket) {
      answerWhileReceiving(request, reply, appError, opts.linger);
      return reply;
    }
    return sendError(reply, new AppError(appError.code, message, { details: appError.details, retryAfter: appError.retryAfter, report: appError.report, challenge: appError.challenge }));
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new AppError('not_found', `No route ${request.method} ${request.url.split('?')[0] ?? ''}.`)),
  );
}

const ROUTER_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'The URL is not valid percent-encoded UTF-8.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment of the URL is too long.',
};

/**
 * Fastify's router errors (the `frameworkErrors` option), raised before any
 * hook runs: a URL that does not decode, a path parameter over the router's
 * length limit. Fastify's own bodies echo the URL; ours name the problem only.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.debug({ code: error.code }, 'request rejected by the router');
  const message = ROUTER_MESSAGES[error.code] ?? 'The request is malformed.';
  void reply.headers(SECURITY_HEADERS);
  void sendError(reply, new AppError('bad_request', message));
}

export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  const body: ErrorBody = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
      ...(error.report ? { report: error.report } : {}),
      ...(error.challenge ? { challenge: error.challenge } : {}),
    },
  };
  if (error.retryAfter !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfter))));
  return reply.code(ERROR_STATUS[error.code]).type('application/json; charset=utf-8').send(body);
}

const FASTIFY_CODES: Readonly<Record<string, { code: ErrorCode; message: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', message: 'The request body exceeds 1 MiB.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    message: 'Only application/json bodies are accepted (and application/merge-patch+json for PATCH of a record).',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request', message: 'Content-Length does not match the body.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'bad_request', message: 'The JSON body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'bad_request', message: 'The body is not valid JSON.' },
};

function toAppError(error: FastifyError | AppError): AppError {
  if (isAppError(error)) return error;
  const known = FASTIFY_CODES[error.code];
  if (known) return new AppError(known.code, known.message);
  if (error.validation) {
    const details: ErrorDetail[] = error.validation.map((v) => ({
      path: pathOf(v.instancePath, v.params, error.validationContext),
      message: v.message ?? 'is invalid',
    }));
    const code: ErrorCode = error.validationContext === 'body' ? 'validation_failed' : 'bad_request';
    return new AppError(code, `The request ${error.validationContext ?? 'input'} is invalid.`, { details });
  }
  // JSON.parse errors (including __proto__ poisoning) from the body parser.
  if (error instanceof SyntaxError || error.statusCode === 400) return new AppError('bad_request', 'The body is not valid JSON.');
  if (error.statusCode === 413) return new AppError('payload_too_large');
  if (error.statusCode === 415) return new AppError('unsupported_media_type');
  if (error.statusCode === 404) return new AppError('not_found');
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) return new AppError('bad_request');
  return new AppError('internal');
}

function pathOf(instancePath: string, params: Record<string, unknown>, context: string | undefined): string {
  const missing = params['missingProperty'] ?? params['additionalProperty'];
  const base = context === 'querystring' && instancePath === '' ? '' : instancePath;
  return typeof missing === 'string' ? `${base}/${missing}` : base;
}
