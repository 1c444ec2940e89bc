import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadDemoAssets, type DemoAssets } from '../demo/demo-assets.js';

/** A Host header we are willing to echo into the CSP: a name or IP literal and an optional port, nothing else. */
const HOST_RE = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The page's policy: its own script and stylesheet files, nothing inline, and connections to this origin only. */
export function demoPolicy(host: string | undefined): string {
  // CSP3 lets 'self' cover ws:/wss: of the same host, but older engines
  // (Safari before 15.4) do not: name the socket origin too when the Host is sane.
  const sockets = host !== undefined && HOST_RE.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${sockets}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    // The forms are handled by the script; without it nothing is submitted (no password in a URL).
    "form-action 'none'",
    "frame-ancestors 'none'",
    // The script writes text only: a string reaching an HTML or script sink is refused outright.
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

/**
 * `GET /demo/`: a live list of a collection's records on @sigil/client
 * (packages/server/demo/, bundled into dist/demo/ by `npm run build`). The
 * files are read once, here: a server without them does not start.
 */
export function demoRoutes(app: FastifyInstance, assets: DemoAssets = loadDemoAssets()): void {
  const send = (reply: FastifyReply, type: string, body: string): FastifyReply =>
    reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').type(type).send(body);

  app.get('/demo/', async (request: FastifyRequest, reply) =>
    send(
      reply.header('content-security-policy', demoPolicy(request.headers.host)).header('referrer-policy', 'no-referrer').header('cross-origin-opener-policy', 'same-origin'),
      'text/html; charset=utf-8',
      assets.html,
    ),
  );
  app.get('/demo/demo.js', async (_request, reply) => send(reply, 'text/javascript; charset=utf-8', assets.script));
  app.get('/demo/demo.css', async (_request, reply) => send(reply, 'text/css; charset=utf-8', assets.css));

  // Relative URLs and the query string (?collection=) must survive: /demo → /demo/.
  app.get('/demo', async (request, reply) => {
    const query = request.url.indexOf('?');
    return reply.redirect(query === -1 ? '/demo/' : `/demo/${request.url.slice(query)}`, 301);
  });
}
