import type { ServerMessage } from '@sigil/protocol';
import type { Principal } from '../auth/principal.js';
import type { ExpandPlan } from '../records/expand.js';
import type { FilterNode } from '../records/query/query-types.js';
import type { ChangeRow } from '../records/record.js';

/** What the hub needs from a transport (the WebSocket route implements it). */
export interface ClientSink {
  send(message: ServerMessage): void;
  /** Sends an already serialized message as a text frame (change events are serialized once for all subscribers). */
  /** `committedAtMs`: set for a live change (not a replayed one), for the delivery-lag metric. */
  sendText(text: string, committedAtMs?: number): void;
  close(code: number, reason: string): void;
  /** Bytes queued for the client and not yet written to the network. */
  bufferedBytes(): number;
}

export type SubscriptionState = 'replaying' | 'live' | 'paused';

export interface Subscription {
  readonly id: string;
  readonly collection: string;
  /** The identity of the collection subscribed to (`Collection.id`): a later one of the same name is another. */
  readonly collectionId: string;
  readonly filter: FilterNode | null;
  /** The subscription's `expand` (checked for the subscriber when subscribing); its events are expanded at delivery. */
  readonly expand?: ExpandPlan | undefined;
  state: SubscriptionState;
  /** The last seq this subscription has considered (delivered or found not to concern it). */
  lastSeq: number;
  /**
   * The subscription's latest event of a transaction whose end it has not
   * seen yet, held back until it is known whether it is the last one of that
   * transaction it receives (then it goes out with `txEnd`).
   */
  held?: HeldChange | undefined;
}

export interface HeldChange {
  readonly change: ChangeRow;
  readonly op: 'create' | 'update' | 'delete' | 'leave';
  /** Its `expand` JSON text as computed when it was considered (null: too large; undefined: none). */
  readonly expand: string | null | undefined;
  /** The seq of the change ending its transaction, when known (replays look it up; live delivery sees it come). */
  readonly endSeq: number | undefined;
}

/** One client connection's realtime state. Mutated only by the hub. */
export interface RealtimeConnection {
  readonly sink: ClientSink;
  principal: Principal | null;
  token: string | null;
  /** The access token expired and no new one came yet: non-public subscriptions pause. */
  expired: boolean;
  expiryTimer: NodeJS.Timeout | undefined;
  readonly subscriptions: Map<string, Subscription>;
  closed: boolean;
  /** Messages are handled one at a time, in order: `auth` then `subscribe` must not race. */
  pending: Promise<void>;
  queued: number;
}

export function newConnection(sink: ClientSink): RealtimeConnection {
  return { sink, principal: null, token: null, expired: false, expiryTimer: undefined, subscriptions: new Map(), closed: false, pending: Promise.resolve(), queued: 0 };
}
