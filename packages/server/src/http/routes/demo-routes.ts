import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEMO_PAGE } from '../demo/demo-page.js';

/** A Host header we are willing to echo into the CSP: a name or IP literal and an optional port, nothing else. */
const HOST_RE = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * `GET /demo/`: a static live-list page (see demo/demo-page.ts). Its only
 * script and stylesheet are inline and allowed by hash; it may talk only to
 * this origin, over HTTP and WebSocket.
 */
export function demoRoutes(app: FastifyInstance): void {
  const html = DEMO_PAGE.html;
  const scriptHash = sha256(DEMO_PAGE.script);
  const styleHash = sha256(DEMO_PAGE.style);

  const policyFor = (request: FastifyRequest): string => {
    // CSP3 lets 'self' cover ws:/wss: of the same host, but older engines
    // (Safari before 15.4) do not: name the socket origin too when the Host is sane.
    const host = request.headers.host;
    const sockets = host !== undefined && HOST_RE.test(host) ? ` ws://${host} wss://${host}` : '';
    return [
      "default-src 'none'",
      `script-src ${scriptHash}`,
      `style-src ${styleHash}`,
      `connect-src 'self'${sockets}`,
      "img-src 'self' data:",
      "base-uri 'none'",
      // The forms are handled by the script; without it nothing is submitted (no password in a URL).
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
  };

  app.get('/demo/', async (request, reply) =>
    reply
      .header('content-security-policy', policyFor(request))
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(html),
  );

  // Relative URLs and the query string (?collection=) must survive: /demo → /demo/.
  app.get('/demo', async (request, reply) => {
    const query = request.url.indexOf('?');
    return reply.redirect(query === -1 ? '/demo/' : `/demo/${request.url.slice(query)}`, 301);
  });
}
