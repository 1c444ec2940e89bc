import websocket, { type WebSocket } from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RawData } from 'ws';
import { CLOSE_CODES, ERROR_STATUS, type ServerMessage } from '@sigil/protocol';
import type { RealtimeHub } from '../core/realtime/realtime-hub.js';
import { addressKey } from '../core/auth/address-key.js';
import { AppError } from '../core/errors.js';
import { sendError } from '../http/error-handler.js';
import type { Metrics } from '../metrics/metrics.js';
import { FrameWriter } from './frame-writer.js';

export interface RealtimeTransportOptions {
  readonly hub: RealtimeHub;
  /** Allowed browser origins (`*` = any); an upgrade without an Origin header (not a browser) is allowed. */
  readonly corsOrigins: readonly string[];
  readonly maxMessageBytes: number;
  readonly pingIntervalMs: number;
  /** A connection that neither authenticates nor subscribes within this time is closed (4009). */
  readonly idleTimeoutMs: number;
  /**
   * Least time between two writes to a socket; messages queued meanwhile go
   * in one write (see FrameWriter). 0 writes on every turn of the event loop.
   */
  readonly flushIntervalMs: number;
  /** A client with more than this many bytes queued for it is closed with 4008, whatever the message. */
  readonly maxBufferedBytes: number;
  /** `error` replies a connection may get in a minute; the next one closes it with 1008. */
  readonly maxErrorsPerMinute: number;
  /** Open connections in total; one more upgrade is answered 503 before upgrading. */
  readonly maxConnections: number;
  /** Open connections per client address group (see addressKey); one more is answered 429. */
  readonly maxConnectionsPerAddress: number;
  /** Counts refusals, slow-consumer closes and delivery lag (only when metrics are on). */
  readonly metrics?: Metrics | undefined;
}

/** How long a client the server closes has to answer the close frame before it is dropped. */
const CLOSE_GRACE_MS = 5000;

/** What a refused upgrade is told to wait: connections come and go by the second. */
const UPGRADE_RETRY_AFTER_SECONDS = 5;

/**
 * `GET /api/realtime`: the WebSocket transport. Translates frames to hub
 * messages and back; all protocol rules live in the hub.
 */
export async function realtimeRoutes(app: FastifyInstance, opts: RealtimeTransportOptions): Promise<void> {
  // No permessage-deflate: FrameWriter writes frames to the TCP socket itself, in order.
  await app.register(websocket, { options: { maxPayload: opts.maxMessageBytes, perMessageDeflate: false }, errorHandler: onSocketError });
  const alive = new WeakMap<WebSocket, boolean>();
  const sockets = new Set<WebSocket>();
  const { metrics } = opts;
  const frames = new FrameWriter(opts.flushIntervalMs, metrics && ((at) => metrics.delivered(at)));

  const pinger = setInterval(() => {
    for (const socket of sockets) {
      // No pong since the last ping: the peer is gone without a close.
      if (alive.get(socket) === false) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, opts.pingIntervalMs);
  pinger.unref();
  app.addHook('onClose', async () => {
    clearInterval(pinger);
    frames.close();
  });

  const checkOrigin = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const origin = request.headers.origin;
    if (origin === undefined || opts.corsOrigins.includes('*') || opts.corsOrigins.includes(origin)) return;
    // A page served by Sigil itself (e.g. /demo/) is same-origin, not cross-origin.
    if (sameOrigin(origin, request.headers.host)) return;
    await sendError(reply, new AppError('forbidden', `Origin ${origin} is not allowed (CORS_ORIGINS).`));
  };

  // Counted from the upgrade request until its TCP socket closes (the same
  // socket carries the WebSocket), so every way out, a failed upgrade too,
  // gives the place back.
  let open = 0;
  const perAddress = new Map<string, number>();
  const admit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // Plain HTTP requests to this path are not connections to count.
    if (reply.sent || !request.ws) return;
    const key = addressKey(request.ip);
    const mine = perAddress.get(key) ?? 0;
    if (open >= opts.maxConnections) {
      await sendError(reply, new AppError('unavailable', 'Too many realtime connections; retry later.', { retryAfter: UPGRADE_RETRY_AFTER_SECONDS }));
      return;
    }
    if (mine >= opts.maxConnectionsPerAddress) {
      await sendError(reply, new AppError('rate_limited', 'Too many realtime connections from this address.', { retryAfter: UPGRADE_RETRY_AFTER_SECONDS }));
      return;
    }
    open += 1;
    perAddress.set(key, mine + 1);
    request.raw.socket.once('close', () => {
      open -= 1;
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left === 0) perAddress.delete(key);
      else perAddress.set(key, left);
    });
  };

  app.route({
    method: 'GET',
    url: '/api/realtime',
    preValidation: [checkOrigin, admit],
    // A GET without the upgrade gets a real answer rather than an empty 404.
    handler: async (_request, reply) => sendError(reply, new AppError('bad_request', 'This endpoint speaks WebSocket: send a GET with Upgrade: websocket (docs/realtime.md).')),
    wsHandler: (socket) => {
      sockets.add(socket);
      alive.set(socket, true);
      const outbox = frames.outbox(socket);
      const bufferedBytes = (): number => socket.bufferedAmount + outbox.bytes();
      const errors = errorBudget(opts.maxErrorsPerMinute);
      // Server-initiated closes: if the client does not complete the close
      // handshake soon, drop it; ws would otherwise wait 30 s, holding what is
      // queued for it.
      const closeSocket = (code: number, reason: string): void => {
        if (code === CLOSE_CODES.slowConsumer) metrics?.slowConsumerClosed();
        else if (code === CLOSE_CODES.invalidToken) metrics?.authFailure('realtime');
        outbox.flush();
        socket.close(code, reason);
        setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
        // A client closed for flooding (1008) or for not reading (4008) gets no
        // more of our time: stop reading what it keeps sending (ws would parse
        // up to megabytes of tiny frames per turn of the event loop), and
        // half-close, so the close frame and what precedes it still go out
        // and the client learns the code without a handshake we no longer read.
        if (code === CLOSE_CODES.policyViolation || code === CLOSE_CODES.slowConsumer) {
          socket.pause();
          (socket as unknown as { _socket?: { end(): void } })._socket?.end();
        }
      };
      const cut = (code: number, reason: string): void => {
        opts.hub.disconnect(conn);
        closeSocket(code, reason);
      };
      // Every message this socket gets passes here: replies of the hub and of
      // this route alike are held to the same outbound cap and error budget.
      const send = (message: ServerMessage): void => {
        if (socket.readyState !== socket.OPEN) return;
        if (message.type === 'error') {
          if (!errors.spend()) {
            cut(CLOSE_CODES.policyViolation, 'too many invalid messages');
            return;
          }
          if (metrics) countRefusal(metrics, message.code);
        }
        outbox.push(JSON.stringify(message));
        if (bufferedBytes() > opts.maxBufferedBytes) cut(CLOSE_CODES.slowConsumer, 'slow consumer: resume with since');
      };
      const conn = opts.hub.connect({
        send,
        sendText: (text, committedAtMs) => outbox.pushShared(text, committedAtMs),
        close: closeSocket,
        bufferedBytes,
      });
      const idle = setTimeout(() => {
        if (conn.principal === null && conn.subscriptions.size === 0) closeSocket(CLOSE_CODES.idleTimeout, 'no auth or subscribe in time');
      }, opts.idleTimeoutMs);
      idle.unref();

      socket.on('pong', () => alive.set(socket, true));
      socket.on('message', (data: RawData, isBinary: boolean) => {
        // Frames still arriving after we closed are not worth parsing.
        if (socket.readyState !== socket.OPEN) return;
        alive.set(socket, true);
        if (isBinary) {
          void opts.hub.receive(conn, undefined);
          return;
        }
        let message: unknown;
        try {
          message = JSON.parse(textOf(data));
        } catch {
          send({ type: 'error', code: 'bad_request', message: 'Messages must be JSON text.' });
          return;
        }
        void opts.hub.receive(conn, message);
      });
      socket.on('close', () => {
        clearTimeout(idle);
        sockets.delete(socket);
        opts.hub.disconnect(conn);
      });
      socket.on('error', () => socket.terminate());
    },
  });
}

/**
 * At most `perMinute` spends in a fixed one-minute window. A client that
 * makes the odd mistake never meets it; one that sends only garbage is cut
 * off after a minute's worth instead of costing a reply per frame forever.
 */
function errorBudget(perMinute: number): { spend(): boolean } {
  let windowStart = performance.now();
  let spent = 0;
  return {
    spend() {
      const now = performance.now();
      if (now - windowStart >= 60_000) {
        windowStart = now;
        spent = 0;
      }
      spent += 1;
      return spent <= perMinute;
    },
  };
}

/**
 * Errors on an open socket. Those a client causes (a frame over the size
 * limit, invalid UTF-8, a bad opcode, a reset connection) are the client's
 * business: ws has already sent the matching close code, so they are logged
 * at debug level, without a stack, and cannot flood the error log. Anything
 * else is ours and logged as an error.
 */
function onSocketError(this: FastifyInstance, error: Error, socket: WebSocket, request: FastifyRequest): void {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('WS_ERR_') || CLIENT_SOCKET_ERRORS.has(code))) {
    request.log.debug({ wsError: code, reason: error.message }, 'websocket closed for a client error');
  } else {
    request.log.error({ err: error }, 'websocket error');
  }
  socket.terminate();
}

const CLIENT_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** A text frame's payload as a string (ws hands over a Buffer, or fragments). */
function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

function countRefusal(metrics: Metrics, code: keyof typeof ERROR_STATUS): void {
  const status = ERROR_STATUS[code];
  if (status === 401) metrics.authFailure('realtime');
  else if (status === 429) metrics.rateLimited('realtime');
}
