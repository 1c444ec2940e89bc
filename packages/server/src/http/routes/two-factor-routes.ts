import type { FastifyInstance } from 'fastify';
import type { AuthService } from '../../core/auth/auth-service.js';
import type { TwoFactor } from '../../core/auth/two-factor.js';
import { principalOf, type AuthHooks } from '../plugins/authenticate.js';
import { authResponseSchema, usernameParams } from './schemas.js';

interface Deps {
  readonly auth: AuthService;
  readonly twoFactor: TwoFactor;
  readonly hooks: AuthHooks;
}

// Codes are 6 digits or a 19-character recovery code; a little room for spaces, the rest is malformed.
const code = { type: 'string', minLength: 1, maxLength: 64 } as const;
const password = { type: 'string', maxLength: 1024 } as const;

export const twoFactorSetupBody = { type: 'object', required: ['password'], additionalProperties: false, properties: { password } } as const;
export const twoFactorCodeBody = { type: 'object', required: ['code'], additionalProperties: false, properties: { code } } as const;
export const twoFactorDisableBody = { type: 'object', required: ['password', 'code'], additionalProperties: false, properties: { password, code } } as const;
export const twoFactorVerifyBody = {
  type: 'object',
  required: ['challenge', 'code'],
  additionalProperties: false,
  properties: { challenge: { type: 'string', minLength: 1, maxLength: 256 }, code },
} as const;

export const twoFactorSetupSchema = {
  type: 'object',
  required: ['secret', 'otpauthUri'],
  properties: { secret: { type: 'string' }, otpauthUri: { type: 'string' } },
} as const;

export const twoFactorStatusSchema = {
  type: 'object',
  required: ['enabled', 'pending', 'recoveryCodesLeft'],
  properties: { enabled: { type: 'boolean' }, pending: { type: 'boolean' }, recoveryCodesLeft: { type: 'integer', minimum: 0 } },
} as const;

export const recoveryCodesSchema = {
  type: 'object',
  required: ['recoveryCodes'],
  properties: { recoveryCodes: { type: 'array', items: { type: 'string' } } },
} as const;

/** Two-factor enrolment, the login challenge's completion, and the admin reset (docs/auth.md). */
export function twoFactorRoutes(app: FastifyInstance, { auth, twoFactor, hooks }: Deps): void {
  app.get(
    '/api/auth/2fa',
    { preHandler: hooks.requireUser, schema: { response: { 200: twoFactorStatusSchema } } },
    async (request) => twoFactor.status(principalOf(request)),
  );

  app.post<{ Body: { password: string } }>(
    '/api/auth/2fa/setup',
    { preHandler: hooks.requireUser, schema: { body: twoFactorSetupBody, response: { 200: twoFactorSetupSchema } } },
    async (request) => twoFactor.setup(principalOf(request), request.body, { address: request.ip }),
  );

  app.post<{ Body: { code: string } }>(
    '/api/auth/2fa/enable',
    { preHandler: hooks.requireUser, schema: { body: twoFactorCodeBody, response: { 200: recoveryCodesSchema } } },
    async (request) => twoFactor.enable(principalOf(request), request.body, { address: request.ip }),
  );

  app.post<{ Body: { password: string; code: string } }>(
    '/api/auth/2fa/disable',
    { preHandler: hooks.requireUser, schema: { body: twoFactorDisableBody } },
    async (request, reply) => {
      await twoFactor.disable(principalOf(request), request.body, { address: request.ip });
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { code: string } }>(
    '/api/auth/2fa/recovery-codes',
    { preHandler: hooks.requireUser, schema: { body: twoFactorCodeBody, response: { 200: recoveryCodesSchema } } },
    async (request) => twoFactor.regenerateRecoveryCodes(principalOf(request), request.body, { address: request.ip }),
  );

  app.post<{ Body: { challenge: string; code: string } }>(
    '/api/auth/2fa/verify',
    { schema: { body: twoFactorVerifyBody, response: { 200: authResponseSchema } } },
    async (request) => auth.completeTwoFactor(request.body, { address: request.ip }),
  );

  app.delete<{ Params: { username: string } }>(
    '/api/users/:username/2fa',
    { preHandler: hooks.requireUser, schema: { params: usernameParams } },
    async (request, reply) => {
      await twoFactor.reset(principalOf(request), request.params.username);
      return reply.code(204).send();
    },
  );
}
