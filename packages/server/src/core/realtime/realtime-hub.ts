import { CLOSE_CODES, type ServerMessage } from '@sigil/protocol';
import type { AuthService } from '../auth/auth-service.js';
import type { Clock } from '../clock.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import type { Collection } from '../collections/collection.js';
import { AppError, isAppError } from '../errors.js';
import { readScope } from '../records/access.js';
import type { ChangeRow } from '../records/record.js';
import type { ChangeRepository, RecordRepository, RelationRepository } from '../storage/store.js';
import { changeMessage, operationFor } from './change-messages.js';
import { handleClientMessage } from './client-messages.js';
import { createEventExpansions, type ExpandTarget } from './event-expansions.js';
import { createSlots, delay, DRAIN_POLL_MS, yieldToOthers } from './replay-pacing.js';
import { newConnection, type ClientSink, type HeldChange, type RealtimeConnection, type Subscription } from './realtime-connection.js';

export interface RealtimeLimits {
  readonly maxSubscriptions: number;
  /** Above this many queued bytes a client is closed with 4008 (it resumes with `since`). */
  readonly maxBufferedBytes: number;
  readonly replayBatchSize: number;
  /** A replay batch stops once its changes pass this many JSON characters. */
  readonly replayBatchChars: number;
  readonly maxConcurrentReplays: number;
}

export interface RealtimeHubOptions {
  readonly changes: ChangeRepository;
  /** Where events' expansions are read (event-expansions.ts). */
  readonly expansionReader: { readonly records: Pick<RecordRepository, 'readRecords'>; readonly relations: Pick<RelationRepository, 'findUserNames' | 'findReferringRecords'> };
  readonly catalog: CollectionCatalog;
  readonly auth: AuthService;
  readonly clock: Clock;
  readonly limits: RealtimeLimits;
  readonly onError: (err: unknown) => void;
}

export type RealtimeHub = ReturnType<typeof createRealtimeHub>;

/** Messages a client may have waiting before it is cut off (each is small, but the queue must be bounded). */
const MAX_QUEUED_MESSAGES = 256;

/**
 * The registry of realtime clients and the delivery of changes to their
 * subscriptions. Knows no transport: the WebSocket route feeds it parsed
 * messages and a sink. Every event is authorized for its subscriber at
 * delivery time with the collection's current `view` rule.
 */
export function createRealtimeHub(opts: RealtimeHubOptions) {
  const { changes, catalog, limits } = opts;
  const connections = new Set<RealtimeConnection>();
  const expansions = createEventExpansions({ reader: opts.expansionReader, catalog });
  /** The seq of the last change the hub has dispatched to live subscriptions. */
  let processedSeq = 0;
  /** The seq of the last dispatched change that ended its transaction: before it, no transaction is half dispatched. */
  let boundarySeq = 0;
  /** While live delivery runs: the commit time of the change being dispatched (replays leave it undefined). */
  let liveCommittedAt: number | undefined;

  function send(conn: RealtimeConnection, message: ServerMessage): void {
    if (conn.closed) return;
    conn.sink.send(message);
    cutIfSlow(conn);
  }

  /** The one outbound bound: past it a client is closed with 4008 (it resumes with `since`). */
  function cutIfSlow(conn: RealtimeConnection): void {
    if (conn.sink.bufferedBytes() > limits.maxBufferedBytes) close(conn, CLOSE_CODES.slowConsumer, 'slow consumer: resume with since');
  }

  function close(conn: RealtimeConnection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.expiryTimer);
    connections.delete(conn);
    conn.sink.close(code, reason);
  }

  /**
   * Considers `change` for `sub`: sends it if it concerns it and the
   * subscriber may see it, and advances the subscription. A transaction's
   * events reach the subscription contiguously (its changes have contiguous
   * seqs and are considered in seq order); the last one it receives of each
   * transaction is marked `txEnd`. That one is only known once the
   * transaction's end has been seen, so the latest event of an open
   * transaction is held until then. `endSeq`: where the change's transaction
   * ends, for replays (which read one collection's changes and may never see
   * the end, when it is another collection's change).
   */
  function deliver(conn: RealtimeConnection, sub: Subscription, change: ChangeRow, collection: Collection | null, endSeq?: number): void {
    if (change.seq <= sub.lastSeq) return;
    if (sub.held?.endSeq !== undefined && change.seq > sub.held.endSeq) release(conn, sub);
    consider(conn, sub, change, collection, endSeq);
    if (change.txEnd && sub.lastSeq === change.seq) release(conn, sub);
  }

  function consider(conn: RealtimeConnection, sub: Subscription, change: ChangeRow, collection: Collection | null, endSeq: number | undefined): void {
    // Another collection's change (or an earlier collection's of the same name) is considered too, and moves the position on.
    if (change.collectionId !== sub.collectionId) {
      sub.lastSeq = change.seq;
      return;
    }
    if (change.op === 'drop') {
      // The collection's history ends here: the subscription with it.
      conn.subscriptions.delete(sub.id);
      send(conn, { type: 'error', id: sub.id, code: 'not_found', message: `No collection "${sub.collection}".` });
      return;
    }
    if (collection === null || collection.id !== sub.collectionId) {
      sub.lastSeq = change.seq;
      return;
    }
    const scope = readScope(collection, conn.expired ? null : conn.principal, 'list');
    if (conn.expired && scope === null) {
      // Hold the position: after a fresh `auth` the subscription replays from here.
      sub.state = 'paused';
      return;
    }
    sub.lastSeq = change.seq;
    if (scope === null) return;
    const op = operationFor(sub, scope, change);
    if (op === null || conn.closed) return;
    // Computed for this subscriber's identity now (see `expansions.prepare`); delete and leave carry none.
    const expand = op === 'create' || op === 'update' ? expansions.expansionFor(sub, change) : undefined;
    // An event of the same open transaction came before: it was not the last.
    if (sub.held !== undefined) sendChange(conn, sub, sub.held.change, sub.held.op, false, sub.held.expand);
    sub.held = undefined;
    if (change.txEnd) sendChange(conn, sub, change, op, true, expand);
    else sub.held = { change, op, endSeq, expand };
  }

  /** Sends the held event, if any, as the last of its transaction. */
  function release(conn: RealtimeConnection, sub: Subscription): void {
    const held = sub.held;
    if (held === undefined) return;
    sub.held = undefined;
    if (conn.subscriptions.get(sub.id) === sub) sendChange(conn, sub, held.change, held.op, true, held.expand);
  }

  function sendChange(conn: RealtimeConnection, sub: Subscription, change: ChangeRow, op: HeldChange['op'], txEnd: boolean, expand: HeldChange['expand']): void {
    if (conn.closed) return;
    conn.sink.sendText(changeMessage(change, sub.id, op, txEnd, expand), liveCommittedAt);
    cutIfSlow(conn);
  }

  /** For the changes of a replay batch that do not end their transaction (and the held event), where their transaction ends. */
  async function transactionEnds(sub: Subscription, batch: readonly ChangeRow[]): Promise<Map<number, number>> {
    const ends = new Map<number, number>();
    let known: number | undefined;
    if (sub.held !== undefined && sub.held.endSeq === undefined) {
      known = (await changes.findTransactionEnd(sub.held.change.seq)) ?? undefined;
      sub.held = { ...sub.held, endSeq: known };
    }
    for (const change of batch) {
      if (change.txEnd) continue;
      // A transaction's changes are contiguous: one lookup serves all of them.
      if (known === undefined || change.seq > known) known = (await changes.findTransactionEnd(change.seq)) ?? undefined;
      if (known !== undefined) ends.set(change.seq, known);
    }
    return ends;
  }

  async function collectionOrNull(name: string): Promise<Collection | null> {
    try {
      return await catalog.get(name);
    } catch (err) {
      if (isAppError(err) && err.code === 'not_found') return null;
      throw err;
    }
  }

  async function handle(conn: RealtimeConnection, message: unknown): Promise<void> {
    if (conn.closed) return;
    try {
      await handleClientMessage(hubInternals, conn, message);
    } catch (err) {
      const appError = isAppError(err) ? err : new AppError('internal');
      if (!isAppError(err)) opts.onError(err);
      const id = typeof message === 'object' && message !== null && typeof (message as { id?: unknown }).id === 'string' ? (message as { id: string }).id : undefined;
      send(conn, { type: 'error', ...(id === undefined ? {} : { id }), code: appError.code, message: appError.message });
    }
  }

  /** Live subscriptions that asked for `expand`. */
  function liveExpanding(): ExpandTarget[] {
    const targets: ExpandTarget[] = [];
    for (const conn of connections) for (const sub of conn.subscriptions.values()) if (sub.state === 'live' && sub.expand !== undefined) targets.push({ conn, sub });
    return targets;
  }

  const replaySlots = createSlots(limits.maxConcurrentReplays);
  const replaying = (conn: RealtimeConnection, sub: Subscription): boolean => !conn.closed && conn.subscriptions.get(sub.id) === sub && sub.state === 'replaying';

  /**
   * Replays the subscription's collection from `sub.lastSeq` until it
   * reaches what live delivery has dispatched, then goes live. Bounded so
   * that no replay can stall the server or outgrow memory: through the log's
   * per-collection index, in batches bounded in count and size, a few
   * batches at a time per instance (taken in turn, so replays share fairly),
   * yielding to other work between batches, and waiting for the client to
   * read what it was sent rather than queueing the whole history for it
   * (which would end in 4008). A replay waiting for its client holds no
   * slot: a client that never reads slows only itself.
   */
  async function replay(conn: RealtimeConnection, sub: Subscription): Promise<void> {
    sub.state = 'replaying';
    try {
      while (replaying(conn, sub)) {
        // Checked right after an await returns, before anything else runs: no live change can slip between.
        if (sub.lastSeq >= processedSeq) {
          sub.state = 'live';
          return;
        }
        if (conn.sink.bufferedBytes() > limits.maxBufferedBytes / 4) {
          await delay(DRAIN_POLL_MS);
          continue;
        }
        await replaySlots.take();
        try {
          if (!replaying(conn, sub)) return;
          // Everything up to `upTo` is committed: a read that finds nothing more of the collection has seen it all.
          const upTo = processedSeq;
          const batch = await changes.readCollectionChanges(sub.collectionId, sub.lastSeq, limits.replayBatchSize, limits.replayBatchChars);
          const ends = await transactionEnds(sub, batch);
          const collection = await collectionOrNull(sub.collection);
          // The batch's expansions in one read per path, then delivered in the same tick as the last check of the identity.
          await expansions.prepare(batch, [{ conn, sub }], () => {
            if (!replaying(conn, sub)) return;
            for (const change of batch) deliver(conn, sub, change, collection, ends.get(change.seq));
            if (batch.length === 0) {
              // Nothing more of the collection: no later event of the held one's transaction (committed whole) can come.
              release(conn, sub);
              if (sub.lastSeq < upTo) sub.lastSeq = upTo;
            }
          });
        } finally {
          replaySlots.give();
        }
        await yieldToOthers();
      }
    } catch (err) {
      opts.onError(err);
      close(conn, 1011, 'replay failed: resume with since');
    }
  }

  const hub = {
    connect(sink: ClientSink): RealtimeConnection {
      const conn = newConnection(sink);
      connections.add(conn);
      return conn;
    },

    disconnect(conn: RealtimeConnection): void {
      conn.closed = true;
      clearTimeout(conn.expiryTimer);
      connections.delete(conn);
    },

    /**
     * Queues one parsed client message; messages of a connection are handled
     * in order. Failures are answered with `error`, never thrown.
     */
    receive(conn: RealtimeConnection, message: unknown): Promise<void> {
      if (conn.queued >= MAX_QUEUED_MESSAGES) {
        close(conn, CLOSE_CODES.slowConsumer, 'too many messages in flight');
        return Promise.resolve();
      }
      conn.queued += 1;
      conn.pending = conn.pending.then(() => handle(conn, message)).finally(() => {
        conn.queued -= 1;
      });
      return conn.pending;
    },

    /** Called by the change feed for every committed change, in seq order. */
    async dispatch(change: ChangeRow): Promise<void> {
      const collection = await collectionOrNull(change.collection);
      const deliverAll = (): void => {
        processedSeq = change.seq;
        liveCommittedAt = Date.parse(change.createdAt);
        try {
          for (const conn of connections) {
            for (const sub of conn.subscriptions.values()) if (sub.state === 'live') deliver(conn, sub, change, collection);
          }
        } finally {
          liveCommittedAt = undefined;
        }
        if (change.txEnd) boundarySeq = change.seq;
      };
      const targets = liveExpanding();
      // Without expanding subscribers, delivered in this tick as before; else usually prepared for the whole batch already (`prepareBatch`), read here only for what changed since.
      if (targets.length === 0) deliverAll();
      else await expansions.prepare([change], targets, deliverAll);
    },

    /** Called by the change feed with each batch before its changes are dispatched: their expansions, one read per path and group of subscribers. */
    async prepareBatch(batch: readonly ChangeRow[]): Promise<void> {
      const targets = liveExpanding();
      if (targets.length > 0) await expansions.prepare(batch, targets, () => undefined);
    },

    /** Starts live delivery after this seq (the feed's starting position: the end of a transaction). */
    startAt(seq: number): void {
      processedSeq = seq;
      boundarySeq = seq;
    },

    /** Re-checks every connection of `userId` (disabled, deleted, revoked, role changed): closes or refreshes it. */
    async revalidateUser(userId: string): Promise<void> {
      for (const conn of connections) {
        if (conn.principal?.userId !== userId || conn.token === null) continue;
        try {
          conn.principal = await opts.auth.authenticate(conn.token);
        } catch (err) {
          if (isAppError(err) && err.code === 'token_expired') continue;
          close(conn, CLOSE_CODES.userDisabled, 'user disabled, deleted or signed out');
        }
      }
    },

    /** Server shutdown: every client is told to reconnect later (1001). */
    closeAll(): void {
      for (const conn of [...connections]) close(conn, CLOSE_CODES.goingAway, 'server shutting down');
    },

    get size(): number {
      return connections.size;
    },

    /** How many subscriptions the connections hold (live, replaying or paused). */
    get subscriptionCount(): number {
      let count = 0;
      for (const conn of connections) count += conn.subscriptions.size;
      return count;
    },

    /** Whether any connection has a subscription (live, replaying or paused). */
    get hasSubscriptions(): boolean {
      for (const conn of connections) if (conn.subscriptions.size > 0) return true;
      return false;
    },
  };

  const hubInternals = { opts, send, close, replay, collectionOrNull, get processedSeq() { return processedSeq; }, get boundarySeq() { return boundarySeq; } };
  return hub;
}

export type HubInternals = {
  readonly opts: RealtimeHubOptions;
  send(conn: RealtimeConnection, message: ServerMessage): void;
  close(conn: RealtimeConnection, code: number, reason: string): void;
  replay(conn: RealtimeConnection, sub: Subscription): Promise<void>;
  collectionOrNull(name: string): Promise<Collection | null>;
  readonly processedSeq: number;
  /** `processedSeq`, or less while a transaction is half dispatched: where a new subscription starts so that it gets transactions whole. */
  readonly boundarySeq: number;
};
