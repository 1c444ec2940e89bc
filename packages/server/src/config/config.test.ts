import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { checkSecretStrength } from './secret-strength.js';

const STRONG = 'k3J9vQ2xP7mZ4tR8wL1nB6yH5cF0dS2aG7eU9iO3pK8=';
const load = (env: Record<string, string>) => loadConfig(env, { cwd: '/srv/app' });

function errorOf(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = load({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      host: '127.0.0.1',
      port: 8090,
      databaseUrl: undefined,
      dataDir: '/srv/app/sigil_data',
      jwtSecrets: undefined,
      jwtIssuer: 'sigil',
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 30 * 86400,
      corsOrigins: [],
      admin: undefined,
      logLevel: 'info',
      authCacheTtlMs: 1000,
      trustProxy: false,
      readCacheBytes: 64 * 1024 * 1024,
      authRateLimitPerAddress: { limit: 20, windowMs: 60_000 },
      authRateLimitPerUsername: { limit: 10, windowMs: 60_000 },
      authFailureLimitPerUsername: { limit: 100, windowMs: 3_600_000 },
      authRateLimitUnderAttack: { limit: 3, windowMs: 15 * 60_000 },
      passwordHashConcurrency: 2,
      passwordHashQueue: 128,
      requestTimeoutMs: 30_000,
      maxConnections: 10_000,
      realtimeMaxConnections: 5000,
      realtimeMaxConnectionsPerIp: 100,
    });
  });

  it('AUTH_CACHE_TTL: 0 disables, durations up to 1m are accepted', () => {
    expect(load({ AUTH_CACHE_TTL: '0' }).authCacheTtlMs).toBe(0);
    expect(load({ AUTH_CACHE_TTL: '30s' }).authCacheTtlMs).toBe(30_000);
    expect(errorOf({ AUTH_CACHE_TTL: '2m' }).variable).toBe('AUTH_CACHE_TTL');
  });

  it('defaults LOG_LEVEL to warn in test', () => {
    expect(load({ NODE_ENV: 'test' }).logLevel).toBe('warn');
  });

  it('is frozen', () => {
    const config = load({ CORS_ORIGINS: 'https://a.example' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.corsOrigins)).toBe(true);
  });

  it('reads every variable', () => {
    const config = load({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: '3000',
      DATABASE_URL: 'postgres://u@db/app',
      SIGIL_DATA_DIR: '/var/lib/sigil',
      JWT_SECRET: `${STRONG},${STRONG.toLowerCase()}`,
      JWT_ISSUER: 'my-app',
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '7d',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      SIGIL_ADMIN_USERNAME: 'Root_Admin',
      SIGIL_ADMIN_PASSWORD: 'correct horse battery',
      LOG_LEVEL: 'debug',
      AUTH_RATE_LIMIT_PER_ADDRESS: '100/15m',
      AUTH_RATE_LIMIT_PER_USERNAME: '5/30s',
      AUTH_FAILURE_LIMIT_PER_USERNAME: '500/1d',
      AUTH_RATE_LIMIT_UNDER_ATTACK: '1/1h',
      PASSWORD_HASH_CONCURRENCY: '4',
      PASSWORD_HASH_QUEUE: '0',
      REQUEST_TIMEOUT: '2m',
      MAX_CONNECTIONS: '500',
      REALTIME_MAX_CONNECTIONS: '300',
      REALTIME_MAX_CONNECTIONS_PER_IP: '7',
      TRUST_PROXY: 'true',
      READ_CACHE_MB: '0',
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      host: '0.0.0.0',
      port: 3000,
      databaseUrl: 'postgres://u@db/app',
      dataDir: '/var/lib/sigil',
      jwtSecrets: [STRONG, STRONG.toLowerCase()],
      jwtIssuer: 'my-app',
      accessTokenTtlSeconds: 300,
      refreshTokenTtlSeconds: 7 * 86400,
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      admin: { username: 'root_admin', password: 'correct horse battery' },
      logLevel: 'debug',
      authRateLimitPerAddress: { limit: 100, windowMs: 15 * 60_000 },
      authRateLimitPerUsername: { limit: 5, windowMs: 30_000 },
      authFailureLimitPerUsername: { limit: 500, windowMs: 86_400_000 },
      authRateLimitUnderAttack: { limit: 1, windowMs: 3_600_000 },
      passwordHashConcurrency: 4,
      passwordHashQueue: 0,
      requestTimeoutMs: 120_000,
      maxConnections: 500,
      realtimeMaxConnections: 300,
      realtimeMaxConnectionsPerIp: 7,
      trustProxy: true,
      readCacheBytes: 0,
    });
  });

  it.each([
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ ACCESS_TOKEN_TTL: 'soon' }, 'ACCESS_TOKEN_TTL'],
    [{ REFRESH_TOKEN_TTL: '0s' }, 'REFRESH_TOKEN_TTL'],
    [{ ACCESS_TOKEN_TTL: '2d', REFRESH_TOKEN_TTL: '1d' }, 'REFRESH_TOKEN_TTL'],
    [{ CORS_ORIGINS: 'not an origin' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'https://a.example/path' }, 'CORS_ORIGINS'],
    [{ SIGIL_ADMIN_USERNAME: 'admin' }, 'SIGIL_ADMIN_PASSWORD'],
    [{ SIGIL_ADMIN_PASSWORD: 'long enough pw' }, 'SIGIL_ADMIN_USERNAME'],
    [{ SIGIL_ADMIN_USERNAME: 'a', SIGIL_ADMIN_PASSWORD: 'long enough pw' }, 'SIGIL_ADMIN_USERNAME'],
    [{ SIGIL_ADMIN_USERNAME: 'admin', SIGIL_ADMIN_PASSWORD: 'short' }, 'SIGIL_ADMIN_PASSWORD'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ AUTH_RATE_LIMIT_PER_ADDRESS: 'lots' }, 'AUTH_RATE_LIMIT_PER_ADDRESS'],
    [{ AUTH_FAILURE_LIMIT_PER_USERNAME: '0/1h' }, 'AUTH_FAILURE_LIMIT_PER_USERNAME'],
    [{ AUTH_RATE_LIMIT_UNDER_ATTACK: '3' }, 'AUTH_RATE_LIMIT_UNDER_ATTACK'],
    [{ PASSWORD_HASH_CONCURRENCY: '0' }, 'PASSWORD_HASH_CONCURRENCY'],
    [{ PASSWORD_HASH_QUEUE: 'many' }, 'PASSWORD_HASH_QUEUE'],
    [{ REQUEST_TIMEOUT: '0s' }, 'REQUEST_TIMEOUT'],
    [{ REQUEST_TIMEOUT: '2h' }, 'REQUEST_TIMEOUT'],
    [{ MAX_CONNECTIONS: '0' }, 'MAX_CONNECTIONS'],
    [{ REALTIME_MAX_CONNECTIONS: '-5' }, 'REALTIME_MAX_CONNECTIONS'],
    [{ REALTIME_MAX_CONNECTIONS_PER_IP: '1.5' }, 'REALTIME_MAX_CONNECTIONS_PER_IP'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    [{ READ_CACHE_MB: '-1' }, 'READ_CACHE_MB'],
    [{ READ_CACHE_MB: '1.5' }, 'READ_CACHE_MB'],
    [{ READ_CACHE_MB: '100000' }, 'READ_CACHE_MB'],
    [{ JWT_SECRET: `${STRONG},` }, 'JWT_SECRET'],
  ])('rejects %j naming %s', (env, variable) => {
    const err = errorOf(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(variable);
    expect(err.message).not.toContain('\n');
  });

  describe('mail', () => {
    it('defaults to no SMTP, "Sigil", a local PUBLIC_URL and a 30-minute reset', () => {
      expect(load({ PORT: '3000' })).toMatchObject({
        smtp: undefined,
        mailTemplatesDir: undefined,
        appName: 'Sigil',
        publicUrl: 'http://127.0.0.1:3000',
        passwordResetTtlSeconds: 1800,
        passwordResetRateLimitPerEmail: { limit: 5, windowMs: 3_600_000 },
      });
    });

    it('reads SMTP_URL, MAIL_FROM, MAIL_TEMPLATES_DIR, APP_NAME, PUBLIC_URL and PASSWORD_RESET_TTL', () => {
      const config = load({
        SMTP_URL: 'smtps://user:pa%40ss@mail.example.com:465',
        MAIL_FROM: 'Acme <no-reply@acme.example>',
        MAIL_TEMPLATES_DIR: 'mail',
        APP_NAME: 'Acme',
        PUBLIC_URL: 'https://acme.example/app/',
        PASSWORD_RESET_TTL: '1h',
        PASSWORD_RESET_RATE_LIMIT_PER_EMAIL: '2/10m',
      });
      expect(config).toMatchObject({
        smtp: { url: 'smtps://user:pa%40ss@mail.example.com:465', from: 'Acme <no-reply@acme.example>' },
        mailTemplatesDir: '/srv/app/mail',
        appName: 'Acme',
        publicUrl: 'https://acme.example/app',
        passwordResetTtlSeconds: 3600,
        passwordResetRateLimitPerEmail: { limit: 2, windowMs: 600_000 },
      });
      expect(load({ HOST: '0.0.0.0' }).publicUrl).toBe('http://localhost:8090');
      expect(load({ HOST: '::1' }).publicUrl).toBe('http://[::1]:8090');
      expect(load({ SMTP_URL: 'smtp://127.0.0.1:2525', MAIL_FROM: 'a@b.example' }).smtp).toEqual({ url: 'smtp://127.0.0.1:2525', from: 'a@b.example' });
    });

    it.each([
      ['http://mail.example.com', 'smtp:// or smtps://'],
      ['mail.example.com:587', 'smtp:// or smtps://'],
      ['not a url', 'not a URL'],
      ['smtp://', 'no host'],
    ])('refuses SMTP_URL %s', (url, problem) => {
      const err = errorOf({ SMTP_URL: url, MAIL_FROM: 'a@b.example' });
      expect(err.variable).toBe('SMTP_URL');
      expect(err.message).toContain(problem);
    });

    it('never repeats the SMTP password in an error', () => {
      const err = errorOf({ SMTP_URL: 'imap://user:hunter2secret@mail.example.com', MAIL_FROM: 'a@b.example' });
      expect(err.message).not.toContain('hunter2secret');
    });

    it.each(['', 'nobody', 'a@b', 'two@a.example, three@b.example', 'Name <a@b.example', 'x@y.example\r\nBcc: victim@z.example', '"Quote" <a@b.example>'])(
      'refuses MAIL_FROM %j',
      (from) => {
        const env = { SMTP_URL: 'smtp://mail.example.com', ...(from === '' ? {} : { MAIL_FROM: from }) };
        expect(errorOf(env).variable).toBe('MAIL_FROM');
      },
    );

    it('refuses MAIL_FROM without SMTP_URL', () => {
      expect(errorOf({ MAIL_FROM: 'a@b.example' }).variable).toBe('MAIL_FROM');
    });

    it('requires PUBLIC_URL with SMTP_URL in production, and refuses bad ones', () => {
      expect(errorOf({ NODE_ENV: 'production', JWT_SECRET: STRONG, SMTP_URL: 'smtp://m.example', MAIL_FROM: 'a@b.example' }).variable).toBe('PUBLIC_URL');
      for (const url of ['ftp://a.example', 'https://a.example/?x=1', 'https://a.example/#x', 'https://u:p@a.example', 'nope']) {
        expect(errorOf({ PUBLIC_URL: url }).variable).toBe('PUBLIC_URL');
      }
    });

    it('refuses a PASSWORD_RESET_TTL outside 1m–24h, a bad rate, and a multi-line APP_NAME', () => {
      expect(errorOf({ PASSWORD_RESET_TTL: '30s' }).variable).toBe('PASSWORD_RESET_TTL');
      expect(errorOf({ PASSWORD_RESET_TTL: '2d' }).variable).toBe('PASSWORD_RESET_TTL');
      expect(errorOf({ PASSWORD_RESET_TTL: 'soon' }).variable).toBe('PASSWORD_RESET_TTL');
      expect(errorOf({ PASSWORD_RESET_RATE_LIMIT_PER_EMAIL: 'lots' }).variable).toBe('PASSWORD_RESET_RATE_LIMIT_PER_EMAIL');
      expect(errorOf({ APP_NAME: 'Evil\nBcc: x@y.example' }).variable).toBe('APP_NAME');
    });
  });

  describe('metrics', () => {
    it('are off unless METRICS_TOKEN or METRICS_LISTEN is set', () => {
      expect(load({}).metrics).toBeUndefined();
    });

    it('read a token and a separate listen address', () => {
      expect(load({ METRICS_TOKEN: STRONG }).metrics).toEqual({ token: STRONG, listen: undefined });
      expect(load({ METRICS_LISTEN: '9464' }).metrics).toEqual({ token: undefined, listen: { host: '127.0.0.1', port: 9464 } });
      expect(load({ METRICS_LISTEN: '0.0.0.0:9464', METRICS_TOKEN: STRONG }).metrics).toEqual({ token: STRONG, listen: { host: '0.0.0.0', port: 9464 } });
      expect(load({ METRICS_LISTEN: '[::1]:9464' }).metrics?.listen).toEqual({ host: '::1', port: 9464 });
    });

    it('refuse a weak token, a malformed address and the API port', () => {
      expect(errorOf({ METRICS_TOKEN: 'metrics' }).message).toContain('METRICS_TOKEN is too weak');
      for (const listen of ['nope', '127.0.0.1:', ':9464', '70000', 'a b:1']) expect(errorOf({ METRICS_LISTEN: listen }).variable).toBe('METRICS_LISTEN');
      expect(errorOf({ PORT: '3000', METRICS_LISTEN: '3000' }).message).toContain("must not be the API's port");
    });
  });

  describe('email verification', () => {
    it('defaults to a 24-hour link, 5 mails an hour per user and per address, and sign-in without verification', () => {
      expect(load({})).toMatchObject({
        emailVerificationTtlSeconds: 86_400,
        emailVerificationRateLimit: { limit: 5, windowMs: 3_600_000 },
        authRequireVerifiedEmail: false,
      });
      expect(load({ EMAIL_VERIFICATION_TTL: '2h', EMAIL_VERIFICATION_RATE_LIMIT: '3/10m', AUTH_REQUIRE_VERIFIED_EMAIL: 'true' })).toMatchObject({
        emailVerificationTtlSeconds: 7200,
        emailVerificationRateLimit: { limit: 3, windowMs: 600_000 },
        authRequireVerifiedEmail: true,
      });
    });

    it('refuses an EMAIL_VERIFICATION_TTL outside 1m–7d, a bad rate and a non-boolean AUTH_REQUIRE_VERIFIED_EMAIL', () => {
      for (const ttl of ['30s', '8d', 'soon']) expect(errorOf({ EMAIL_VERIFICATION_TTL: ttl }).variable).toBe('EMAIL_VERIFICATION_TTL');
      expect(errorOf({ EMAIL_VERIFICATION_RATE_LIMIT: 'lots' }).variable).toBe('EMAIL_VERIFICATION_RATE_LIMIT');
      expect(errorOf({ AUTH_REQUIRE_VERIFIED_EMAIL: 'maybe' }).variable).toBe('AUTH_REQUIRE_VERIFIED_EMAIL');
    });

    it('refuses AUTH_REQUIRE_VERIFIED_EMAIL in production without SMTP_URL, and takes it with SMTP_URL', () => {
      const err = errorOf({ NODE_ENV: 'production', JWT_SECRET: STRONG, AUTH_REQUIRE_VERIFIED_EMAIL: 'true' });
      expect(err.variable).toBe('AUTH_REQUIRE_VERIFIED_EMAIL');
      expect(err.message).toContain('SMTP_URL');
      const env = { NODE_ENV: 'production', JWT_SECRET: STRONG, AUTH_REQUIRE_VERIFIED_EMAIL: 'true', SMTP_URL: 'smtp://m.example', MAIL_FROM: 'a@b.example', PUBLIC_URL: 'https://app.example' };
      expect(load(env).authRequireVerifiedEmail).toBe(true);
    });
  });

  describe('two-factor', () => {
    it('defaults TWO_FACTOR_RATE_LIMIT_PER_USER to 10 per 15 minutes and reads it', () => {
      expect(load({}).twoFactorRateLimitPerUser).toEqual({ limit: 10, windowMs: 900_000 });
      expect(load({ TWO_FACTOR_RATE_LIMIT_PER_USER: '3/1h' }).twoFactorRateLimitPerUser).toEqual({ limit: 3, windowMs: 3_600_000 });
    });

    it.each(['ten', '0/1m', '5', '5/forever'])('refuses TWO_FACTOR_RATE_LIMIT_PER_USER=%s, naming it', (value) => {
      expect(errorOf({ TWO_FACTOR_RATE_LIMIT_PER_USER: value }).variable).toBe('TWO_FACTOR_RATE_LIMIT_PER_USER');
    });
  });

  describe('JWT_SECRET in production', () => {
    it('is required', () => {
      expect(errorOf({ NODE_ENV: 'production' }).variable).toBe('JWT_SECRET');
    });

    it.each(['short-secret', 'a'.repeat(64), 'abababababababababababababababababababab', 'passwordpasswordpasswordpassword12'])(
      'refuses the weak secret %s',
      (secret) => {
        const err = errorOf({ NODE_ENV: 'production', JWT_SECRET: secret });
        expect(err.variable).toBe('JWT_SECRET');
        expect(err.message).not.toContain(secret);
      },
    );

    it('checks every secret of a rotation list', () => {
      expect(errorOf({ NODE_ENV: 'production', JWT_SECRET: `${STRONG},weak` }).message).toContain('entry 2');
    });

    it('accepts a weak secret outside production (development convenience)', () => {
      expect(load({ JWT_SECRET: 'dev' }).jwtSecrets).toEqual(['dev']);
    });
  });
});

describe('checkSecretStrength', () => {
  it('accepts random secrets of 32 bytes or more', () => {
    expect(checkSecretStrength(STRONG)).toBeNull();
    expect(checkSecretStrength('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')).toBeNull();
  });
});
