import { CLOSE_CODES } from '@sigil/protocol';
import { AppError, isAppError } from '../errors.js';
import { hiddenCollection, readScope } from '../records/access.js';
import { expandFor, expandPathsOfList } from '../records/expand.js';
import { parseFilter } from '../records/query/filter.js';
import type { HubInternals } from './realtime-hub.js';
import type { RealtimeConnection, Subscription } from './realtime-connection.js';

const SUBSCRIPTION_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

function field(message: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(message, name) ? message[name] : undefined;
}

/** Validates and applies one client message (SPEC §5). Throws AppError for the `error` reply. */
export async function handleClientMessage(hub: HubInternals, conn: RealtimeConnection, message: unknown): Promise<void> {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new AppError('bad_request', 'A message must be a JSON object with a "type".');
  }
  const msg = message as Record<string, unknown>;
  switch (field(msg, 'type')) {
    case 'auth':
      return authenticate(hub, conn, field(msg, 'token'));
    case 'subscribe':
      return subscribe(hub, conn, msg);
    case 'unsubscribe': {
      const id = field(msg, 'id');
      if (typeof id !== 'string' || !conn.subscriptions.delete(id)) throw new AppError('not_found', 'No such subscription.');
      hub.send(conn, { type: 'unsubscribed', id });
      return;
    }
    case 'ping':
      hub.send(conn, { type: 'pong' });
      return;
    default:
      throw new AppError('bad_request', 'Unknown message type; expected auth, subscribe, unsubscribe or ping.');
  }
}

async function authenticate(hub: HubInternals, conn: RealtimeConnection, token: unknown): Promise<void> {
  if (typeof token !== 'string' || token === '') throw new AppError('bad_request', 'auth needs a "token".');
  let principal;
  try {
    principal = await hub.opts.auth.authenticate(token);
  } catch (err) {
    if (isAppError(err) && err.code === 'token_expired') throw err;
    hub.close(conn, CLOSE_CODES.invalidToken, 'invalid token');
    return;
  }
  if (conn.closed) return;
  conn.principal = principal;
  conn.token = token;
  conn.expired = false;
  clearTimeout(conn.expiryTimer);
  const delay = Math.max(0, principal.expiresAt - hub.opts.clock.now());
  conn.expiryTimer = setTimeout(() => {
    conn.expired = true;
    hub.send(conn, { type: 'auth_expired' });
  }, Math.min(delay, 2_147_483_647));
  conn.expiryTimer.unref();
  hub.send(conn, { type: 'authed', user: { id: principal.userId, username: principal.username, role: principal.role } });
  // Subscriptions held while the token was expired catch up from where they
  // stopped, unless the log was pruned past that point meanwhile.
  const paused = [...conn.subscriptions.values()].filter((sub) => sub.state === 'paused');
  if (paused.length === 0) return;
  const oldest = await hub.opts.changes.oldestSeq();
  for (const sub of paused) {
    if (oldest !== null && sub.lastSeq < oldest - 1) {
      conn.subscriptions.delete(sub.id);
      hub.send(conn, { type: 'resync', id: sub.id });
    } else {
      void hub.replay(conn, sub);
    }
  }
}

async function subscribe(hub: HubInternals, conn: RealtimeConnection, msg: Record<string, unknown>): Promise<void> {
  const id = field(msg, 'id');
  const name = field(msg, 'collection');
  const since = field(msg, 'since');
  const rawFilter = field(msg, 'filter');
  const rawExpand = field(msg, 'expand');
  if (typeof id !== 'string' || !SUBSCRIPTION_ID_RE.test(id)) throw new AppError('bad_request', 'subscribe needs an "id" of 1–64 characters [A-Za-z0-9_.:-].');
  if (conn.subscriptions.has(id)) throw new AppError('conflict', `Subscription "${id}" already exists.`);
  if (conn.subscriptions.size >= hub.opts.limits.maxSubscriptions) {
    throw new AppError('bad_request', `At most ${hub.opts.limits.maxSubscriptions} subscriptions per connection.`);
  }
  if (typeof name !== 'string') throw new AppError('bad_request', 'subscribe needs a "collection".');
  if (since !== undefined && (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0)) {
    throw new AppError('bad_request', '"since" must be a non-negative integer seq.');
  }
  if (rawFilter !== undefined && (typeof rawFilter !== 'object' || rawFilter === null || Array.isArray(rawFilter))) {
    throw new AppError('invalid_filter', '"filter" must be an object.');
  }
  const filter = rawFilter === undefined ? null : parseFilter(JSON.stringify(rawFilter));

  const collection = await hub.collectionOrNull(name);
  // One the caller may not read answers like one that does not exist; which records they see is decided per change.
  const principal = conn.expired ? null : conn.principal;
  if (collection === null || readScope(collection, principal, 'list') === null) throw hiddenCollection(name);
  // The same parser and checks as ?expand= on HTTP; an empty list is no expand.
  const paths = rawExpand === undefined ? [] : expandPathsOfList(rawExpand);
  const expand = paths.length === 0 ? undefined : await expandFor(hub.opts.catalog, collection, paths, principal);
  if (conn.closed || conn.subscriptions.has(id)) return;

  const sub: Subscription = { id, collection: name, collectionId: collection.id, filter, expand, state: 'live', lastSeq: hub.processedSeq };
  if (since === undefined && hub.boundarySeq < hub.processedSeq) {
    // A transaction is half dispatched: start at its beginning, so the subscriber gets it whole.
    sub.lastSeq = hub.boundarySeq;
    sub.state = 'replaying';
    conn.subscriptions.set(id, sub);
    hub.send(conn, { type: 'subscribed', id, seq: sub.lastSeq });
    void hub.replay(conn, sub);
    return;
  }
  if (since === undefined) {
    conn.subscriptions.set(id, sub);
    hub.send(conn, { type: 'subscribed', id, seq: sub.lastSeq });
    return;
  }
  const { changes } = hub.opts;
  const [oldest, latest] = await Promise.all([changes.oldestSeq(), changes.latestSeq()]);
  // The log no longer holds everything after `since` (pruned), or `since` is from a future this log never had.
  if (since > latest || (since < latest && (oldest === null || since < oldest - 1))) {
    hub.send(conn, { type: 'resync', id });
    return;
  }
  if (conn.closed || conn.subscriptions.has(id)) return;
  sub.lastSeq = since;
  sub.state = 'replaying';
  conn.subscriptions.set(id, sub);
  hub.send(conn, { type: 'subscribed', id, seq: Math.max(since, hub.processedSeq) });
  // Not awaited: later messages (unsubscribe, auth) must not wait for a long replay.
  void hub.replay(conn, sub);
}
