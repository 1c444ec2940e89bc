import type { FastifyInstance } from 'fastify';
import { PREVIEW_MAX_LIMIT, type AccessPreviewInput, type AccessPreviewReader } from '../../core/admin/access-preview.js';
import { principalOf, type AuthHooks } from '../plugins/authenticate.js';
import { rulesSchema } from './collection-routes.js';

interface Deps {
  readonly preview: AccessPreviewReader;
  readonly hooks: AuthHooks;
}

/** Shapes only; the core checks the rules as a PUT would. Exported for the OpenAPI document. */
export const accessPreviewBody = {
  type: 'object',
  additionalProperties: false,
  required: ['collection', 'user'],
  properties: {
    collection: { type: 'string', maxLength: 63 },
    rules: rulesSchema,
    user: { type: ['string', 'null'], maxLength: 64, description: 'A username, or null for an anonymous caller' },
    limit: { type: 'integer', minimum: 1, maximum: PREVIEW_MAX_LIMIT, description: `Records shown per part, 1–${PREVIEW_MAX_LIMIT} (default 20)` },
  },
} as const;

const previewPart = {
  type: 'object',
  additionalProperties: false,
  required: ['allowed', 'items', 'hasMore'],
  properties: {
    allowed: { type: 'boolean', description: 'false: the rules let this caller read nothing this way (the collection answers them 404)' },
    items: { type: 'array', items: { type: 'object', additionalProperties: true }, description: 'The first records, in list order' },
    hasMore: { type: 'boolean' },
  },
} as const;

export const accessPreviewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['user', 'list', 'view'],
  properties: {
    user: { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: true }], description: 'The user previewed, null for anonymous' },
    list: { ...previewPart, description: 'What their list and subscriptions would return (view and list rules together)' },
    view: { ...previewPart, description: 'What they could read by id (the view rule)' },
  },
} as const;

export function accessPreviewRoutes(app: FastifyInstance, { preview, hooks }: Deps): void {
  app.post<{ Body: AccessPreviewInput }>('/api/admin/access-preview', { preHandler: hooks.requireUser, schema: { body: accessPreviewBody, response: { 200: accessPreviewSchema } } }, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    return preview(principalOf(request), request.body);
  });
}
