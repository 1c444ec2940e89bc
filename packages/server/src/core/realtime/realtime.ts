import { randomUUID } from 'node:crypto';
import type { AuthService } from '../auth/auth-service.js';
import type { Clock } from '../clock.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import { CHANNELS, type Notifier } from '../storage/notifier.js';
import type { ChangeRepository, RecordRepository, RelationRepository } from '../storage/store.js';
import { createChangeFeed } from './change-feed.js';
import { createRealtimeHub, type RealtimeLimits } from './realtime-hub.js';

export interface RealtimeOptions {
  readonly changes: ChangeRepository;
  /** What events' expansions are read from. */
  readonly records: RecordRepository;
  readonly relations: RelationRepository;
  readonly catalog: CollectionCatalog;
  readonly auth: AuthService;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly limits: RealtimeLimits;
  /** How often the change log is polled in case a notification was missed. */
  readonly pollIntervalMs: number;
  /** Identity changed elsewhere: drop cached sessions before re-checking sockets. */
  readonly onRemoteIdentityChange: () => void;
  readonly onError: (err: unknown) => void;
}

export type Realtime = Awaited<ReturnType<typeof startRealtime>>;

/**
 * Wires the change feed to the hub and both to the notifier: a commit here
 * pokes the local feed at once and signals other instances; a signal from
 * another instance (or the periodic poll) makes the feed read the log.
 */
export async function startRealtime(opts: RealtimeOptions) {
  const hub = createRealtimeHub({
    changes: opts.changes, expansionReader: { records: opts.records, relations: opts.relations }, catalog: opts.catalog, auth: opts.auth, clock: opts.clock, limits: opts.limits, onError: opts.onError,
  });
  const feed = createChangeFeed({
    changes: opts.changes,
    onChange: (change) => hub.dispatch(change),
    onBatch: (changes) => hub.prepareBatch(changes),
    onError: opts.onError,
    pollIntervalMs: opts.pollIntervalMs,
    wanted: () => hub.hasSubscriptions,
    onSkip: (position) => hub.startAt(position),
  });
  await feed.start();
  hub.startAt(feed.position);

  // A commit's signal names the instance that made it: this one's own come back to it, and
  // its feed was poked already (with the commit's seq, which spares a query when nobody listens).
  const instance = randomUUID();
  await opts.notifier.listen(CHANNELS.changes, (from) => {
    if (from !== instance) feed.poke();
  }, () => feed.poke());
  await opts.notifier.listen(CHANNELS.identity, (userId) => {
    opts.onRemoteIdentityChange();
    void hub.revalidateUser(userId);
  });

  // One NOTIFY in flight at a time; commits meanwhile are covered by one more.
  let signalling = false;
  let signalAgain = false;
  function signalCommit(): void {
    if (signalling) {
      signalAgain = true;
      return;
    }
    signalling = true;
    opts.notifier.notify(CHANNELS.changes, instance).then(
      () => {
        signalling = false;
        if (signalAgain) {
          signalAgain = false;
          signalCommit();
        }
      },
      (err: unknown) => {
        signalling = false;
        opts.onError(err);
      },
    );
  }

  return {
    hub,
    /** A record write committed in this process; `seq`, its last change's, when known. */
    committed(seq?: number): void {
      feed.poke(seq);
      signalCommit();
    },
    /** A user's sessions, role or status changed in this process. */
    identityChanged(userId: string): void {
      void hub.revalidateUser(userId);
      opts.notifier.notify(CHANNELS.identity, userId).catch(opts.onError);
    },
    stop(): void {
      feed.stop();
      hub.closeAll();
    },
  };
}
