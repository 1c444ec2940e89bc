import type { GithubProviderConfig } from '../../../config/identity-providers-config.js';
import { AppError } from '../../errors.js';
import type { IdentityProvider, ProviderIdentity } from './identity-provider.js';
import { form, providerJson, providerJsonArray } from './provider-http.js';

/**
 * GitHub's OAuth2 web flow (not OpenID Connect: no ID token). The account
 * is GET /user; the email is the one of GET /user/emails that is both
 * primary and verified, or none. GitHub Enterprise Server: GITHUB_URL and
 * GITHUB_API_URL.
 */
export function createGithubClient(config: GithubProviderConfig): IdentityProvider {
  const api = (token: string): RequestInit => ({
    headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${token}`, 'user-agent': 'sigil', 'x-github-api-version': '2022-11-28' },
  });
  return {
    name: config.name,
    label: config.label,
    type: 'github',
    async authorizationUrl({ state, codeChallenge, redirectUri }) {
      const url = new URL(`${config.url}/login/oauth/authorize`);
      url.searchParams.set('client_id', config.clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('scope', 'read:user user:email');
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', codeChallenge);
      url.searchParams.set('code_challenge_method', 'S256');
      url.searchParams.set('allow_signup', 'true');
      return url.toString();
    },
    async identify({ code, codeVerifier, redirectUri }): Promise<ProviderIdentity> {
      const tokens = await providerJson('access_token', `${config.url}/login/oauth/access_token`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ client_id: config.clientId, client_secret: config.clientSecret, code, redirect_uri: redirectUri, code_verifier: codeVerifier }),
      });
      // GitHub answers 200 with {"error": "bad_verification_code"} for a used or wrong code.
      const token = tokens['access_token'];
      if (typeof token !== 'string' || token === '') throw new AppError('unauthorized', `GitHub refused the code (${typeof tokens['error'] === 'string' ? tokens['error'] : 'no access token'}).`);
      const user = await providerJson('user', `${config.apiUrl}/user`, api(token));
      const id = user['id'];
      if ((typeof id !== 'number' || !Number.isSafeInteger(id)) && typeof id !== 'string') throw new AppError('unauthorized', 'GitHub sent no user id.');
      const emails = await providerJsonArray('user/emails', `${config.apiUrl}/user/emails`, api(token));
      const primary = emails.find((e): e is { email: string } =>
        typeof e === 'object' && e !== null && (e as Record<string, unknown>)['primary'] === true && (e as Record<string, unknown>)['verified'] === true
        && typeof (e as Record<string, unknown>)['email'] === 'string');
      const email = primary && primary.email.length <= 254 ? primary.email : null;
      const str = (key: string): string[] => (typeof user[key] === 'string' ? [user[key]] : []);
      return {
        subject: String(id),
        email,
        emailVerified: email !== null,
        usernameHints: [...str('login'), ...(email ? [email.split('@')[0]!] : []), ...str('name')],
      };
    },
  };
}
