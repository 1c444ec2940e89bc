import type { FastifyInstance } from 'fastify';
import type { EmailVerifications } from '../../core/auth/email-verification.js';
import { requireAdmin } from '../../core/auth/principal.js';
import { principalOf, type AuthHooks } from '../plugins/authenticate.js';
import { usernameParams } from './schemas.js';

interface Deps {
  readonly emailVerifications: EmailVerifications;
  readonly hooks: AuthHooks;
}

export const verifyEmailBody = {
  type: 'object',
  required: ['token'],
  additionalProperties: false,
  properties: { token: { type: 'string', maxLength: 256 } },
} as const;

/** Signed in: no body (or an empty one). Anonymous: the address to mail. */
export const resendVerificationBody = {
  type: 'object',
  additionalProperties: false,
  properties: { email: { type: 'string', maxLength: 254 } },
} as const;

/** Email verification (docs/auth.md#email-verification): following a link, and asking for a new one. */
export function emailVerificationRoutes(app: FastifyInstance, { emailVerifications, hooks }: Deps): void {
  app.post<{ Body: { token: string } }>('/api/auth/verify-email', { schema: { body: verifyEmailBody } }, async (request, reply) => {
    await emailVerifications.verify(request.body);
    return reply.code(204).send();
  });

  // Signed in: a new link for the caller's pending change or unverified address (409 when there is none).
  // Anonymous, with { email }: like forgot-password, the same 202 whatever the address.
  app.post<{ Body: { email?: string } }>(
    '/api/auth/resend-verification',
    {
      // No body at all (signed in) is an empty one.
      preValidation: async (request) => {
        request.body ??= {};
      },
      preHandler: hooks.optionalUser,
      schema: { body: resendVerificationBody },
    },
    async (request, reply) => {
      if (request.principal) await emailVerifications.resend({ userId: request.principal.userId });
      else await emailVerifications.resendAnonymous(request.body, { address: request.ip });
      return reply.code(202).send();
    },
  );

  app.post<{ Params: { username: string } }>(
    '/api/users/:username/resend-verification',
    { preHandler: hooks.requireUser, schema: { params: usernameParams } },
    async (request, reply) => {
      requireAdmin(principalOf(request), 'resend verification mails for a user');
      await emailVerifications.resend({ username: request.params.username.toLowerCase() });
      return reply.code(202).send();
    },
  );
}
