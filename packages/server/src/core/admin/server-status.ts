import { requireAdmin, type Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { Store } from '../storage/store.js';
import { SERVER_VERSION } from '../../version.js';

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
    requireAdmin(principal, 'see the server status');
    const { store } = opts;
    const [oldestSeq, latestSeq, collections] = await Promise.all([store.changes.oldestSeq(), store.changes.latestSeq(), store.collections.listCollections()]);
    const counts = await Promise.all(collections.map(async (c) => ({ name: c.name, records: await store.records.countRecords(c.name) })));
    const now = opts.clock.now();
    return {
      version: SERVER_VERSION,
      engine: store.dialect,
      startedAt: new Date(started).toISOString(),
      uptimeSeconds: Math.floor((now - started) / 1000),
      realtime: opts.realtime(),
      changeLog: { oldestSeq, latestSeq, size: oldestSeq === null ? 0 : latestSeq - oldestSeq + 1, retentionSeconds: opts.retentionSeconds },
      collections: counts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    };
  };
}
