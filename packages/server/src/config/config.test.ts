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
