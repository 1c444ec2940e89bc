import { isAbsolute, resolve } from 'node:path';
import { parseDuration } from '../core/duration.js';
import { parseRateLimit } from '../core/auth/rate-limiter.js';
import { checkSecretStrength } from './secret-strength.js';
import { IDENTITY_PROVIDER_VARIABLES, parseIdentityProviders, type IdentityProvidersConfig } from './identity-providers-config.js';

export interface RateLimitSpec {
  readonly limit: number;
  readonly windowMs: number;
}

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Sigil's whole configuration: validated, defaulted and frozen. */
export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number;
  /** `undefined` means the embedded SQLite file in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Absolute. */
  readonly dataDir: string;
  /** Sign with the first, verify with all. `undefined` outside production means: generate one into the data dir. */
  readonly jwtSecrets: readonly string[] | undefined;
  readonly jwtIssuer: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Allowed browser origins; `['*']` allows any. */
  readonly corsOrigins: readonly string[];
  readonly admin: { readonly username: string; readonly password: string } | undefined;
  readonly logLevel: LogLevel;
  readonly authRateLimitPerAddress: RateLimitSpec;
  /** Attempts for one username from one address group (IPv4 address, IPv6 /64). */
  readonly authRateLimitPerUsername: RateLimitSpec;
  /** Wrong passwords for one username from all addresses; beyond it the username is under attack. */
  readonly authFailureLimitPerUsername: RateLimitSpec;
  /** Attempts per username and address group while the username is under attack. */
  readonly authRateLimitUnderAttack: RateLimitSpec;
  /** argon2 hashes and verifications running at once (each holds a thread-pool thread and ~19 MiB). */
  readonly passwordHashConcurrency: number;
  /** Password checks waiting for a slot; beyond it requests get 503 with Retry-After. */
  readonly passwordHashQueue: number;
  /** How long a verified session may be served from memory; 0 disables (see IdentityCache). */
  readonly authCacheTtlMs: number;
  /** Trust `X-Forwarded-For` from a reverse proxy when computing the client address. */
  readonly trustProxy: boolean;
  /** How long the change log keeps history for realtime clients resuming with `since`. */
  readonly realtimeRetentionSeconds: number;
  /** Least time between two writes of realtime messages to one socket; a message after a quiet spell goes at once. */
  readonly realtimeFlushMs: number;
  /** A request (headers and body) must have arrived within this; else 408 and the connection is closed. */
  readonly requestTimeoutMs: number;
  /** Open TCP connections (HTTP and WebSocket); more are closed as they arrive. */
  readonly maxConnections: number;
  /** Open WebSocket connections in total; more upgrades get 503. */
  readonly realtimeMaxConnections: number;
  /** Open WebSocket connections per client address group (IPv4 address, IPv6 /64); more get 429. */
  readonly realtimeMaxConnectionsPerIp: number;
  /** Memory for SQLite's read cache (records by id and list answers); 0 turns it off. */
  readonly readCacheBytes: number;
  /** A list page stops early (with a `nextCursor`) once its records' JSON passes this many characters. */
  readonly listPageChars: number;
  /** After refusing a request mid-body (413, unparsable HTTP), how much more to read and discard, and for how long, before closing. */
  readonly linger: { readonly maxBytes: number; readonly maxMs: number };
  /** Outgoing mail; `undefined` when SMTP_URL is unset (development logs messages, production offers no mail flows). */
  readonly smtp: { readonly url: string; readonly from: string } | undefined;
  /** Absolute; files here replace the built-in mail templates. */
  readonly mailTemplatesDir: string | undefined;
  /** Named in mails. */
  readonly appName: string;
  /** Where the app lives, for links in mails (no trailing slash). */
  readonly publicUrl: string;
  readonly passwordResetTtlSeconds: number;
  /** Reset requests for one email address from all client addresses. */
  readonly passwordResetRateLimitPerEmail: RateLimitSpec;
  /** `GET /metrics` (Prometheus); `undefined`: off. See docs/operations.md. */
  readonly metrics: MetricsConfig | undefined;
  /** Sign-in with identity providers (OIDC_PROVIDERS, GITHUB_*, OAUTH_REDIRECT_URLS, SERVER_URL). */
  readonly identityProviders: IdentityProvidersConfig;
  /** How long an email-verification link works. */
  readonly emailVerificationTtlSeconds: number;
  /** Verification mails for one user, and for one address, over all client addresses. */
  readonly emailVerificationRateLimit: RateLimitSpec;
  /** Users (role user) may sign in only once their email address is verified. */
  readonly authRequireVerifiedEmail: boolean;
  /** Two-factor code checks for one user from all client addresses. */
  readonly twoFactorRateLimitPerUser: RateLimitSpec;
}

export interface MetricsConfig {
  /** Scrapers send `Authorization: Bearer <token>`; `undefined`: no token (only with a separate `listen`). */
  readonly token: string | undefined;
  /** A separate listener for /metrics only; `undefined`: served on the API's port (then a token is required). */
  readonly listen: { readonly host: string; readonly port: number } | undefined;
}

/** A configuration problem; `message` is one line that names the variable. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Every variable Sigil reads, for documentation and the test that keeps the docs honest. */
export const CONFIG_VARIABLES = [
  'NODE_ENV',
  'HOST',
  'PORT',
  'DATABASE_URL',
  'SIGIL_DATA_DIR',
  'JWT_SECRET',
  'JWT_ISSUER',
  'ACCESS_TOKEN_TTL',
  'REFRESH_TOKEN_TTL',
  'CORS_ORIGINS',
  'SIGIL_ADMIN_USERNAME',
  'SIGIL_ADMIN_PASSWORD',
  'LOG_LEVEL',
  'AUTH_RATE_LIMIT_PER_ADDRESS',
  'AUTH_RATE_LIMIT_PER_USERNAME',
  'AUTH_FAILURE_LIMIT_PER_USERNAME',
  'AUTH_RATE_LIMIT_UNDER_ATTACK',
  'PASSWORD_HASH_CONCURRENCY',
  'PASSWORD_HASH_QUEUE',
  'TRUST_PROXY',
  'AUTH_CACHE_TTL',
  'REALTIME_RETENTION',
  'REALTIME_FLUSH_MS',
  'READ_CACHE_MB',
  'LIST_PAGE_MB',
  'REQUEST_TIMEOUT',
  'MAX_CONNECTIONS',
  'REALTIME_MAX_CONNECTIONS',
  'REALTIME_MAX_CONNECTIONS_PER_IP',
  'HTTP_LINGER_MB',
  'HTTP_LINGER_TIME',
  'SMTP_URL',
  'MAIL_FROM',
  'MAIL_TEMPLATES_DIR',
  'APP_NAME',
  'PUBLIC_URL',
  'PASSWORD_RESET_TTL',
  'PASSWORD_RESET_RATE_LIMIT_PER_EMAIL',
  'METRICS_TOKEN',
  'METRICS_LISTEN',
  ...IDENTITY_PROVIDER_VARIABLES,
  'EMAIL_VERIFICATION_TTL',
  'EMAIL_VERIFICATION_RATE_LIMIT',
  'AUTH_REQUIRE_VERIFIED_EMAIL',
  'TWO_FACTOR_RATE_LIMIT_PER_USER',
] as const;

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const USERNAME_RE = /^[a-z0-9_.-]{3,32}$/;

/**
 * Reads the configuration from `env` (the caller merges `.env` under the real
 * environment). Throws `ConfigError` on the first bad value; never returns a
 * half-valid configuration.
 */
export function loadConfig(env: Env, opts: { cwd: string }): Config {
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  const nodeEnv = oneOf('NODE_ENV', get('NODE_ENV') ?? 'development', ['development', 'production', 'test'] as const);
  const host = get('HOST') ?? '127.0.0.1';
  const port = parsePort(get('PORT'));

  const databaseUrl = get('DATABASE_URL');
  if (databaseUrl !== undefined && !/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must be sqlite:<path> or postgres://…');
  }
  const rawDataDir = get('SIGIL_DATA_DIR') ?? './sigil_data';
  const dataDir = isAbsolute(rawDataDir) ? rawDataDir : resolve(opts.cwd, rawDataDir);

  const jwtSecrets = parseSecrets(get('JWT_SECRET'), nodeEnv);
  const jwtIssuer = get('JWT_ISSUER') ?? 'sigil';

  const accessTokenTtlSeconds = duration('ACCESS_TOKEN_TTL', get('ACCESS_TOKEN_TTL') ?? '15m');
  const refreshTokenTtlSeconds = duration('REFRESH_TOKEN_TTL', get('REFRESH_TOKEN_TTL') ?? '30d');
  if (refreshTokenTtlSeconds < accessTokenTtlSeconds) {
    throw new ConfigError('REFRESH_TOKEN_TTL', 'must not be shorter than ACCESS_TOKEN_TTL');
  }

  const corsOrigins = parseOrigins(get('CORS_ORIGINS'));
  const admin = parseAdmin(get('SIGIL_ADMIN_USERNAME'), get('SIGIL_ADMIN_PASSWORD'));
  const logLevel = oneOf('LOG_LEVEL', get('LOG_LEVEL') ?? (nodeEnv === 'test' ? 'warn' : 'info'), LOG_LEVELS);

  const authRateLimitPerAddress = rateLimit('AUTH_RATE_LIMIT_PER_ADDRESS', get('AUTH_RATE_LIMIT_PER_ADDRESS') ?? '20/1m');
  const authRateLimitPerUsername = rateLimit('AUTH_RATE_LIMIT_PER_USERNAME', get('AUTH_RATE_LIMIT_PER_USERNAME') ?? '10/1m');
  const authFailureLimitPerUsername = rateLimit('AUTH_FAILURE_LIMIT_PER_USERNAME', get('AUTH_FAILURE_LIMIT_PER_USERNAME') ?? '100/1h');
  const authRateLimitUnderAttack = rateLimit('AUTH_RATE_LIMIT_UNDER_ATTACK', get('AUTH_RATE_LIMIT_UNDER_ATTACK') ?? '3/15m');
  const passwordHashConcurrency = integer('PASSWORD_HASH_CONCURRENCY', get('PASSWORD_HASH_CONCURRENCY') ?? '2', 1, 64);
  const passwordHashQueue = integer('PASSWORD_HASH_QUEUE', get('PASSWORD_HASH_QUEUE') ?? '128', 0, 10_000);
  const authCacheTtl = get('AUTH_CACHE_TTL') ?? '1s';
  const authCacheTtlMs = authCacheTtl === '0' ? 0 : duration('AUTH_CACHE_TTL', authCacheTtl) * 1000;
  if (authCacheTtlMs > 60_000) throw new ConfigError('AUTH_CACHE_TTL', 'must be at most 1m: it bounds how late a revocation on another instance is seen');
  const trustProxy = parseBoolean('TRUST_PROXY', get('TRUST_PROXY') ?? 'false');
  const realtimeRetentionSeconds = duration('REALTIME_RETENTION', get('REALTIME_RETENTION') ?? '24h');
  const flush = get('REALTIME_FLUSH_MS') ?? '20';
  if (!/^\d{1,4}$/.test(flush) || Number(flush) > 1000) throw new ConfigError('REALTIME_FLUSH_MS', `must be an integer from 0 to 1000 (got "${flush}")`);
  const realtimeFlushMs = Number(flush);
  const readCache = get('READ_CACHE_MB') ?? '64';
  if (!/^\d{1,5}$/.test(readCache) || Number(readCache) > 65_536) throw new ConfigError('READ_CACHE_MB', `must be an integer from 0 to 65536 (got "${readCache}")`);
  const readCacheBytes = Number(readCache) * 1024 * 1024;
  const listPage = get('LIST_PAGE_MB') ?? '4';
  if (!/^\d{1,3}$/.test(listPage) || Number(listPage) < 1 || Number(listPage) > 256) throw new ConfigError('LIST_PAGE_MB', `must be an integer from 1 to 256 (got "${listPage}")`);
  const listPageChars = Number(listPage) * 1024 * 1024;

  const requestTimeoutMs = duration('REQUEST_TIMEOUT', get('REQUEST_TIMEOUT') ?? '30s') * 1000;
  if (requestTimeoutMs < 1000 || requestTimeoutMs > 3_600_000) throw new ConfigError('REQUEST_TIMEOUT', 'must be from 1s to 1h');
  const maxConnections = integer('MAX_CONNECTIONS', get('MAX_CONNECTIONS') ?? '10000', 1, 1_000_000);
  const realtimeMaxConnections = integer('REALTIME_MAX_CONNECTIONS', get('REALTIME_MAX_CONNECTIONS') ?? '5000', 1, 1_000_000);
  const realtimeMaxConnectionsPerIp = integer('REALTIME_MAX_CONNECTIONS_PER_IP', get('REALTIME_MAX_CONNECTIONS_PER_IP') ?? '100', 1, 1_000_000);
  const lingerMb = get('HTTP_LINGER_MB') ?? '16';
  if (!/^\d{1,4}$/.test(lingerMb) || Number(lingerMb) > 1024) throw new ConfigError('HTTP_LINGER_MB', `must be an integer from 0 to 1024 (got "${lingerMb}")`);
  const lingerSeconds = duration('HTTP_LINGER_TIME', get('HTTP_LINGER_TIME') ?? '5s');
  if (lingerSeconds > 60) throw new ConfigError('HTTP_LINGER_TIME', 'must be at most 1m: a refused client should not hold a connection for long');
  const linger = { maxBytes: Number(lingerMb) * 1024 * 1024, maxMs: lingerSeconds * 1000 };

  const smtp = parseSmtp(get('SMTP_URL'), get('MAIL_FROM'));
  const rawTemplates = get('MAIL_TEMPLATES_DIR');
  const mailTemplatesDir = rawTemplates === undefined ? undefined : isAbsolute(rawTemplates) ? rawTemplates : resolve(opts.cwd, rawTemplates);
  const appName = get('APP_NAME') ?? 'Sigil';
  if (appName.length > 100 || /[\r\n]/.test(appName)) throw new ConfigError('APP_NAME', 'must be one line of at most 100 characters');
  const publicUrl = parsePublicUrl(get('PUBLIC_URL'), nodeEnv, smtp !== undefined, host, port);
  const passwordResetTtlSeconds = duration('PASSWORD_RESET_TTL', get('PASSWORD_RESET_TTL') ?? '30m');
  if (passwordResetTtlSeconds < 60 || passwordResetTtlSeconds > 86_400) throw new ConfigError('PASSWORD_RESET_TTL', 'must be from 1m to 24h');
  const passwordResetRateLimitPerEmail = rateLimit('PASSWORD_RESET_RATE_LIMIT_PER_EMAIL', get('PASSWORD_RESET_RATE_LIMIT_PER_EMAIL') ?? '5/1h');
  const metrics = parseMetrics(get('METRICS_TOKEN'), get('METRICS_LISTEN'), host, port);
  const identityProviders = parseIdentityProviders(get, Object.keys(env).filter((name) => get(name) !== undefined), {
    nodeEnv, publicUrl, fail: (variable, problem) => new ConfigError(variable, problem),
  });
  const emailVerificationTtlSeconds = duration('EMAIL_VERIFICATION_TTL', get('EMAIL_VERIFICATION_TTL') ?? '24h');
  if (emailVerificationTtlSeconds < 60 || emailVerificationTtlSeconds > 7 * 86_400) throw new ConfigError('EMAIL_VERIFICATION_TTL', 'must be from 1m to 7d');
  const emailVerificationRateLimit = rateLimit('EMAIL_VERIFICATION_RATE_LIMIT', get('EMAIL_VERIFICATION_RATE_LIMIT') ?? '5/1h');
  const authRequireVerifiedEmail = parseBoolean('AUTH_REQUIRE_VERIFIED_EMAIL', get('AUTH_REQUIRE_VERIFIED_EMAIL') ?? 'false');
  if (authRequireVerifiedEmail && nodeEnv === 'production' && smtp === undefined) {
    throw new ConfigError('AUTH_REQUIRE_VERIFIED_EMAIL', 'needs SMTP_URL in production: nobody could verify an address, so nobody could sign in');
  }
  const twoFactorRateLimitPerUser = rateLimit('TWO_FACTOR_RATE_LIMIT_PER_USER', get('TWO_FACTOR_RATE_LIMIT_PER_USER') ?? '10/15m');

  return deepFreeze({
    nodeEnv,
    host,
    port,
    databaseUrl,
    dataDir,
    jwtSecrets,
    jwtIssuer,
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds,
    corsOrigins,
    admin,
    logLevel,
    authRateLimitPerAddress,
    authRateLimitPerUsername,
    authFailureLimitPerUsername,
    authRateLimitUnderAttack,
    passwordHashConcurrency,
    passwordHashQueue,
    authCacheTtlMs,
    trustProxy,
    realtimeRetentionSeconds,
    realtimeFlushMs,
    readCacheBytes,
    listPageChars,
    requestTimeoutMs,
    maxConnections,
    realtimeMaxConnections,
    realtimeMaxConnectionsPerIp,
    linger,
    smtp,
    mailTemplatesDir,
    appName,
    publicUrl,
    passwordResetTtlSeconds,
    passwordResetRateLimitPerEmail,
    metrics,
    identityProviders,
    emailVerificationTtlSeconds,
    emailVerificationRateLimit,
    authRequireVerifiedEmail,
    twoFactorRateLimitPerUser,
  });
}

function parseMetrics(token: string | undefined, listen: string | undefined, host: string, port: number): MetricsConfig | undefined {
  if (token === undefined && listen === undefined) return undefined;
  if (token !== undefined) {
    const problem = checkSecretStrength(token);
    if (problem !== null) throw new ConfigError('METRICS_TOKEN', `is too weak: ${problem} (e.g. \`openssl rand -base64 48\`)`);
  }
  if (listen === undefined) return { token, listen: undefined };
  // `9464`, `127.0.0.1:9464` or `[::1]:9464`.
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):)?(\d{1,5})$/.exec(listen);
  const listenPort = match ? Number(match[2]) : NaN;
  if (!match || listenPort > 65535) {
    throw new ConfigError('METRICS_LISTEN', `must be a port or host:port like 127.0.0.1:9464 (got "${listen}")`);
  }
  const listenHost = match[1] === undefined ? '127.0.0.1' : match[1].replace(/^\[|\]$/g, '');
  if (listenPort === port && port !== 0) throw new ConfigError('METRICS_LISTEN', `must not be the API's port (${port})`);
  return { token, listen: { host: listenHost, port: listenPort } };
}

const MAILBOX_RE = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;

function parseSmtp(url: string | undefined, from: string | undefined): Config['smtp'] {
  if (url === undefined) {
    if (from !== undefined) throw new ConfigError('MAIL_FROM', 'is set but SMTP_URL is not: set both to send mail');
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('SMTP_URL', 'is not a URL like smtp://user:pass@host:587 or smtps://user:pass@host:465');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new ConfigError('SMTP_URL', `must start with smtp:// or smtps:// (got ${parsed.protocol}//)`);
  }
  if (parsed.hostname === '') throw new ConfigError('SMTP_URL', 'has no host');
  if (from === undefined) throw new ConfigError('MAIL_FROM', 'is required with SMTP_URL (an address like no-reply@example.com or "App <no-reply@example.com>")');
  // A bare address, or `Name <address>`; no line breaks (header injection) and one mailbox only.
  const named = /^([^<>\r\n]*)<([^<>]+)>$/.exec(from);
  const address = named ? named[2]!.trim() : from;
  if (/[\r\n]/.test(from) || !MAILBOX_RE.test(address) || (named && /[",;]/.test(named[1]!))) {
    throw new ConfigError('MAIL_FROM', `must be an address like no-reply@example.com or "App <no-reply@example.com>" (got "${from}")`);
  }
  return { url, from };
}

function parsePublicUrl(value: string | undefined, nodeEnv: NodeEnv, smtp: boolean, host: string, port: number): string {
  if (value === undefined) {
    if (nodeEnv === 'production' && smtp) throw new ConfigError('PUBLIC_URL', 'is required with SMTP_URL in production: mails link to it (https://app.example.com)');
    // A wildcard listen address is no place to link to.
    const local = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
    return `http://${local.includes(':') ? `[${local}]` : local}:${port}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError('PUBLIC_URL', `is not a URL like https://app.example.com (got "${value}")`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError('PUBLIC_URL', `must be an http(s) URL without query, fragment or credentials (got "${value}")`);
  }
  return parsed.toString().replace(/\/+$/, '');
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return 8090;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new ConfigError('PORT', `must be an integer from 0 to 65535 (got "${value}")`);
  }
  return Number(value);
}

function integer(name: string, value: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got "${value}")`);
  }
  return Number(value);
}

function duration(name: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new ConfigError(name, `is not a valid duration like 15m, 12h or 30d (${(err as Error).message})`);
  }
}

function rateLimit(name: string, value: string): RateLimitSpec {
  try {
    return parseRateLimit(value);
  } catch (err) {
    throw new ConfigError(name, `is not a valid rate like 20/1m (${(err as Error).message})`);
  }
}

function parseBoolean(name: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new ConfigError(name, `must be true or false (got "${value}")`);
}

function parseSecrets(value: string | undefined, nodeEnv: NodeEnv): string[] | undefined {
  if (value === undefined) {
    if (nodeEnv === 'production') {
      throw new ConfigError('JWT_SECRET', 'is required in production (at least 32 random bytes, e.g. `openssl rand -base64 48`)');
    }
    return undefined;
  }
  const secrets = value.split(',').map((s) => s.trim());
  if (secrets.some((s) => s === '')) throw new ConfigError('JWT_SECRET', 'has an empty entry in its comma-separated list');
  if (new Set(secrets).size !== secrets.length) throw new ConfigError('JWT_SECRET', 'lists the same secret twice');
  if (nodeEnv === 'production') {
    secrets.forEach((secret, i) => {
      const problem = checkSecretStrength(secret);
      if (problem !== null) throw new ConfigError('JWT_SECRET', `entry ${i + 1} is too weak: ${problem}`);
    });
  }
  return secrets;
}

function parseOrigins(value: string | undefined): string[] {
  if (value === undefined) return [];
  const origins = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const origin of origins) {
    if (origin === '*') continue;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `has "${origin}", which is not an origin like https://app.example.com`);
    }
    if (!['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError('CORS_ORIGINS', `has "${origin}", which is not an origin like https://app.example.com (no path, no trailing slash)`);
    }
  }
  return origins;
}

function parseAdmin(username: string | undefined, password: string | undefined): Config['admin'] {
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined) throw new ConfigError('SIGIL_ADMIN_USERNAME', 'must be set when SIGIL_ADMIN_PASSWORD is');
  if (password === undefined) throw new ConfigError('SIGIL_ADMIN_PASSWORD', 'must be set when SIGIL_ADMIN_USERNAME is');
  if (!USERNAME_RE.test(username.toLowerCase())) {
    throw new ConfigError('SIGIL_ADMIN_USERNAME', 'must be 3–32 characters of a-z, 0-9, _ . -');
  }
  const length = [...password].length;
  if (length < 8 || length > 128) throw new ConfigError('SIGIL_ADMIN_PASSWORD', 'must be 8–128 characters');
  return { username: username.toLowerCase(), password };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
