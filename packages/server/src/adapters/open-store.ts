import { join, resolve } from 'node:path';
import type { Store } from '../core/storage/store.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';

export type StoreLocation =
  | { readonly dialect: 'sqlite'; readonly filename: string }
  | { readonly dialect: 'postgres'; readonly url: string };

/**
 * Reads a DATABASE_URL (SPEC §3):
 * - unset or empty: SQLite at `<dataDir>/sigil.db`;
 * - `sqlite:<path>`: SQLite at `<path>`, relative to the working directory
 *   (`sqlite://<path>` is read the same way, so `sqlite:///abs/x.db` is absolute);
 *   `sqlite::memory:` is an in-memory database (tests);
 * - `postgres://…` or `postgresql://…`: PostgreSQL.
 *
 * The error never repeats the URL: it may hold a password.
 */
export function parseDatabaseUrl(databaseUrl: string | undefined, dataDir: string): StoreLocation {
  const url = databaseUrl?.trim() ?? '';
  if (url === '') return { dialect: 'sqlite', filename: resolve(join(dataDir, 'sigil.db')) };
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: 'postgres', url };
  if (/^sqlite:/i.test(url)) {
    const path = url.replace(/^sqlite:(\/\/)?/i, '');
    if (path === ':memory:') return { dialect: 'sqlite', filename: ':memory:' };
    if (path === '') throw new Error('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:./sigil_data/sigil.db.');
    return { dialect: 'sqlite', filename: resolve(path) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new Error(
    `DATABASE_URL must be unset, "sqlite:<path>" or "postgres://…"; got ${scheme === undefined ? 'a value without a scheme' : `scheme "${scheme}:"`}.`,
  );
}

/** Opens the store DATABASE_URL names (see `parseDatabaseUrl`), migrated and ready. */
export async function openStore(opts: {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** The read cache (`READ_CACHE_MB`); default none, for short-lived commands and tests. */
  readonly readCacheBytes?: number;
  /** Tests only: told the SQL of every statement the store runs (counting the queries of a request). */
  readonly onStatement?: (sql: string) => void;
}): Promise<Store> {
  const hook = opts.onStatement === undefined ? {} : { onStatement: opts.onStatement };
  const location = parseDatabaseUrl(opts.databaseUrl, opts.dataDir);
  switch (location.dialect) {
    case 'sqlite':
      return openSqliteStore({ filename: location.filename, readCacheBytes: opts.readCacheBytes ?? 0, ...hook });
    case 'postgres':
      return openPostgresStore({ url: location.url, readCacheBytes: opts.readCacheBytes ?? 0, ...hook });
  }
}
