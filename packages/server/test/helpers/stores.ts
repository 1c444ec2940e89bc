/**
 * The store matrix: every contract suite runs once per entry of `STORES`
 * (STYLE §5). `SIGIL_TEST_STORES=sqlite` (comma list) narrows it; the default
 * is both dialects. PostgreSQL comes from the global setup
 * (`postgres-global-setup.ts`); each `open()` gets a fresh database, dropped
 * again by `dispose()`.
 *
 * ```ts
 * describe.each(STORES)('$name', (factory) => {
 *   let store: Store;
 *   freshStoreEachTest(factory, (opened) => {
 *     store = opened.store;
 *   });
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, inject } from 'vitest';
import type { Dialect, Store } from '../../src/core/storage/store.js';
import { openStore } from '../../src/adapters/open-store.js';
import type {} from './postgres-global-setup.js'; // the `inject` keys' types

export interface TestDatabase {
  /** A DATABASE_URL for the fresh, empty database (`sqlite:<file>` or `postgres://…`). */
  readonly url: string;
  /** Deletes the database; call after everything using it is closed. */
  dispose(): Promise<void>;
}

export interface OpenedStore extends TestDatabase {
  readonly store: Store;
}

export interface StoreFactory {
  readonly name: Dialect;
  /** Non-null when this backend is unavailable: the suite skips and says why. */
  readonly skipReason: string | null;
  /** A migrated store on a fresh database; `dispose` closes it and deletes the database. */
  open(): Promise<OpenedStore>;
}

/**
 * A fresh, empty database without opening a store: for tests that hand the
 * URL to a server process they spawn.
 */
export async function createTestDatabaseUrl(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'sigil-test-'));
    return { url: `sqlite:${join(dir, 'sigil.db')}`, dispose: () => rm(dir, { recursive: true, force: true }) };
  }
  const adminUrl = inject('pgAdminUrl');
  if (adminUrl === null) throw new Error(inject('pgSkipReason') ?? 'PostgreSQL is unavailable.');
  const name = `sigil_t_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE: a server under test that crashed may still hold connections.
    dispose: () => withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function factory(name: Dialect, skipReason: string | null): StoreFactory {
  return {
    name,
    skipReason,
    async open() {
      const db = await createTestDatabaseUrl(name);
      try {
        // With the read cache a server has (READ_CACHE_MB's default), so the contract covers it.
        const store = await openStore({ databaseUrl: db.url, dataDir: tmpdir(), readCacheBytes: TEST_READ_CACHE_BYTES });
        return {
          store,
          url: db.url,
          dispose: async () => {
            await store.close();
            await db.dispose();
          },
        };
      } catch (error) {
        await db.dispose();
        throw error;
      }
    },
  };
}

const selected = (process.env['SIGIL_TEST_STORES'] ?? 'sqlite,postgres').split(',').map((s) => s.trim()).filter(Boolean);
for (const name of selected) {
  if (name !== 'sqlite' && name !== 'postgres') throw new Error(`SIGIL_TEST_STORES: unknown store "${name}" (use sqlite, postgres)`);
}

export const TEST_READ_CACHE_BYTES = 64 * 1024 * 1024;

export const STORES: readonly StoreFactory[] = [
  factory('sqlite', null),
  factory('postgres', inject('pgAdminUrl') === null ? inject('pgSkipReason') ?? 'PostgreSQL is unavailable.' : null),
].filter((f) => selected.includes(f.name));

/** Why the suites that need PostgreSQL itself (several processes on one database) cannot run; null when they can. */
export const POSTGRES_SKIP_REASON: string | null = (() => {
  const postgres = STORES.find((s) => s.name === 'postgres');
  return postgres === undefined ? 'SIGIL_TEST_STORES excludes postgres' : postgres.skipReason;
})();

/** Says loudly, on stderr, that a suite is skipped and why (a quiet skip would read as a pass). */
export function announceSkip(suite: string, reason: string): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! SKIPPING ${suite}\n!! ${reason.replaceAll('\n', '\n!! ')}\n${bar}\n\n`);
}

/**
 * Gives each test of the enclosing `describe` a fresh, migrated store:
 * `onOpen` receives it before the test (for set-up), and it is disposed after.
 * Does nothing when the backend is unavailable (the suite skips).
 */
export function freshStoreEachTest(factory: StoreFactory, onOpen: (opened: OpenedStore) => void | Promise<void>): void {
  let opened: OpenedStore | undefined;
  beforeEach(async () => {
    if (factory.skipReason !== null) return;
    opened = await factory.open();
    await onOpen(opened);
  });
  afterEach(async () => {
    await opened?.dispose();
    opened = undefined;
  });
}
