import type { FastifyInstance } from 'fastify';
import { AppError } from '../../core/errors.js';
import type { Store } from '../../core/storage/store.js';

export function healthRoutes(app: FastifyInstance, { store }: { readonly store: Store }): void {
  app.get('/api/health', async () => {
    try {
      await store.ping();
    } catch (err) {
      throw new AppError('unavailable', 'The database does not answer.', { cause: err });
    }
    return { status: 'ok' };
  });
}
