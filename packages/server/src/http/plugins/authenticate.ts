import type { FastifyRequest } from 'fastify';
import type { AuthService } from '../../core/auth/auth-service.js';
import type { Principal } from '../../core/auth/principal.js';
import { AppError } from '../../core/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * Route-level authentication. Only routes that use an identity look at the
 * Authorization header, so a stale token sent to /api/auth/login is harmless.
 */
export function createAuthHooks(auth: AuthService) {
  async function identify(request: FastifyRequest): Promise<Principal | null> {
    const header = request.headers.authorization;
    if (header === undefined) return null;
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    if (!match?.[1]) throw new AppError('unauthorized', 'The Authorization header must be "Bearer <accessToken>".');
    return auth.authenticate(match[1]);
  }

  return {
    /** preHandler: 401 without a valid token. */
    requireUser: async (request: FastifyRequest): Promise<void> => {
      const principal = await identify(request);
      if (!principal) throw new AppError('unauthorized');
      request.principal = principal;
    },
    /** preHandler: anonymous is fine, but a token that is sent must be valid. */
    optionalUser: async (request: FastifyRequest): Promise<void> => {
      request.principal = await identify(request);
    },
  };
}

export type AuthHooks = ReturnType<typeof createAuthHooks>;

/** The principal set by `requireUser`; throws if a route forgot the hook. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthorized');
  return request.principal;
}
