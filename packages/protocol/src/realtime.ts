import type { ErrorCode } from './errors.js';
import type { Role } from './dto.js';

/**
 * The realtime protocol (`GET /api/realtime`, WebSocket, JSON text frames).
 * Every message is an object discriminated by `type`.
 *
 * @example
 * ```ts
 * const ws = new WebSocket('ws://127.0.0.1:8090/api/realtime');
 * ws.onopen = () => {
 *   ws.send(JSON.stringify({ type: 'auth', token: accessToken }));
 *   ws.send(JSON.stringify({ type: 'subscribe', id: 's1', collection: 'tasks', filter: { done: false }, since: 1234 }));
 * };
 * ```
 */
export type ClientMessage =
  | { readonly type: 'auth'; readonly token: string }
  | {
      readonly type: 'subscribe';
      readonly id: string;
      readonly collection: string;
      readonly filter?: Record<string, unknown>;
      readonly since?: number;
      /** Relation paths to expand on every `create` and `update` event, as `?expand=` takes them (docs/relations.md). */
      readonly expand?: readonly string[];
    }
  | { readonly type: 'unsubscribe'; readonly id: string }
  /** Answered with `pong`: a client's own check that the connection is alive (browsers cannot see WebSocket pings). */
  | { readonly type: 'ping' };

/** The record as the HTTP API shows it: system fields plus user fields. */
export type RecordPayload = Record<string, unknown> & {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly owner: string | null;
  readonly version: number;
  /** With `expand`: the related records, by relation (docs/relations.md). */
  readonly expand?: Record<string, unknown>;
};

/** `leave`: an update after which the record no longer matches the subscription's filter. */
export type ChangeOperation = 'create' | 'update' | 'delete' | 'leave';

export type ServerMessage =
  | { readonly type: 'authed'; readonly user: { readonly id: string; readonly username: string; readonly role: Role } }
  | { readonly type: 'subscribed'; readonly id: string; readonly seq: number }
  | { readonly type: 'unsubscribed'; readonly id: string }
  | { readonly type: 'pong' }
  | {
      readonly type: 'change';
      readonly sub: string;
      readonly seq: number;
      readonly op: ChangeOperation;
      readonly collection: string;
      readonly record: RecordPayload;
      /**
       * On the last change of a transaction that this subscription receives
       * (a single write is a transaction of its own, so its change always has
       * it): apply the changes received up to here together, and the client
       * never shows half of a batch.
       */
      readonly txEnd?: true;
      /**
       * The subscription asked for `expand`, but this event's expansion was
       * over its bound (1,000 related records or 1 MiB): the record comes
       * without `expand`; read it with GET and `?expand=` if needed.
       */
      readonly expandTooLarge?: true;
    }
  | { readonly type: 'resync'; readonly id: string }
  | { readonly type: 'error'; readonly id?: string; readonly code: ErrorCode; readonly message: string }
  | { readonly type: 'auth_expired' };

/** WebSocket close codes Sigil uses. */
export const CLOSE_CODES = {
  /** The server is shutting down; reconnect and resume with `since`. */
  goingAway: 1001,
  /** The client sent too many invalid messages (each answered with `error`) in a minute. */
  policyViolation: 1008,
  /** The token presented was invalid. */
  invalidToken: 4001,
  /** The user was disabled or deleted, or the session revoked. */
  userDisabled: 4003,
  /** The client read too slowly; reconnect and resume with `since`. */
  slowConsumer: 4008,
  /** No `auth` or `subscribe` arrived in time after connecting. */
  idleTimeout: 4009,
} as const;
