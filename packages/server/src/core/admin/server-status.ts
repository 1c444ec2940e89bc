import { readFileSync } from 'node:fs';
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { Store } from '../storage/store.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** What `GET /api/admin/status` answers (the dashboard's Server screen). */
export interface ServerStatus {
  readonly version: string;
  readonly engine: Store['dialect'];
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly realtime: { readonly connections: number; readonly subscriptions: number };
  /** The log realtime clients resume from: one gap-free range of seqs, kept for `retentionSeconds`. */
  readonly changeLog: { readonly oldestSeq: number | null; readonly latestSeq: number; readonly size: number; readonly retentionSeconds: number };
  /** Every collection with its record count, by name. */
  readonly collections: readonly { readonly name: string; readonly records: number }[];
}

export interface ServerStatusOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly retentionSeconds: number;
  /** This instance's realtime connections and their subscriptions. */
  readonly realtime: () => ServerStatus['realtime'];
}

export type ServerStatusReader = (principal: Principal | null) => Promise<ServerStatus>;

export function createServerStatus(opts: ServerStatusOptions): ServerStatusReader {
  const started = opts.clock.now();
  return async (principal) => {
    if (principal === null) throw new AppError('unauthorized', 'Sign in as an admin to see the server status.');
    if (principal.role !== 'admin') throw new AppError('forbidden', 'Only admins may see the server status.');
    const { store } = opts;
    const [oldestSeq, latestSeq, collections] = await Promise.all([store.changes.oldestSeq(), store.changes.latestSeq(), store.collections.listCollections()]);
    const counts = await Promise.all(collections.map(async (c) => ({ name: c.name, records: await store.records.countRecords(c.name) })));
    const now = opts.clock.now();
    return {
      version: VERSION,
      engine: store.dialect,
      startedAt: new Date(started).toISOString(),
      uptimeSeconds: Math.floor((now - started) / 1000),
      realtime: opts.realtime(),
      changeLog: { oldestSeq, latestSeq, size: oldestSeq === null ? 0 : latestSeq - oldestSeq + 1, retentionSeconds: opts.retentionSeconds },
      collections: counts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    };
  };
}
