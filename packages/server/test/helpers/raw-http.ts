import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** How the connection ended on the client side: `close` is a clean FIN, anything else an error code. */
  readonly ending: string;
}

/**
 * Sends bytes over a real TCP socket and reads until the server closes it.
 * `parts` are written one after another, waiting for each to drain, so a
 * test keeps sending while the server may already have answered. Like most
 * HTTP clients (curl, a browser's fetch of a request body), it reads the
 * response only once everything is sent: a server that resets the
 * connection meanwhile destroys an answer that is already on its way.
 */
export async function rawExchange(url: string, parts: readonly (string | Buffer)[], opts: { timeoutMs?: number } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const received: Buffer[] = [];
  let ending = 'close';
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      ending = err.code ?? err.message;
    });
    socket.on('close', () => resolve());
  });
  const timer = setTimeout(() => {
    ending = 'timeout';
    socket.destroy();
  }, opts.timeoutMs ?? 10_000);
  socket.pause();
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  for (const part of parts) {
    if (socket.destroyed || socket.writableEnded) break;
    const flushed = socket.write(part);
    if (!flushed) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), done]);
  }
  socket.resume();
  await done;
  clearTimeout(timer);
  return { ...parse(Buffer.concat(received).toString('latin1')), ending };
}

function parse(text: string): Omit<RawResponse, 'ending'> {
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) return { status: 0, headers: {}, body: text };
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: Buffer.from(text.slice(split + 4), 'latin1').toString('utf8') };
}

/** A chunked request body of `totalBytes`, as `pieces` separate chunks. */
export function chunkedBody(totalBytes: number, pieces: number): Buffer[] {
  const size = Math.ceil(totalBytes / pieces);
  const chunk = Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), Buffer.alloc(size, 0x61), Buffer.from('\r\n')]);
  return [...Array.from({ length: pieces }, () => chunk), Buffer.from('0\r\n\r\n')];
}
