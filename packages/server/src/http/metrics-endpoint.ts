import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { MetricsConfig } from '../config/config.js';
import { AppError } from '../core/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { sendError } from './error-handler.js';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Whether an Authorization header carries the token; compares digests in constant time. */
function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice(7).trim()), digest(token));
}

const UNAUTHORIZED = 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.';

/**
 * `GET /metrics` in the Prometheus text format. On the API's own port it
 * needs `METRICS_TOKEN`; with `METRICS_LISTEN` it is served only on that
 * separate address (a private interface, or a port the firewall keeps to
 * the scraper), with the token too if one is set; that listener starts when
 * the app is ready and stops when it closes.
 */
export function installMetricsEndpoint(app: FastifyInstance, metrics: Metrics, config: MetricsConfig, onListening: (url: string) => void): void {
  const { token, listen } = config;
  if (listen === undefined) {
    app.get('/metrics', async (request, reply) => {
      if (token === undefined || !bearerMatches(request.headers.authorization, token)) {
        void reply.header('www-authenticate', 'Bearer');
        return sendError(reply, new AppError('unauthorized', UNAUTHORIZED));
      }
      const { contentType, body } = await metrics.render();
      return reply.header('cache-control', 'no-store').type(contentType).send(body);
    });
    return;
  }

  let server: Server | undefined;
  // onReady, not onListen: listen() waits for it, so the metrics address is known once the API listens.
  app.addHook('onReady', async () => {
    server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      const answer = (status: number, body: string, headers: Record<string, string> = {}): void => {
        response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
        response.end(body);
      };
      if (path !== '/metrics') return answer(404, 'Only GET /metrics is served here.\n');
      if (request.method !== 'GET' && request.method !== 'HEAD') return answer(405, 'Only GET /metrics is served here.\n', { allow: 'GET, HEAD' });
      if (token !== undefined && !bearerMatches(request.headers.authorization, token)) return answer(401, `${UNAUTHORIZED}\n`, { 'www-authenticate': 'Bearer' });
      metrics.render().then(
        ({ contentType, body }) => answer(200, request.method === 'HEAD' ? '' : body, { 'content-type': contentType }),
        (err: unknown) => {
          app.log.error({ err }, 'metrics failed');
          answer(500, 'Metrics failed; see the server log.\n');
        },
      );
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(listen.port, listen.host, () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    onListening(`http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`);
  });
  app.addHook('onClose', async () => {
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  });
}
