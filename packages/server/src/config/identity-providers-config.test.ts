import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const STRONG = 'k3J9vQ2xP7mZ4tR8wL1nB6yH5cF0dS2aG7eU9iO3pK8=';
const load = (env: Record<string, string>) => loadConfig(env, { cwd: '/srv/app' });
const corp = { OIDC_PROVIDERS: 'corp', OIDC_CORP_ISSUER: 'https://login.corp.example', OIDC_CORP_CLIENT_ID: 'sigil', OIDC_CORP_CLIENT_SECRET: 's3cret' };

function problem(env: Record<string, string>): { variable: string; message: string } {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return { variable: (err as ConfigError).variable, message: (err as ConfigError).message };
  }
  throw new Error('expected a ConfigError');
}

describe('identity provider configuration', () => {
  it('has no providers and only the dashboard as a redirect by default; SERVER_URL defaults to PUBLIC_URL', () => {
    expect(load({}).identityProviders).toEqual({ providers: [], redirectUrls: [], serverUrl: 'http://127.0.0.1:8090' });
    expect(load({ PUBLIC_URL: 'https://app.example.com/' }).identityProviders.serverUrl).toBe('https://app.example.com');
    expect(load({ SERVER_URL: 'https://api.example.com/' }).identityProviders.serverUrl).toBe('https://api.example.com');
  });

  it('reads any number of OpenID Connect providers, with default scopes and label', () => {
    const config = load({
      ...corp,
      OIDC_PROVIDERS: 'corp, google2',
      OIDC_CORP_SCOPES: 'openid email',
      OIDC_CORP_LABEL: 'Corp SSO',
      OIDC_GOOGLE2_ISSUER: 'https://accounts.google.com/',
      OIDC_GOOGLE2_CLIENT_ID: 'g',
      OIDC_GOOGLE2_CLIENT_SECRET: 'gs',
    });
    expect(config.identityProviders.providers).toEqual([
      { type: 'oidc', name: 'corp', label: 'Corp SSO', issuer: 'https://login.corp.example', clientId: 'sigil', clientSecret: 's3cret', scopes: 'openid email' },
      { type: 'oidc', name: 'google2', label: 'google2', issuer: 'https://accounts.google.com', clientId: 'g', clientSecret: 'gs', scopes: 'openid email profile' },
    ]);
    expect(Object.isFrozen(config.identityProviders.providers[0])).toBe(true);
  });

  it('reads GitHub with its default URLs, and GitHub Enterprise Server URLs', () => {
    expect(load({ GITHUB_CLIENT_ID: 'id', GITHUB_CLIENT_SECRET: 'secret' }).identityProviders.providers).toEqual([
      { type: 'github', name: 'github', label: 'GitHub', clientId: 'id', clientSecret: 'secret', url: 'https://github.com', apiUrl: 'https://api.github.com' },
    ]);
    const ghes = load({ GITHUB_CLIENT_ID: 'id', GITHUB_CLIENT_SECRET: 'secret', GITHUB_URL: 'https://git.corp.example/', GITHUB_API_URL: 'https://git.corp.example/api/v3' });
    expect(ghes.identityProviders.providers[0]).toMatchObject({ url: 'https://git.corp.example', apiUrl: 'https://git.corp.example/api/v3' });
  });

  it('reads OAUTH_REDIRECT_URLS as origins and prefixes', () => {
    expect(load({ OAUTH_REDIRECT_URLS: 'https://app.example.com, http://localhost:5173/auth/' }).identityProviders.redirectUrls).toEqual(['https://app.example.com', 'http://localhost:5173/auth/']);
  });

  it.each([
    [{ OIDC_PROVIDERS: 'Corp' }, 'OIDC_PROVIDERS', 'lower-case'],
    [{ OIDC_PROVIDERS: 'my_corp' }, 'OIDC_PROVIDERS', 'lower-case'],
    [{ OIDC_PROVIDERS: 'github' }, 'OIDC_PROVIDERS', 'GITHUB_CLIENT_ID'],
    [{ ...corp, OIDC_PROVIDERS: 'corp,corp' }, 'OIDC_PROVIDERS', 'twice'],
    [{ ...corp, OIDC_CORP_ISSUER: '' }, 'OIDC_CORP_ISSUER', 'required'],
    [{ ...corp, OIDC_CORP_CLIENT_ID: '' }, 'OIDC_CORP_CLIENT_ID', 'required'],
    [{ ...corp, OIDC_CORP_CLIENT_SECRET: '' }, 'OIDC_CORP_CLIENT_SECRET', 'required'],
    [{ ...corp, OIDC_CORP_ISSUER: 'login.corp.example' }, 'OIDC_CORP_ISSUER', 'not a URL'],
    [{ ...corp, OIDC_CORP_ISSUER: 'https://login.corp.example/?x=1' }, 'OIDC_CORP_ISSUER', 'without query'],
    [{ ...corp, OIDC_CORP_SCOPES: 'email profile' }, 'OIDC_CORP_SCOPES', 'openid'],
    [{ ...corp, OIDC_CORP_LABEL: 'x'.repeat(65) }, 'OIDC_CORP_LABEL', '64'],
    [{ ...corp, OIDC_CROP_ISSUER: 'https://typo.example' }, 'OIDC_CROP_ISSUER', 'not a variable of a provider'],
    [{ OIDC_CORP_ISSUER: 'https://login.corp.example' }, 'OIDC_CORP_ISSUER', 'none'],
    [{ GITHUB_CLIENT_ID: 'id' }, 'GITHUB_CLIENT_SECRET', 'must be set'],
    [{ GITHUB_CLIENT_SECRET: 's' }, 'GITHUB_CLIENT_ID', 'must be set'],
    [{ GITHUB_URL: 'https://git.corp.example' }, 'GITHUB_URL', 'GITHUB_CLIENT_ID is not'],
    [{ OAUTH_REDIRECT_URLS: 'app.example.com' }, 'OAUTH_REDIRECT_URLS', 'not a URL'],
    [{ OAUTH_REDIRECT_URLS: 'https://app.example.com/#x' }, 'OAUTH_REDIRECT_URLS', 'fragment'],
    [{ OAUTH_REDIRECT_URLS: 'ftp://app.example.com' }, 'OAUTH_REDIRECT_URLS', 'http(s)'],
    [{ SERVER_URL: 'https://user:pw@api.example.com' }, 'SERVER_URL', 'credentials'],
  ])('refuses %j (%s)', (env, variable, words) => {
    const found = problem(env);
    expect(found.variable).toBe(variable);
    expect(found.message).toContain(words);
  });

  it('refuses non-https issuers and GitHub URLs in production', () => {
    const prod = { NODE_ENV: 'production', JWT_SECRET: STRONG };
    expect(problem({ ...prod, ...corp, OIDC_CORP_ISSUER: 'http://login.corp.example' })).toMatchObject({ variable: 'OIDC_CORP_ISSUER' });
    expect(problem({ ...prod, GITHUB_CLIENT_ID: 'id', GITHUB_CLIENT_SECRET: 's', GITHUB_API_URL: 'http://git.corp.example/api' })).toMatchObject({ variable: 'GITHUB_API_URL' });
    expect(load({ ...prod, ...corp }).identityProviders.providers).toHaveLength(1);
    // Outside production a loopback provider over http is fine (tests, development).
    expect(load({ ...corp, OIDC_CORP_ISSUER: 'http://127.0.0.1:9000' }).identityProviders.providers[0]).toMatchObject({ issuer: 'http://127.0.0.1:9000' });
  });
});
