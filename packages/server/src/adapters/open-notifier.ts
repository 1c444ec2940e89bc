import type { Notifier } from '../core/storage/notifier.js';
import type { Dialect } from '../core/storage/store.js';
import { createLocalNotifier } from './local-notifier.js';
import { createPostgresNotifier } from './postgres/postgres-notifier.js';

/** The notifier that matches the store: LISTEN/NOTIFY on PostgreSQL, in-process on SQLite. */
export function openNotifier(opts: { readonly dialect: Dialect; readonly databaseUrl: string | undefined; readonly onError: (err: unknown) => void }): Notifier {
  if (opts.dialect === 'postgres' && opts.databaseUrl !== undefined) return createPostgresNotifier({ url: opts.databaseUrl, onError: opts.onError });
  return createLocalNotifier();
}
