import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientErrorHandler } from '../../src/http/client-errors.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logger.js';

/**
 * The client-error answer and the lingering close on real sockets: a server
 * that hands each connection to the handler as Node's HTTP server would.
 */
// Small bounds keep the test quick; the defaults (16 MiB, 5 s) come from the configuration.
const LINGER_MAX_BYTES = 4 * 1024 * 1024;
const LINGER_MAX_MS = 1000;

describe('client-error answers and the lingering close', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  async function serve(code: string): Promise<number> {
    const handler = createClientErrorHandler(() => createLogger({ level: 'silent' }), { maxBytes: LINGER_MAX_BYTES, maxMs: LINGER_MAX_MS });
    server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
      socket.pause();
      handler(Object.assign(new Error('parser'), { code }), socket);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  function client(port: number): { socket: Socket; text: () => string; closed: Promise<number> } {
    // allowHalfOpen: a Node client would otherwise close its side as soon as the server's FIN arrives.
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    const started = Date.now();
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
    return { socket, text: () => Buffer.concat(chunks).toString('utf8'), closed };
  }

  it('a request timeout is a complete 408 request_timeout in the error body', async () => {
    const c = client(await serve('ERR_HTTP_REQUEST_TIMEOUT'));
    c.socket.end();
    await c.closed;
    expect(c.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(c.text()).toContain('connection: close');
    expect(JSON.parse(c.text().split('\r\n\r\n')[1] ?? '')).toEqual({ error: { code: 'request_timeout', message: expect.any(String) as string } });
  });

  it('closes as soon as the client closes its side', async () => {
    const c = client(await serve('HPE_INVALID_METHOD'));
    c.socket.end();
    expect(await c.closed).toBeLessThan(1000);
    expect(c.text()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it('stops discarding after a bounded number of bytes from a client that never stops', async () => {
    const c = client(await serve('HPE_INVALID_METHOD'));
    let sent = 0;
    const piece = Buffer.alloc(256 * 1024);
    const pump = (): void => {
      while (!c.socket.destroyed && sent < 64 * LINGER_MAX_BYTES) {
        sent += piece.length;
        if (!c.socket.write(piece)) return void c.socket.once('drain', pump);
      }
    };
    pump();
    const elapsed = await c.closed;
    expect(elapsed).toBeLessThan(LINGER_MAX_MS);
    // At least the bound was read; beyond it only what the socket buffers hold and one poll's worth on loopback.
    expect(sent).toBeGreaterThan(LINGER_MAX_BYTES);
    expect(sent).toBeLessThan(16 * LINGER_MAX_BYTES);
  });

  it('stops waiting after a bounded time for a client that neither sends nor closes', async () => {
    const port = await serve('HPE_INVALID_METHOD');
    // The server's side is what must close: a half-open client notices only when it next writes.
    const serverClosed = new Promise<number>((resolve) => {
      server!.once('connection', (socket: Socket) => {
        const started = Date.now();
        socket.on('close', () => resolve(Date.now() - started));
      });
    });
    const c = client(port);
    const elapsed = await serverClosed;
    expect(elapsed).toBeGreaterThanOrEqual(LINGER_MAX_MS - 100);
    expect(elapsed).toBeLessThan(LINGER_MAX_MS + 1000);
    expect(c.text()).toContain('"bad_request"');
    c.socket.destroy();
  }, LINGER_MAX_MS + 5000);

  it('takes its bounds from HTTP_LINGER_MB and HTTP_LINGER_TIME, with safe defaults and limits', () => {
    const cwd = '/tmp';
    expect(loadConfig({}, { cwd }).linger).toEqual({ maxBytes: 16 * 1024 * 1024, maxMs: 5000 });
    expect(loadConfig({ HTTP_LINGER_MB: '0', HTTP_LINGER_TIME: '30s' }, { cwd }).linger).toEqual({ maxBytes: 0, maxMs: 30_000 });
    expect(() => loadConfig({ HTTP_LINGER_MB: '2048' }, { cwd })).toThrow(/HTTP_LINGER_MB/);
    expect(() => loadConfig({ HTTP_LINGER_TIME: '5m' }, { cwd })).toThrow(/HTTP_LINGER_TIME/);
    expect(() => loadConfig({ HTTP_LINGER_TIME: 'soon' }, { cwd })).toThrow(/HTTP_LINGER_TIME/);
  });
});
