import type { Duplex } from 'node:stream';

/** How much more to read and discard after the answer, and for how long, before closing anyway (HTTP_LINGER_MB, HTTP_LINGER_TIME). */
export interface LingerBounds {
  readonly maxBytes: number;
  readonly maxMs: number;
}

const POLL_MS = 20;

const lingering = new WeakSet<Duplex>();

/** True while `lingeringClose` is discarding what the client still sends on this socket. */
export function isLingering(socket: Duplex): boolean {
  return lingering.has(socket);
}

/**
 * Closes a connection whose answer has been written while the client may
 * still be sending (a body over the limit, a request the parser refused).
 * Closing at once makes the kernel answer the client's next bytes with a
 * reset, and a reset destroys the answer in the client's receive buffer
 * before it reads it (EPIPE/ECONNRESET instead of a 413). As RFC 9112 §9.6
 * says: half-close (FIN after the answer), keep reading and discarding, and
 * close fully once the client is done: `done` resolves (e.g. the request
 * body ended), the client closes its side, or a bound of bytes or time is
 * reached, so nobody can keep the socket busy for long.
 */
export function lingeringClose(socket: Duplex, bounds: LingerBounds, done?: Promise<unknown>): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  const startBytes = bytesRead(socket);
  const startedAt = Date.now();
  const close = (): void => {
    clearInterval(timer);
    socket.destroy();
  };
  // bytesRead counts what the HTTP parser consumes from the handle too, where no 'data' event is emitted.
  const timer = setInterval(() => {
    if (bytesRead(socket) - startBytes > bounds.maxBytes || Date.now() - startedAt > bounds.maxMs) close();
  }, POLL_MS);
  timer.unref();
  socket.once('close', () => clearInterval(timer));
  socket.once('end', close);
  socket.on('error', close);
  void done?.then(close, close);
  socket.end();
  socket.resume();
}

function bytesRead(socket: Duplex): number {
  const count = (socket as Duplex & { bytesRead?: number }).bytesRead;
  return typeof count === 'number' ? count : 0;
}
