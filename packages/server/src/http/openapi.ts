import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../core/auth/principal.js';
import type { CollectionService } from '../core/collections/collection-service.js';
import { buildOpenApiDocument } from './openapi/openapi-document.js';
import type { AuthHooks } from './plugins/authenticate.js';

/**
 * `GET /api/openapi.json`. The document lists the collections the caller
 * could list (like GET /api/collections), so it is built per audience: admin,
 * signed-in user, anonymous. It is regenerated when the collections change —
 * on this instance or another — detected by a hash of their definitions.
 */
export function openApiRoutes(app: FastifyInstance, { collections, hooks }: { readonly collections: CollectionService; readonly hooks: AuthHooks }): void {
  const cache = new Map<string, { hash: string; text: string }>();
  const audience = (p: Principal | null): string => (p === null ? 'anonymous' : p.role);

  app.get('/api/openapi.json', { preHandler: hooks.optionalUser }, async (request, reply) => {
    const visible = await collections.list(request.principal);
    const hash = createHash('sha256').update(JSON.stringify(visible)).digest('base64url');
    const key = audience(request.principal);
    let entry = cache.get(key);
    if (entry?.hash !== hash) {
      entry = { hash, text: JSON.stringify(buildOpenApiDocument(visible)) };
      cache.set(key, entry);
    }
    return reply.type('application/json; charset=utf-8').send(entry.text);
  });
}
