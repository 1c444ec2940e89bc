import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { openNotifier } from './adapters/open-notifier.js';
import { openStore } from './adapters/open-store.js';
import type { Config } from './config/config.js';
import { readOrCreateDevSecret } from './config/dev-secret.js';
import { createAuthService, type AuthService } from './core/auth/auth-service.js';
import { createIdentityCache } from './core/auth/identity-cache.js';
import { createPasswordHasher, warmUpDummyHash, type Argon2Params } from './core/auth/password.js';
import { createAuthThrottle } from './core/auth/auth-throttle.js';
import { createWorkGate } from './core/auth/work-gate.js';
import { createTokenService } from './core/auth/token-service.js';
import { createPasswordResets, type PasswordResets } from './core/auth/password-reset.js';
import { createOAuthSignIn, type OAuthSignIn } from './core/auth/oauth/oauth-sign-in.js';
import { createTwoFactor, type TwoFactor } from './core/auth/two-factor.js';
import { createTwoFactorCrypto } from './core/auth/two-factor-crypto.js';
import { createLogMailer, createSmtpMailer } from './adapters/mail/mailers.js';
import type { Mailer } from './core/mail/mailer.js';
import { loadResetPasswordTemplate, loadVerifyEmailTemplate } from './core/mail/templates.js';
import { createEmailVerifications, type EmailVerifications } from './core/auth/email-verification.js';
import { systemClock, type Clock } from './core/clock.js';
import { createCollectionCatalog, type CollectionCatalog } from './core/collections/collection-catalog.js';
import { createCollectionService, type CollectionService } from './core/collections/collection-service.js';
import { createSchemaCompiler } from './core/collections/schema-compiler.js';
import { createAccessPreview } from './core/admin/access-preview.js';
import { createServerStatus } from './core/admin/server-status.js';
import { startRealtime, type Realtime } from './core/realtime/realtime.js';
import { createRecordService, type RecordService } from './core/records/record-service.js';
import { createRelationIntegrity } from './core/records/relation-integrity.js';
import type { Store } from './core/storage/store.js';
import { createUserService, type UserService } from './core/users/user-service.js';
import { buildHttp } from './http/build-http.js';
import { createMetrics } from './metrics/metrics.js';
import { dashboardDistDir, loadDashboard } from './http/routes/dashboard-routes.js';

export interface SigilOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Cheaper argon2 parameters, for tests only. */
  readonly argon2?: Argon2Params;
  /** Realtime tuning; the defaults suit production (REALTIME_DEFAULTS). */
  readonly realtime?: Partial<RealtimeTuning>;
  /** Tests only: told the SQL of every statement the store runs. */
  readonly onStatement?: (sql: string) => void;
}

export interface RealtimeTuning {
  readonly maxMessageBytes: number;
  readonly maxSubscriptions: number;
  /** A client with more than this many bytes queued is closed with 4008. */
  readonly maxBufferedBytes: number;
  readonly pingIntervalMs: number;
  /** A connection that neither authenticates nor subscribes in this time is closed (4009). */
  readonly idleTimeoutMs: number;
  /** How often the change log is read even without a notification. */
  readonly pollIntervalMs: number;
  /** Changes a replay reads and sends at a time (it yields to other work between batches)… */
  readonly replayBatchSize: number;
  /** …and the most JSON characters of them (at least one change, however large). */
  readonly replayBatchChars: number;
  /** Replay batches read at once on this instance; replays take turns (one waiting for its client holds none). */
  readonly maxConcurrentReplays: number;
  /** Least time between two writes of realtime messages to a socket (see ws/frame-writer.ts). */
  readonly flushIntervalMs: number;
  /** `error` replies a connection may get in a minute; the next one closes it with 1008. */
  readonly maxErrorsPerMinute: number;
}

export const REALTIME_DEFAULTS: RealtimeTuning = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxSubscriptions: 100,
  maxBufferedBytes: 4 * 1024 * 1024,
  pingIntervalMs: 30_000,
  idleTimeoutMs: 30_000,
  pollIntervalMs: 1_000,
  replayBatchSize: 200,
  replayBatchChars: 1024 * 1024,
  maxConcurrentReplays: 4,
  flushIntervalMs: 20,
  maxErrorsPerMinute: 100,
});

export interface Sigil {
  readonly config: Config;
  readonly http: FastifyInstance;
  readonly store: Store;
  readonly auth: AuthService;
  readonly users: UserService;
  readonly passwordResets: PasswordResets;
  /** Sign-in with identity providers. */
  readonly oauth: OAuthSignIn;
  readonly emailVerifications: EmailVerifications;
  readonly twoFactor: TwoFactor;
  readonly collections: CollectionService;
  /** Cached collections with compiled validators, for records and realtime. */
  readonly catalog: CollectionCatalog;
  readonly records: RecordService;
  readonly realtime: Realtime;
  /** Where the separate metrics listener (METRICS_LISTEN) answers, once the app is ready; undefined otherwise. */
  readonly metricsUrl: string | undefined;
  /** Stops accepting requests, waits for in-flight ones, then closes the database. */
  close(): Promise<void>;
}

const SESSION_PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const CHANGE_PRUNE_INTERVAL_MS = 10 * 60 * 1000;
const SHUTDOWN_GRACE_MS = 10_000;
/** Changes through this instance apply at once; another instance's rule changes are seen within this. */
const COLLECTION_CACHE_TTL_MS = 1000;

/** Wires config, storage, the core services and the HTTP app together. Does not listen. */
export async function createSigil(opts: SigilOptions): Promise<Sigil> {
  const { config, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const secrets = resolveSecrets(config, logger);
  // Before the database opens: a bad template stops start-up with nothing created.
  const resetTemplate = loadResetPasswordTemplate(config.mailTemplatesDir);
  const verifyTemplate = loadVerifyEmailTemplate(config.mailTemplatesDir);

  const tuning: RealtimeTuning = { ...REALTIME_DEFAULTS, flushIntervalMs: config.realtimeFlushMs, ...opts.realtime };
  const onError = (err: unknown): void => logger.error({ err }, 'background task failed');
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, readCacheBytes: config.readCacheBytes, ...(opts.onStatement ? { onStatement: opts.onStatement } : {}) });
  const notifier = openNotifier({ dialect: store.dialect, databaseUrl: config.databaseUrl, onError });
  // One transport for every mail this server sends (reset and verification links); closed with the server.
  const mailer = mailerFor(config, logger);
  // Set once realtime has started; services created before it report to it through these.
  let realtime: Realtime | undefined;
  const userChanged = (userId: string): void => realtime?.identityChanged(userId);
  try {
    const passwords = createPasswordHasher(opts.argon2, createWorkGate({ maxConcurrent: config.passwordHashConcurrency, maxQueued: config.passwordHashQueue }));
    // The first unknown-user login would otherwise be slower than the rest, and that difference is observable.
    await warmUpDummyHash(opts.argon2);
    const identities = createIdentityCache({ ttlMs: config.authCacheTtlMs, clock });
    const tokens = createTokenService({ secrets, issuer: config.jwtIssuer, accessTokenTtlSeconds: config.accessTokenTtlSeconds, clock });
    const throttle = createAuthThrottle({
      perAddress: config.authRateLimitPerAddress,
      perUsernameAddress: config.authRateLimitPerUsername,
      failuresPerUsername: config.authFailureLimitPerUsername,
      underAttack: config.authRateLimitUnderAttack,
      resetsPerEmail: config.passwordResetRateLimitPerEmail,
      clock,
    });
    const emailVerifications = createEmailVerifications({
      store,
      clock,
      identities,
      onUserChanged: userChanged,
      mailer,
      template: verifyTemplate,
      appName: config.appName,
      publicUrl: config.publicUrl,
      ttlSeconds: config.emailVerificationTtlSeconds,
      rate: config.emailVerificationRateLimit,
      perClientAddress: config.authRateLimitPerAddress,
      onError: (err) => logger.error({ err }, 'an email verification mail was not sent'),
    });
    const twoFactor = createTwoFactor({
      store,
      clock,
      passwords,
      throttle,
      codesPerUser: config.twoFactorRateLimitPerUser,
      crypto: createTwoFactorCrypto(secrets),
      issuer: config.appName,
      identities,
      onUserChanged: userChanged,
      onUnreadableSecret: (userId) => logger.warn({ userId }, 'a two-factor secret opens with no JWT_SECRET entry: reset that user\'s two-factor'),
    });
    const auth = createAuthService({
      store,
      tokens,
      passwords,
      clock,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      throttle,
      identities,
      onUserChanged: userChanged,
      requireVerifiedEmail: config.authRequireVerifiedEmail,
      onRegistered: (user) => emailVerifications.registered(user),
      twoFactor,
    });
    const passwordResets = createPasswordResets({
      store,
      passwords,
      clock,
      throttle,
      identities,
      onUserChanged: userChanged,
      mailer,
      template: resetTemplate,
      appName: config.appName,
      publicUrl: config.publicUrl,
      ttlSeconds: config.passwordResetTtlSeconds,
      onError: (err) => logger.error({ err }, 'a password reset mail was not sent'),
    });
    const oauth = createOAuthSignIn({ store, clock, auth, throttle, config: config.identityProviders });
    if (!passwordResets.available) logger.warn('SMTP_URL is not set: password reset is off (POST /api/auth/forgot-password answers 503)');
    const compiler = createSchemaCompiler();
    const catalog = createCollectionCatalog({ store, clock, cacheTtlMs: COLLECTION_CACHE_TTL_MS, compiler });
    const relations = createRelationIntegrity({ catalog, now: () => new Date(clock.now()).toISOString() });
    const users = createUserService({ store, passwords, clock, identities, throttle, onUserChanged: userChanged, relations, onCommitted: () => realtime?.committed(), emailVerifications });
    const collections = createCollectionService({ store, clock, catalog, compiler, onCommitted: () => realtime?.committed() });
    const records = createRecordService({ store, catalog, clock, listPageChars: config.listPageChars, onCommitted: (seq) => realtime?.committed(seq) });
    const live = await startRealtime({
      changes: store.changes,
      records: store.records,
      relations: store.relations,
      catalog,
      auth,
      clock,
      notifier,
      limits: { maxSubscriptions: tuning.maxSubscriptions, maxBufferedBytes: tuning.maxBufferedBytes, replayBatchSize: tuning.replayBatchSize, replayBatchChars: tuning.replayBatchChars, maxConcurrentReplays: tuning.maxConcurrentReplays },
      pollIntervalMs: tuning.pollIntervalMs,
      onRemoteIdentityChange: () => identities.invalidate(),
      onError,
    });
    realtime = live;

    if (config.admin) {
      const created = await users.ensureBootstrapAdmin(config.admin);
      if (created) logger.info({ username: created.username }, 'created the admin from SIGIL_ADMIN_USERNAME');
    }

    const metrics = config.metrics ? createMetrics({ now: () => clock.now() }) : undefined;
    metrics?.attach({
      realtime: () => ({ connections: live.hub.size, subscriptions: live.hub.subscriptionCount }),
      changeLog: async () => {
        const [oldestSeq, latestSeq] = await Promise.all([store.changes.oldestSeq(), store.changes.latestSeq()]);
        return { oldestSeq, latestSeq };
      },
      pool: () => store.poolStats(),
    });
    let metricsUrl: string | undefined;

    const dashboard = loadDashboard(dashboardDistDir());
    if (dashboard === null) logger.warn('the dashboard is not built (npm run build): /_/ answers 503');
    const http = await buildHttp({
      dashboard,
      logger,
      store,
      auth,
      users,
      passwordResets,
      oauth,
      emailVerifications,
      twoFactor,
      collections,
      records,
      accessPreview: createAccessPreview({ store, collections, records }),
      status: createServerStatus({
        store,
        clock,
        retentionSeconds: config.realtimeRetentionSeconds,
        realtime: () => ({ connections: live.hub.size, subscriptions: live.hub.subscriptionCount }),
      }),
      realtime: {
        hub: live.hub,
        maxMessageBytes: tuning.maxMessageBytes,
        pingIntervalMs: tuning.pingIntervalMs,
        idleTimeoutMs: tuning.idleTimeoutMs,
        flushIntervalMs: tuning.flushIntervalMs,
        maxBufferedBytes: tuning.maxBufferedBytes,
        maxErrorsPerMinute: tuning.maxErrorsPerMinute,
        maxConnections: config.realtimeMaxConnections,
        maxConnectionsPerAddress: config.realtimeMaxConnectionsPerIp,
      },
      connections: { requestTimeoutMs: config.requestTimeoutMs, maxConnections: config.maxConnections },
      corsOrigins: config.corsOrigins,
      trustProxy: config.trustProxy,
      exposeInternalMessages: config.nodeEnv === 'development',
      linger: config.linger,
      metrics: metrics && config.metrics && {
        metrics,
        config: config.metrics,
        onListening: (url) => {
          metricsUrl = url;
          logger.info({ url }, 'metrics listening');
        },
      },
    });

    const pruneTimer = setInterval(() => {
      auth.pruneSessions().catch((err: unknown) => logger.warn({ err }, 'session pruning failed'));
      passwordResets.prune().catch((err: unknown) => logger.warn({ err }, 'password reset pruning failed'));
      oauth.prune().catch((err: unknown) => logger.warn({ err }, 'sign-in attempt pruning failed'));
      emailVerifications.prune().catch((err: unknown) => logger.warn({ err }, 'email verification pruning failed'));
      twoFactor.prune().catch((err: unknown) => logger.warn({ err }, 'two-factor challenge pruning failed'));
    }, SESSION_PRUNE_INTERVAL_MS);
    pruneTimer.unref();
    // The change log keeps REALTIME_RETENTION of history for clients resuming with `since`.
    const changePruneTimer = setInterval(() => {
      store.changes
        .pruneChanges(new Date(clock.now() - config.realtimeRetentionSeconds * 1000).toISOString())
        .catch((err: unknown) => logger.warn({ err }, 'change log pruning failed'));
    }, CHANGE_PRUNE_INTERVAL_MS);
    changePruneTimer.unref();

    let closing: Promise<void> | undefined;
    return {
      config,
      http,
      store,
      auth,
      users,
      passwordResets,
      oauth,
      emailVerifications,
      twoFactor,
      collections,
      catalog,
      records,
      realtime: live,
      get metricsUrl() {
        return metricsUrl;
      },
      close() {
        closing ??= (async () => {
          clearInterval(pruneTimer);
          clearInterval(changePruneTimer);
          // Sockets first (1001: reconnect and resume), then in-flight requests.
          live.stop();
          await closeGracefully(http);
          await Promise.all([passwordResets.drain(SHUTDOWN_GRACE_MS), emailVerifications.drain(SHUTDOWN_GRACE_MS)]);
          mailer?.close();
          await notifier.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    realtime?.stop();
    mailer?.close();
    await notifier.close();
    await store.close();
    throw err;
  }
}

/** SMTP when configured; else the log outside production, and no mail at all in production. */
function mailerFor(config: Config, logger: Logger): Mailer | null {
  if (config.smtp) return createSmtpMailer(config.smtp);
  return config.nodeEnv === 'production' ? null : createLogMailer(logger);
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
