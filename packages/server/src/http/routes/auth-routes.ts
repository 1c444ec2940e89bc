import type { FastifyInstance } from 'fastify';
import type { AuthService } from '../../core/auth/auth-service.js';
import type { PasswordResets } from '../../core/auth/password-reset.js';
import { principalOf, type AuthHooks } from '../plugins/authenticate.js';
import { authResponseSchema, pendingRegistrationSchema, refreshBodySchema, tokenPairSchema, userSchema } from './schemas.js';

interface Deps {
  readonly auth: AuthService;
  readonly passwordResets: PasswordResets;
  readonly hooks: AuthHooks;
}

const credentials = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', maxLength: 64 },
    password: { type: 'string', maxLength: 1024 },
  },
} as const;

const registration = {
  ...credentials,
  properties: { ...credentials.properties, email: { type: ['string', 'null'], maxLength: 254 } },
} as const;

export const forgotPasswordBody = {
  type: 'object',
  required: ['email'],
  additionalProperties: false,
  properties: { email: { type: 'string', maxLength: 254 } },
} as const;

export const resetPasswordBody = {
  type: 'object',
  required: ['token', 'password'],
  additionalProperties: false,
  properties: { token: { type: 'string', maxLength: 256 }, password: { type: 'string', maxLength: 1024 } },
} as const;

export function authRoutes(app: FastifyInstance, { auth, passwordResets, hooks }: Deps): void {
  app.post<{ Body: { username: string; password: string; email?: string | null } }>(
    '/api/auth/register',
    { schema: { body: registration, response: { 201: authResponseSchema, 202: pendingRegistrationSchema } } },
    async (request, reply) => {
      const answer = await auth.register(request.body, { address: request.ip });
      // 202: the account exists, but signing in waits for the mailed link (AUTH_REQUIRE_VERIFIED_EMAIL).
      return reply.code('accessToken' in answer ? 201 : 202).send(answer);
    },
  );

  app.post<{ Body: { username: string; password: string } }>(
    '/api/auth/login',
    { schema: { body: credentials, response: { 200: authResponseSchema } } },
    async (request) => auth.login(request.body, { address: request.ip }),
  );

  app.post<{ Body: { refreshToken: string } }>(
    '/api/auth/refresh',
    { schema: { body: refreshBodySchema, response: { 200: tokenPairSchema } } },
    async (request) => auth.refresh(request.body.refreshToken),
  );

  app.post<{ Body: { refreshToken: string } }>('/api/auth/logout', { schema: { body: refreshBodySchema } }, async (request, reply) => {
    await auth.logout(request.body.refreshToken);
    return reply.code(204).send();
  });

  // 202 and no body whether or not an account has the address (no enumeration).
  app.post<{ Body: { email: string } }>('/api/auth/forgot-password', { schema: { body: forgotPasswordBody } }, async (request, reply) => {
    await passwordResets.request(request.body, { address: request.ip });
    return reply.code(202).send();
  });

  app.post<{ Body: { token: string; password: string } }>('/api/auth/reset-password', { schema: { body: resetPasswordBody } }, async (request, reply) => {
    await passwordResets.reset(request.body);
    return reply.code(204).send();
  });

  app.get(
    '/api/auth/me',
    { preHandler: hooks.requireUser, schema: { response: { 200: { type: 'object', required: ['user'], properties: { user: userSchema } } } } },
    async (request) => ({ user: principalOf(request).user }),
  );
}
