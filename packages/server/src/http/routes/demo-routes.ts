import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadDemoAssets, type DemoAssets } from '../demo/demo-assets.js';
import { pagePolicy } from '../page-policy.js';

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
      reply.header('content-security-policy', pagePolicy(request.headers.host)).header('referrer-policy', 'no-referrer').header('cross-origin-opener-policy', 'same-origin'),
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
