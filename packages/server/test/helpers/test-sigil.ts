import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { createSigil, type Sigil, type SigilOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { Clock } from '../../src/core/clock.js';
import type { Dialect } from '../../src/core/storage/store.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabaseUrl } from './stores.js';

export const TEST_JWT_SECRET = 'test-secret-7QmV2pX9rT4wZ8yB3nK6cF1hJ5dL0sGa';
/** Cheap argon2id parameters: the tests exercise the logic, not the cost. */
export const CHEAP_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 } as const;

export interface TestSigil {
  readonly sigil: Sigil;
  /** `http://127.0.0.1:<port>` when started with `listen: true`. */
  readonly url: string | undefined;
  /** Every log line the server wrote. */
  readonly logs: string[];
  request(opts: {
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    url: string;
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
  }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A Sigil app on `databaseUrl` (undefined: a fresh SQLite file), driven with `inject()`. */
export async function startTestSigil(opts: {
  databaseUrl?: string | undefined;
  env?: Record<string, string>;
  clock?: Clock;
  /** Listen on a free loopback port (for WebSocket tests); otherwise only `inject()`. */
  listen?: boolean;
  realtime?: SigilOptions['realtime'];
  /** argon2 parameters; CHEAP_ARGON2 unless a test measures the real cost. */
  argon2?: SigilOptions['argon2'];
  /** Told the SQL of every statement the store runs (tests that count queries). */
  onStatement?: SigilOptions['onStatement'];
} = {}): Promise<TestSigil> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-test-'));
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      SIGIL_DATA_DIR: dataDir,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'debug',
      AUTH_RATE_LIMIT_PER_ADDRESS: '1000/1m',
      AUTH_RATE_LIMIT_PER_USERNAME: '1000/1m',
      ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
      ...opts.env,
    },
    { cwd: dataDir },
  );
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination });
  const sigil = await createSigil({
    config,
    logger,
    argon2: opts.argon2 ?? CHEAP_ARGON2,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.realtime ? { realtime: opts.realtime } : {}),
    ...(opts.onStatement ? { onStatement: opts.onStatement } : {}),
  });
  await sigil.http.ready();
  const url = opts.listen ? await sigil.http.listen({ host: '127.0.0.1', port: 0 }) : undefined;
  return {
    sigil,
    url,
    logs,
    request({ method, url, token, body, headers }) {
      return sigil.http.inject({
        method,
        url,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      });
    },
    async close() {
      await sigil.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * `startTestSigil` on a fresh, empty database of `dialect` (see stores.ts);
 * its `close()` also drops the database. For a suite per backend:
 * `beforeAll(async () => { t = await startTestSigilOn(backend.name) })`.
 */
export async function startTestSigilOn(dialect: Dialect, opts: Omit<NonNullable<Parameters<typeof startTestSigil>[0]>, 'databaseUrl'> = {}): Promise<TestSigil> {
  const db = await createTestDatabaseUrl(dialect);
  const t = await startTestSigil({ ...opts, databaseUrl: db.url });
  return {
    ...t,
    async close() {
      await t.close();
      await db.dispose();
    },
  };
}

export interface Account {
  readonly username: string;
  readonly password: string;
  readonly id: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

let counter = 0;
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

export async function register(t: TestSigil, username = uniqueName(), password = 'correct horse battery'): Promise<Account> {
  const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password } });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json<{ user: { id: string }; accessToken: string; refreshToken: string }>();
  return { username, password, id: body.user.id, accessToken: body.accessToken, refreshToken: body.refreshToken };
}

/** Creates an admin through the user service (as the CLI does) and logs in. */
export async function createAdmin(t: TestSigil, username = uniqueName('admin'), password = 'admin password 1'): Promise<Account> {
  const admin = await t.sigil.users.createAdmin(username, password);
  const res = await t.request({ method: 'POST', url: '/api/auth/login', body: { username, password } });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json<{ accessToken: string; refreshToken: string }>();
  return { username, password, id: admin.id, accessToken: body.accessToken, refreshToken: body.refreshToken };
}

export function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<{ error: { code: string; message: string } }>();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
}
