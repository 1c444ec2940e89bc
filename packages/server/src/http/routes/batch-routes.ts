import type { FastifyInstance } from 'fastify';
import type { RecordService } from '../../core/records/record-service.js';
import type { AuthHooks } from '../plugins/authenticate.js';

interface Deps {
  readonly records: RecordService;
  readonly hooks: AuthHooks;
}

/**
 * `POST /api/batch` (SPEC §4.8): translation only. The body's shape is
 * checked by the record service, so that a malformed operation is answered
 * with its index like any other failing one.
 */
export function batchRoutes(app: FastifyInstance, { records, hooks }: Deps): void {
  app.post<{ Body: unknown }>('/api/batch', { preHandler: hooks.optionalUser, schema: { body: { type: 'object' } } }, async (request) => {
    return { results: await records.batch(request.principal, request.body) };
  });
}
