import type { NodeEnv } from './config.js';

/** One OpenID Connect provider (OIDC_PROVIDERS, OIDC_<NAME>_*). */
export interface OidcProviderConfig {
  readonly type: 'oidc';
  /** Lower case a-z and digits; in URLs (`/api/auth/oauth/<name>/…`) and in the variables' names, upper-cased. */
  readonly name: string;
  readonly label: string;
  /** No trailing slash; discovery is `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: string;
}

/** GitHub or GitHub Enterprise Server (GITHUB_*): OAuth2, not OpenID Connect. */
export interface GithubProviderConfig {
  readonly type: 'github';
  readonly name: 'github';
  readonly label: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where users sign in (authorize, access_token), no trailing slash. */
  readonly url: string;
  /** The REST API (`/user`, `/user/emails`), no trailing slash. */
  readonly apiUrl: string;
}

export type IdentityProviderConfig = OidcProviderConfig | GithubProviderConfig;

export interface IdentityProvidersConfig {
  readonly providers: readonly IdentityProviderConfig[];
  /** Allowed `redirect` targets of a sign-in: origins, or URL prefixes (same origin, path starting with it). */
  readonly redirectUrls: readonly string[];
  /** Sigil's own public address (no trailing slash): callbacks are `<serverUrl>/api/auth/oauth/<name>/callback`. */
  readonly serverUrl: string;
}

export const IDENTITY_PROVIDER_VARIABLES = [
  'OIDC_PROVIDERS',
  'GITHUB_CLIENT_ID',
  'GITHUB_CLIENT_SECRET',
  'GITHUB_URL',
  'GITHUB_API_URL',
  'GITHUB_LABEL',
  'OAUTH_REDIRECT_URLS',
  'SERVER_URL',
] as const;

const NAME_RE = /^[a-z][a-z0-9]{0,31}$/;
const OIDC_PARTS = ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET', 'SCOPES', 'LABEL'] as const;

type Fail = (variable: string, problem: string) => Error;

/**
 * Reads the identity-provider variables. `get` returns a trimmed value or
 * undefined; `names` are all variable names set, so that an `OIDC_*`
 * variable of no configured provider (a typo) stops start-up instead of
 * being ignored.
 */
export function parseIdentityProviders(
  get: (name: string) => string | undefined,
  names: readonly string[],
  o: { readonly nodeEnv: NodeEnv; readonly publicUrl: string; readonly fail: Fail },
): IdentityProvidersConfig {
  const { fail, nodeEnv } = o;
  const providers: IdentityProviderConfig[] = [];
  const list = (get('OIDC_PROVIDERS') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const known = new Set<string>(['OIDC_PROVIDERS']);
  for (const name of list) {
    if (!NAME_RE.test(name)) throw fail('OIDC_PROVIDERS', `has "${name}": a provider name is 1–32 lower-case letters and digits, starting with a letter`);
    if (name === 'github') throw fail('OIDC_PROVIDERS', 'may not name "github": GitHub is configured with GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET');
    if (providers.some((p) => p.name === name)) throw fail('OIDC_PROVIDERS', `names "${name}" twice`);
    const v = (part: (typeof OIDC_PARTS)[number]): string => `OIDC_${name.toUpperCase()}_${part}`;
    for (const part of OIDC_PARTS) known.add(v(part));
    const required = (part: (typeof OIDC_PARTS)[number]): string => {
      const value = get(v(part));
      if (value === undefined) throw fail(v(part), `is required: OIDC_PROVIDERS names "${name}"`);
      return value;
    };
    const issuer = httpsUrl(v('ISSUER'), required('ISSUER'), nodeEnv, fail);
    const scopes = get(v('SCOPES')) ?? 'openid email profile';
    if (!scopes.split(/\s+/).includes('openid') || !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(scopes)) {
      throw fail(v('SCOPES'), `must be space-separated scopes including openid (got "${scopes}")`);
    }
    providers.push({ type: 'oidc', name, label: label(v('LABEL'), get(v('LABEL')) ?? name, fail), issuer, clientId: required('CLIENT_ID'), clientSecret: required('CLIENT_SECRET'), scopes });
  }
  const unknown = names.find((n) => n.startsWith('OIDC_') && !known.has(n));
  if (unknown !== undefined) throw fail(unknown, `is not a variable of a provider in OIDC_PROVIDERS (${list.length === 0 ? 'none' : list.join(', ')})`);

  const githubId = get('GITHUB_CLIENT_ID');
  const githubSecret = get('GITHUB_CLIENT_SECRET');
  if (githubId !== undefined || githubSecret !== undefined) {
    if (githubId === undefined) throw fail('GITHUB_CLIENT_ID', 'must be set when GITHUB_CLIENT_SECRET is');
    if (githubSecret === undefined) throw fail('GITHUB_CLIENT_SECRET', 'must be set when GITHUB_CLIENT_ID is');
    providers.push({
      type: 'github',
      name: 'github',
      label: label('GITHUB_LABEL', get('GITHUB_LABEL') ?? 'GitHub', fail),
      clientId: githubId,
      clientSecret: githubSecret,
      url: httpsUrl('GITHUB_URL', get('GITHUB_URL') ?? 'https://github.com', nodeEnv, fail),
      apiUrl: httpsUrl('GITHUB_API_URL', get('GITHUB_API_URL') ?? 'https://api.github.com', nodeEnv, fail),
    });
  } else {
    for (const n of ['GITHUB_URL', 'GITHUB_API_URL', 'GITHUB_LABEL']) {
      if (get(n) !== undefined) throw fail(n, 'is set but GITHUB_CLIENT_ID is not');
    }
  }

  const serverUrl = get('SERVER_URL') === undefined ? o.publicUrl : plainUrl('SERVER_URL', get('SERVER_URL')!, fail);
  const redirectUrls = (get('OAUTH_REDIRECT_URLS') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
    .map((s) => plainUrl('OAUTH_REDIRECT_URLS', s, fail, true));
  return { providers, redirectUrls, serverUrl };
}

function label(variable: string, value: string, fail: Fail): string {
  if (value.length > 64 || [...value].some((c) => c.charCodeAt(0) < 0x20)) throw fail(variable, 'must be one line of at most 64 characters');
  return value;
}

/** An http(s) URL without query, fragment or credentials, trailing slashes removed. */
function plainUrl(variable: string, value: string, fail: Fail, keepSlash = false): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw fail(variable, `has "${value}", which is not a URL like https://app.example.com`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.search !== '' || parsed.hash !== '' || value.includes('#') || value.includes('?') || parsed.username !== '' || parsed.password !== '') {
    throw fail(variable, `has "${value}": it must be an http(s) URL without query, fragment or credentials`);
  }
  const text = parsed.toString();
  return keepSlash && parsed.pathname !== '/' ? text : text.replace(/\/+$/, '');
}

/** Like plainUrl, and https in production: a provider's answers decide who signs in. */
function httpsUrl(variable: string, value: string, nodeEnv: NodeEnv, fail: Fail): string {
  const url = plainUrl(variable, value, fail);
  if (nodeEnv === 'production' && !url.startsWith('https://')) throw fail(variable, `must be an https URL in production (got "${value}")`);
  return url;
}
