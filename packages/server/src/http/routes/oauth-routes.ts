import type { FastifyInstance } from 'fastify';
import type { OAuthSignIn } from '../../core/auth/oauth/oauth-sign-in.js';
import { principalOf, type AuthHooks } from '../plugins/authenticate.js';
import { authResponseSchema } from './schemas.js';

interface Deps {
  readonly oauth: OAuthSignIn;
  readonly hooks: AuthHooks;
}

export const providerListSchema = {
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'label', 'type'],
        properties: { name: { type: 'string' }, label: { type: 'string' }, type: { type: 'string', enum: ['oidc', 'github'] } },
      },
    },
  },
} as const;

export const identityListSchema = {
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['provider', 'email', 'createdAt'],
        properties: { provider: { type: 'string' }, email: { type: ['string', 'null'] }, createdAt: { type: 'string', format: 'date-time' } },
      },
    },
  },
} as const;

export const exchangeBody = {
  type: 'object',
  required: ['code', 'codeVerifier'],
  additionalProperties: false,
  properties: { code: { type: 'string', maxLength: 256 }, codeVerifier: { type: 'string', maxLength: 256 } },
} as const;

export const linkStartBody = {
  type: 'object',
  required: ['redirect'],
  additionalProperties: false,
  properties: { redirect: { type: 'string', maxLength: 2048 } },
} as const;

export const linkStartSchema = { type: 'object', required: ['url'], properties: { url: { type: 'string', format: 'uri' } } } as const;

const providerParam = { type: 'object', required: ['provider'], properties: { provider: { type: 'string', maxLength: 64 } } } as const;

interface Provider { provider: string }

/** Sign-in with identity providers (docs/auth.md). Redirects are never cached: each carries a one-time secret. */
export function oauthRoutes(app: FastifyInstance, { oauth, hooks }: Deps): void {
  app.get('/api/auth/providers', { schema: { response: { 200: providerListSchema } } }, async () => ({ items: oauth.listProviders() }));

  app.get<{ Params: Provider; Querystring: { redirect?: string; code_challenge?: string } }>(
    '/api/auth/oauth/:provider/start',
    { schema: { params: providerParam } },
    async (request, reply) => {
      const location = await oauth.start(request.params.provider, { redirect: request.query.redirect, codeChallenge: request.query.code_challenge }, { address: request.ip });
      return reply.code(302).header('cache-control', 'no-store').header('location', location).send();
    },
  );

  app.get<{ Params: Provider; Querystring: { state?: string; code?: string; error?: string } }>(
    '/api/auth/oauth/:provider/callback',
    { schema: { params: providerParam } },
    async (request, reply) => {
      const { state, code, error } = request.query;
      const location = await oauth.callback(request.params.provider, { state, code, error });
      return reply.code(302).header('cache-control', 'no-store').header('location', location).send();
    },
  );

  app.post<{ Body: { code: string; codeVerifier: string } }>(
    '/api/auth/oauth/exchange',
    { schema: { body: exchangeBody, response: { 200: authResponseSchema } } },
    async (request) => oauth.exchange(request.body),
  );

  app.post<{ Params: Provider; Body: { redirect: string } }>(
    '/api/auth/oauth/:provider/link/start',
    { preHandler: hooks.requireUser, schema: { params: providerParam, body: linkStartBody, response: { 200: linkStartSchema } } },
    async (request) => ({ url: await oauth.startLink(request.params.provider, principalOf(request), request.body, { address: request.ip }) }),
  );

  app.get('/api/auth/identities', { preHandler: hooks.requireUser, schema: { response: { 200: identityListSchema } } }, async (request) => ({
    items: await oauth.listIdentities(principalOf(request)),
  }));

  app.delete<{ Params: Provider }>('/api/auth/identities/:provider', { preHandler: hooks.requireUser, schema: { params: providerParam } }, async (request, reply) => {
    await oauth.unlink(principalOf(request), request.params.provider);
    return reply.code(204).send();
  });
}
