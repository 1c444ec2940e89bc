import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { OidcProviderConfig } from '../../../config/identity-providers-config.js';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import { PROVIDER_TIMEOUT_MS, type IdentityProvider, type ProviderIdentity } from './identity-provider.js';
import { form, providerJson } from './provider-http.js';
import { hashSecretToken } from '../secret-token.js';

interface Discovery {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  readonly algorithms: string[];
  readonly basicAuth: boolean;
}

/** Asymmetric algorithms only: an HS* ID token would be "signed" with the client secret, `none` not at all. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** How long discovery is trusted before it is fetched again. */
const DISCOVERY_TTL_MS = 24 * 3_600_000;
/** An ID token older than this (by `iat`) is refused: it is minted for this very exchange. */
const MAX_ID_TOKEN_AGE_SECONDS = 600;
const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * An OpenID Connect relying party on jose alone: discovery (lazy, cached,
 * its issuer must be the configured one), the authorization code flow with
 * PKCE S256, and the ID token verified against the provider's JWKS (iss,
 * aud = client id, exp and iat on the injected clock, nonce, asymmetric
 * algorithms only).
 */
export function createOidcClient(config: OidcProviderConfig, clock: Clock): IdentityProvider {
  let cached: { readonly at: number; readonly value: Promise<Discovery> } | undefined;

  async function discover(): Promise<Discovery> {
    const doc = await providerJson('discovery', `${config.issuer}/.well-known/openid-configuration`);
    // The configured issuer is the trust anchor: a document naming another issuer is not this provider's.
    if (doc['issuer'] !== config.issuer && doc['issuer'] !== `${config.issuer}/`) {
      throw new AppError('unauthorized', `The identity provider's discovery names another issuer than OIDC_${config.name.toUpperCase()}_ISSUER.`);
    }
    const endpoint = (key: string): string => {
      const value = doc[key];
      if (typeof value !== 'string' || !/^https?:\/\//.test(value)) throw new AppError('unauthorized', `The identity provider's discovery has no ${key}.`);
      return value;
    };
    const offered = Array.isArray(doc['id_token_signing_alg_values_supported']) ? doc['id_token_signing_alg_values_supported'].filter((a): a is string => typeof a === 'string') : ['RS256'];
    const algorithms = offered.filter((a) => ASYMMETRIC.includes(a));
    if (algorithms.length === 0) throw new AppError('unauthorized', 'The identity provider signs ID tokens with no asymmetric algorithm.');
    const methods = doc['token_endpoint_auth_methods_supported'];
    const basicAuth = !Array.isArray(methods) || methods.includes('client_secret_basic') || !methods.includes('client_secret_post');
    return {
      authorizationEndpoint: endpoint('authorization_endpoint'),
      tokenEndpoint: endpoint('token_endpoint'),
      jwks: createRemoteJWKSet(new URL(endpoint('jwks_uri')), { timeoutDuration: PROVIDER_TIMEOUT_MS }),
      algorithms,
      basicAuth,
    };
  }

  function discovery(): Promise<Discovery> {
    if (!cached || clock.now() - cached.at > DISCOVERY_TTL_MS) {
      const value = discover();
      const entry = { at: clock.now(), value };
      cached = entry;
      // A failure is not cached: the next sign-in tries again.
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  }

  return {
    name: config.name,
    label: config.label,
    type: 'oidc',
    async authorizationUrl({ state, nonce, codeChallenge, redirectUri }) {
      const url = new URL((await discovery()).authorizationEndpoint);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', config.clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('scope', config.scopes);
      url.searchParams.set('state', state);
      url.searchParams.set('nonce', nonce);
      url.searchParams.set('code_challenge', codeChallenge);
      url.searchParams.set('code_challenge_method', 'S256');
      return url.toString();
    },
    async identify({ code, codeVerifier, nonceHash, redirectUri }): Promise<ProviderIdentity> {
      const d = await discovery();
      const fields: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier };
      const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
      if (d.basicAuth) {
        // RFC 6749 §2.3.1: each part form-urlencoded before base64.
        const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
        headers['authorization'] = `Basic ${Buffer.from(`${enc(config.clientId)}:${enc(config.clientSecret)}`).toString('base64')}`;
      } else {
        fields['client_id'] = config.clientId;
        fields['client_secret'] = config.clientSecret;
      }
      const tokens = await providerJson('token', d.tokenEndpoint, { method: 'POST', headers, body: form(fields) });
      const idToken = tokens['id_token'];
      if (typeof idToken !== 'string') throw new AppError('unauthorized', 'The identity provider sent no ID token.');
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(idToken, d.jwks, {
          issuer: [config.issuer, `${config.issuer}/`],
          audience: config.clientId,
          algorithms: d.algorithms,
          currentDate: new Date(clock.now()),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          maxTokenAge: MAX_ID_TOKEN_AGE_SECONDS,
          requiredClaims: ['sub', 'exp', 'iat'],
        }));
      } catch (cause) {
        throw new AppError('unauthorized', 'The ID token does not verify.', { cause });
      }
      // The nonce ties the token to this attempt (stored as its SHA-256).
      if (typeof claims['nonce'] !== 'string' || hashSecretToken(claims['nonce']) !== nonceHash) {
        throw new AppError('unauthorized', 'The ID token is not for this sign-in (nonce).');
      }
      // Several audiences: this client must be the authorized party.
      if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims['azp'] !== config.clientId) {
        throw new AppError('unauthorized', 'The ID token is not for this client (azp).');
      }
      const sub = claims.sub!;
      const email = typeof claims['email'] === 'string' && claims['email'].length <= 254 ? claims['email'] : null;
      const str = (key: string): string[] => (typeof claims[key] === 'string' ? [claims[key]] : []);
      return {
        subject: sub,
        email,
        emailVerified: email !== null && claims['email_verified'] === true,
        usernameHints: [...str('preferred_username'), ...(email ? [email.split('@')[0]!] : []), ...str('name'), ...str('nickname')],
      };
    },
  };
}
