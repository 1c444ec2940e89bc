import type { FastifyInstance } from 'fastify';
import type { ServerStatusReader } from '../../core/admin/server-status.js';
import { principalOf, type AuthHooks } from '../plugins/authenticate.js';

interface Deps {
  readonly status: ServerStatusReader;
  readonly hooks: AuthHooks;
}

const count = { type: 'integer', minimum: 0 } as const;

/** The answer of `GET /api/admin/status`; the OpenAPI document uses it as is. */
export const serverStatusSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'engine', 'startedAt', 'uptimeSeconds', 'realtime', 'changeLog', 'collections'],
  properties: {
    version: { type: 'string', description: 'The server version' },
    engine: { type: 'string', enum: ['sqlite', 'postgres'], description: 'The storage engine' },
    startedAt: { type: 'string', format: 'date-time', description: 'When this instance started' },
    uptimeSeconds: count,
    realtime: {
      type: 'object',
      additionalProperties: false,
      required: ['connections', 'subscriptions'],
      description: 'Open WebSocket connections on this instance and their subscriptions',
      properties: { connections: count, subscriptions: count },
    },
    changeLog: {
      type: 'object',
      additionalProperties: false,
      required: ['oldestSeq', 'latestSeq', 'size', 'retentionSeconds'],
      description: 'The change log realtime clients resume from: seqs oldestSeq..latestSeq, kept for retentionSeconds (REALTIME_RETENTION)',
      properties: { oldestSeq: { type: ['integer', 'null'] }, latestSeq: count, size: count, retentionSeconds: count },
    },
    collections: {
      type: 'array',
      description: 'Every collection with its record count, by name',
      items: { type: 'object', additionalProperties: false, required: ['name', 'records'], properties: { name: { type: 'string' }, records: count } },
    },
  },
} as const;

export function adminRoutes(app: FastifyInstance, { status, hooks }: Deps): void {
  app.get('/api/admin/status', { preHandler: hooks.requireUser, schema: { response: { 200: serverStatusSchema } } }, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    return status(principalOf(request));
  });
}
