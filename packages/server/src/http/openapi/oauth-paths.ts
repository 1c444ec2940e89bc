import { exchangeBody, identityListSchema, linkStartBody, linkStartSchema, providerListSchema } from '../routes/oauth-routes.js';
import { BEARER, body, json, NO_CONTENT, op, pathParam, ref, type Doc } from './openapi-parts.js';

const FOUND = (description: string): Doc => ({
  description,
  headers: { Location: { description: 'Where the browser goes next', required: true, schema: { type: 'string', format: 'uri' } } },
});
const required = (name: string, description: string, schema: Doc): Doc => ({ name, in: 'query', required: true, description, schema });
const optional = (name: string, description: string): Doc => ({ name, in: 'query', required: false, description, schema: { type: 'string' } });

/** Sign-in with identity providers (docs/auth.md, "Sign in with an identity provider"). */
export function oauthPaths(): Doc {
  const auth = ['auth'];
  const provider = pathParam('provider', 'A configured provider: a name of OIDC_PROVIDERS, or github');
  return {
    '/api/auth/providers': {
      get: op('listIdentityProviders', 'Identity providers to sign in with', { tags: auth, description: 'The configured providers (OIDC_PROVIDERS, GitHub), for sign-in buttons.', errors: [], responses: { 200: json(providerListSchema) } }),
    },
    '/api/auth/oauth/{provider}/start': {
      parameters: [provider],
      get: op('getProviderAuthorization', 'Start signing in with a provider (browser navigation)', {
        tags: auth,
        description: 'Remembers the attempt (state, nonce, PKCE; 10 minutes, once) and redirects to the provider. `redirect` must be allowed by OAUTH_REDIRECT_URLS or be under the dashboard (/_/); anything else is 400 without a redirect. Rate limited per client address. 503 when the provider\'s discovery fails.',
        parameters: [
          required('redirect', 'Where the browser comes back to with the sign-in code in the fragment', { type: 'string', format: 'uri', maxLength: 2048 }),
          required('code_challenge', 'base64url(SHA-256(verifier)) of a PKCE verifier the app keeps for the exchange', { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' }),
        ],
        errors: [400, 404, 429, 503],
        responses: { 302: FOUND('To the provider\'s authorization endpoint') },
      }),
    },
    '/api/auth/oauth/{provider}/callback': {
      parameters: [provider],
      get: op('getProviderCallback', 'Where the provider sends the browser back', {
        tags: auth,
        description: 'Register this URL at the provider. Takes the attempt of `state` once (unknown, used or expired: 400, no redirect), exchanges the code, verifies the ID token (or reads the GitHub user), finds, links or creates the user, and redirects to the attempt\'s `redirect` with `#code=<sign-in code>` (linking: `#linked=<provider>`; failure: `#error=<code>&message=<text>`).',
        parameters: [optional('state', 'The attempt'), optional('code', 'The provider\'s authorization code'), optional('error', 'The provider\'s error, when it did not sign the user in')],
        errors: [400, 404],
        responses: { 302: FOUND('Back to the app, the outcome in the fragment') },
      }),
    },
    '/api/auth/oauth/exchange': {
      post: op('loginWithProviderCode', 'Exchange a sign-in code for a session', {
        tags: auth,
        description: 'The code from the fragment (once, within 2 minutes) and the verifier of the start\'s code_challenge; a wrong verifier uses the code up. Answers what login answers; a disabled account is 403.',
        errors: [400, 401, 403, 413, 415],
        requestBody: body(exchangeBody, 'The sign-in code and the PKCE verifier'),
        responses: { 200: json(ref('AuthResponse')) },
      }),
    },
    '/api/auth/oauth/{provider}/link/start': {
      parameters: [provider],
      post: op('createProviderLink', 'Start linking a provider account to the caller', {
        tags: auth,
        security: BEARER,
        description: 'Like start, for a signed-in user: answers the provider URL to navigate to; the callback links the provider account to the caller (409 in the fragment when it is linked to another user) and redirects with `#linked=<provider>`.',
        errors: [400, 401, 404, 413, 415, 429, 503],
        requestBody: body(linkStartBody, 'Where the browser comes back to'),
        responses: { 200: json(linkStartSchema) },
      }),
    },
    '/api/auth/identities': {
      get: op('listIdentities', 'The caller\'s provider accounts', { tags: auth, security: BEARER, description: 'The identities linked to the caller.', errors: [401], responses: { 200: json(identityListSchema) } }),
    },
    '/api/auth/identities/{provider}': {
      parameters: [provider],
      delete: op('deleteIdentity', 'Unlink a provider account', {
        tags: auth,
        security: BEARER,
        description: 'Unlinks the caller\'s account at the provider. 409 when it is the last way to sign in (no password, no other provider); 404 when none is linked.',
        errors: [401, 404, 409],
        responses: { 204: NO_CONTENT },
      }),
    },
  };
}
