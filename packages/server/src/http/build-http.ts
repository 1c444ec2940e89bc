import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AccessPreviewReader } from '../core/admin/access-preview.js';
import type { ServerStatusReader } from '../core/admin/server-status.js';
import type { AuthService } from '../core/auth/auth-service.js';
import type { CollectionService } from '../core/collections/collection-service.js';
import type { RecordService } from '../core/records/record-service.js';
import type { Store } from '../core/storage/store.js';
import type { UserService } from '../core/users/user-service.js';
import type { TwoFactor } from '../core/auth/two-factor.js';
import type { PasswordResets } from '../core/auth/password-reset.js';
import type { EmailVerifications } from '../core/auth/email-verification.js';
import { createClientErrorHandler } from './client-errors.js';
import { frameworkErrorHandler, installErrorHandler } from './error-handler.js';
import type { LingerBounds } from './lingering-close.js';
import { applySecurityHeaders } from './security-headers.js';
import { createAuthHooks } from './plugins/authenticate.js';
import { assertStorableParameters, installStorableInputCheck } from './plugins/storable-input.js';
import { openApiRoutes } from './openapi.js';
import { accessPreviewRoutes } from './routes/access-preview-routes.js';
import { adminRoutes } from './routes/admin-routes.js';
import { authRoutes } from './routes/auth-routes.js';
import { oauthRoutes } from './routes/oauth-routes.js';
import type { OAuthSignIn } from '../core/auth/oauth/oauth-sign-in.js';
import { batchRoutes } from './routes/batch-routes.js';
import { collectionRoutes } from './routes/collection-routes.js';
import { dashboardRoutes, type DashboardFiles } from './routes/dashboard-routes.js';
import { demoRoutes } from './routes/demo-routes.js';
import { recordRoutes } from './routes/record-routes.js';
import { realtimeRoutes, type RealtimeTransportOptions } from '../ws/realtime-route.js';
import { healthRoutes } from './routes/health-routes.js';
import type { MetricsConfig } from '../config/config.js';
import type { Metrics } from '../metrics/metrics.js';
import { installMetricsEndpoint } from './metrics-endpoint.js';
import { userRoutes } from './routes/user-routes.js';
import { emailVerificationRoutes } from './routes/email-verification-routes.js';
import { twoFactorRoutes } from './routes/two-factor-routes.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface HttpDeps {
  readonly logger: FastifyBaseLogger;
  readonly store: Store;
  readonly auth: AuthService;
  readonly users: UserService;
  readonly passwordResets: PasswordResets;
  readonly oauth: OAuthSignIn;
  readonly emailVerifications: EmailVerifications;
  readonly twoFactor: TwoFactor;
  readonly collections: CollectionService;
  readonly records: RecordService;
  readonly status: ServerStatusReader;
  /** `POST /api/admin/access-preview`: what a user could read under proposed rules. */
  readonly accessPreview: AccessPreviewReader;
  /** The built dashboard, served at /_/ (null: not built). */
  readonly dashboard: DashboardFiles | null;
  readonly realtime: Omit<RealtimeTransportOptions, 'corsOrigins'>;
  readonly corsOrigins: readonly string[];
  readonly trustProxy: boolean;
  readonly connections: ConnectionLimits;
  /** Development only: put internal error messages in 500 responses. */
  readonly exposeInternalMessages: boolean;
  readonly linger: LingerBounds;
  /** Prometheus metrics (METRICS_TOKEN / METRICS_LISTEN); absent: none, and no per-request cost. */
  readonly metrics?: { readonly metrics: Metrics; readonly config: MetricsConfig; readonly onListening: (url: string) => void } | undefined;
}

export interface ConnectionLimits {
  /** Headers and body must have arrived within this (REQUEST_TIMEOUT); else 408 and the connection closes. */
  readonly requestTimeoutMs: number;
  /** Open TCP connections; more are closed as they are accepted (MAX_CONNECTIONS). */
  readonly maxConnections: number;
}

/** How often Node looks for requests past their timeout (its default, 30 s, would let one run 30 s over). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** Builds the Fastify app. Plugin and route order lives here and only here. */
export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: deps.trustProxy,
    // A client dripping its request a byte at a time holds a socket and a
    // parser; the whole request must arrive within the timeout. Upgraded
    // WebSockets are no longer requests and are not affected.
    requestTimeout: deps.connections.requestTimeoutMs,
    http: {
      requestTimeout: deps.connections.requestTimeoutMs,
      headersTimeout: deps.connections.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    // Let in-flight requests finish on close, but drop idle keep-alive sockets at once.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Errors below the routes use the one error body too (see error-handler.ts, client-errors.ts).
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: createClientErrorHandler(() => deps.logger, deps.linger),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });

  app.server.maxConnections = deps.connections.maxConnections;
  // JSON only: text/plain (a Fastify default) gets 415 like every other type.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  installErrorHandler(app, { exposeInternalMessages: deps.exposeInternalMessages, linger: deps.linger });
  // One hook on every request (each global hook costs every request; measured ~5% of a GET by id).
  app.addHook('onRequest', (request, reply, done) => {
    applySecurityHeaders(request, reply);
    try {
      assertStorableParameters(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
  installStorableInputCheck(app);
  if (deps.metrics) {
    const { metrics } = deps.metrics;
    // The route's pattern, never the URL itself: one series per route, however many ids are asked for.
    app.addHook('onResponse', (request, reply, done) => {
      metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
    installMetricsEndpoint(app, metrics, deps.metrics.config, deps.metrics.onListening);
  }

  if (deps.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: deps.corsOrigins.includes('*') ? true : [...deps.corsOrigins],
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'If-Match'],
      exposedHeaders: ['ETag', 'Retry-After'],
      maxAge: 600,
    });
  }

  const hooks = createAuthHooks(deps.auth);
  healthRoutes(app, { store: deps.store });
  authRoutes(app, { auth: deps.auth, passwordResets: deps.passwordResets, hooks });
  oauthRoutes(app, { oauth: deps.oauth, hooks });
  userRoutes(app, { users: deps.users, hooks });
  emailVerificationRoutes(app, { emailVerifications: deps.emailVerifications, hooks });
  twoFactorRoutes(app, { auth: deps.auth, twoFactor: deps.twoFactor, hooks });
  collectionRoutes(app, { collections: deps.collections, hooks });
  recordRoutes(app, { records: deps.records, hooks });
  batchRoutes(app, { records: deps.records, hooks });
  adminRoutes(app, { status: deps.status, hooks });
  accessPreviewRoutes(app, { preview: deps.accessPreview, hooks });
  await realtimeRoutes(app, { ...deps.realtime, corsOrigins: deps.corsOrigins, metrics: deps.metrics?.metrics });
  openApiRoutes(app, { collections: deps.collections, hooks });
  demoRoutes(app);
  dashboardRoutes(app, { files: deps.dashboard });
  return app;
}
