import type { FastifyInstance } from 'fastify';
import type { UserPatch, UserService } from '../../core/users/user-service.js';
import { principalOf, type AuthHooks } from '../plugins/authenticate.js';
import { userSchema, usernameParams } from './schemas.js';

interface Deps {
  readonly users: UserService;
  readonly hooks: AuthHooks;
}

const patchBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    email: { type: ['string', 'null'], maxLength: 254 },
    password: { type: 'string', maxLength: 1024 },
    currentPassword: { type: 'string', maxLength: 1024 },
    role: { type: 'string', enum: ['user', 'admin'] },
    disabled: { type: 'boolean' },
    emailVerified: { type: 'boolean' },
  },
} as const;

const userEnvelope = { type: 'object', required: ['user'], properties: { user: userSchema } } as const;
/** The PATCH answer: `pendingEmail` while an address change waits for its link. */
const userUpdateEnvelope = { type: 'object', required: ['user'], properties: { user: userSchema, pendingEmail: { type: 'string' } } } as const;

export function userRoutes(app: FastifyInstance, { users, hooks }: Deps): void {
  app.get<{ Querystring: { limit?: string; after?: string; search?: string } }>(
    '/api/users',
    {
      preHandler: hooks.requireUser,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'string', maxLength: 4 }, after: { type: 'string', maxLength: 512 }, search: { type: 'string', maxLength: 100 } },
        },
        response: {
          200: { type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: userSchema }, nextCursor: { type: ['string', 'null'] } } },
        },
      },
    },
    async (request) => users.list(principalOf(request), request.query),
  );

  app.get<{ Params: { username: string } }>(
    '/api/users/:username',
    { preHandler: hooks.requireUser, schema: { params: usernameParams, response: { 200: userEnvelope } } },
    async (request) => ({ user: await users.get(principalOf(request), request.params.username) }),
  );

  app.patch<{ Params: { username: string }; Body: UserPatch }>(
    '/api/users/:username',
    { preHandler: hooks.requireUser, schema: { params: usernameParams, body: patchBody, response: { 200: userUpdateEnvelope } } },
    async (request) => users.update(principalOf(request), request.params.username, request.body, { address: request.ip }),
  );

  app.delete<{ Params: { username: string } }>(
    '/api/users/:username',
    { preHandler: hooks.requireUser, schema: { params: usernameParams } },
    async (request, reply) => {
      await users.remove(principalOf(request), request.params.username);
      return reply.code(204).send();
    },
  );
}
