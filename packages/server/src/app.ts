import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { openStore } from './adapters/open-store.js';
import type { Config } from './config/config.js';
import { readOrCreateDevSecret } from './config/dev-secret.js';
import { createAuthService, type AuthService } from './core/auth/auth-service.js';
import { createIdentityCache } from './core/auth/identity-cache.js';
import { createPasswordHasher, warmUpDummyHash, type Argon2Params } from './core/auth/password.js';
import { createRateLimiter } from './core/auth/rate-limiter.js';
import { createTokenService } from './core/auth/token-service.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Store } from './core/storage/store.js';
import { createUserService, type UserService } from './core/users/user-service.js';
import { buildHttp } from './http/build-http.js';

export interface SigilOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Cheaper argon2 parameters, for tests only. */
  readonly argon2?: Argon2Params;
}

export interface Sigil {
  readonly config: Config;
  readonly http: FastifyInstance;
  readonly store: Store;
  readonly auth: AuthService;
  readonly users: UserService;
  /** Stops accepting requests, waits for in-flight ones, then closes the database. */
  close(): Promise<void>;
}

const SESSION_PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const SHUTDOWN_GRACE_MS = 10_000;

/** Wires config, storage, the core services and the HTTP app together. Does not listen. */
export async function createSigil(opts: SigilOptions): Promise<Sigil> {
  const { config, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const secrets = resolveSecrets(config, logger);

  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const passwords = createPasswordHasher(opts.argon2);
    // The first unknown-user login would otherwise be slower than the rest, and that difference is observable.
    await warmUpDummyHash(opts.argon2);
    const identities = createIdentityCache({ ttlMs: config.authCacheTtlMs, clock });
    const tokens = createTokenService({ secrets, issuer: config.jwtIssuer, accessTokenTtlSeconds: config.accessTokenTtlSeconds, clock });
    const auth = createAuthService({
      store,
      tokens,
      passwords,
      clock,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      addressLimiter: createRateLimiter({ ...config.authRateLimitPerAddress, clock }),
      usernameLimiter: createRateLimiter({ ...config.authRateLimitPerUsername, clock }),
      identities,
    });
    const users = createUserService({ store, passwords, clock, identities });

    if (config.admin) {
      const created = await users.ensureBootstrapAdmin(config.admin);
      if (created) logger.info({ username: created.username }, 'created the admin from SIGIL_ADMIN_USERNAME');
    }

    const http = await buildHttp({
      logger,
      store,
      auth,
      users,
      corsOrigins: config.corsOrigins,
      trustProxy: config.trustProxy,
      exposeInternalMessages: config.nodeEnv === 'development',
    });

    const pruneTimer = setInterval(() => {
      auth.pruneSessions().catch((err: unknown) => logger.warn({ err }, 'session pruning failed'));
    }, SESSION_PRUNE_INTERVAL_MS);
    pruneTimer.unref();

    let closing: Promise<void> | undefined;
    return {
      config,
      http,
      store,
      auth,
      users,
      close() {
        closing ??= (async () => {
          clearInterval(pruneTimer);
          await closeGracefully(http);
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

function resolveSecrets(config: Config, logger: Logger): readonly string[] {
  if (config.jwtSecrets) return config.jwtSecrets;
  const { secret, created } = readOrCreateDevSecret(config.dataDir);
  if (created) {
    logger.warn(`JWT_SECRET is not set: generated one in ${config.dataDir} for ${config.nodeEnv}. Set JWT_SECRET in production.`);
  }
  return [secret];
}

/**
 * Stops accepting, lets in-flight requests finish, then closes. A keep-alive
 * connection whose request finishes after close() began would otherwise hold
 * the server open, so idle connections are swept until the server is closed;
 * after the grace period every connection is cut.
 */
async function closeGracefully(http: FastifyInstance): Promise<void> {
  const closed = http.close();
  const sweeper = setInterval(() => http.server.closeIdleConnections(), 50);
  const deadline = setTimeout(() => http.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  try {
    await closed;
  } finally {
    clearInterval(sweeper);
    clearTimeout(deadline);
  }
}
