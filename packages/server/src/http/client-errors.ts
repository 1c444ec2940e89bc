import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, type ErrorBody } from '@sigil/protocol';
import { AppError } from '../core/errors.js';
import { isLingering, lingeringClose, type LingerBounds } from './lingering-close.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** What Node's HTTP parser reports, as a Sigil error. */
function clientErrorOf(err: NodeJS.ErrnoException): AppError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new AppError('headers_too_large', 'The request line and headers exceed 16 KiB.');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('request_timeout');
  return new AppError('bad_request', 'The request is not valid HTTP/1.1.');
}

/**
 * The server's 'clientError' handler: the request could not even be parsed,
 * so no route, hook or reply exists. Writes one complete HTTP/1.1 answer with
 * the error body (Fastify's default body is not ours), then closes politely.
 */
export function createClientErrorHandler(log: () => FastifyBaseLogger, linger: LingerBounds): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    // A reset peer cannot be answered; a lingering socket already has its answer.
    if (err.code === 'ECONNRESET' || socket.destroyed || isLingering(socket)) return;
    const error = clientErrorOf(err);
    log().debug({ code: error.code, parserError: err.code }, 'unparsable request');
    // Node's own rule: never write into a response that has started.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    socket.write(rawErrorResponse(error, {}));
    lingeringClose(socket, linger);
  };
}

/** A complete HTTP/1.1 error response (status line, headers, body) that ends the connection. */
export function rawErrorResponse(error: AppError, headers: Readonly<Record<string, string | number | readonly string[] | undefined>>): string {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  const text = JSON.stringify(body);
  const status = ERROR_STATUS[error.code];
  const all: Record<string, string | number | readonly string[] | undefined> = {
    ...SECURITY_HEADERS,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
  };
  const lines = Object.entries(all).flatMap(([name, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v: string | number) => `${name}: ${String(v).replace(/[\r\n]/g, '')}`),
  );
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n${text}`;
}

/**
 * Answers an error while the request body is still arriving (over the body
 * limit): the answer is written on the socket directly so that the
 * connection can linger until the client has finished sending, instead of
 * the reset Node's own close would cause. Headers already set on the reply
 * (CORS, security) are kept.
 */
export function answerWhileReceiving(request: FastifyRequest, reply: FastifyReply, error: AppError, linger: LingerBounds): void {
  const socket = request.raw.socket;
  const headers = reply.getHeaders();
  void reply.hijack();
  socket.write(rawErrorResponse(error, headers));
  const bodyDone = new Promise<void>((resolve) => {
    request.raw.once('end', resolve);
    request.raw.once('aborted', resolve);
    request.raw.once('close', resolve);
  });
  // Discard the rest of the body: it is read only to be thrown away.
  request.raw.on('data', () => undefined);
  request.raw.resume();
  lingeringClose(socket, linger, bodyDone);
}
