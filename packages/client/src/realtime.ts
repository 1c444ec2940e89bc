import type { ChangeOperation, ClientMessage, RecordPayload, ServerMessage } from '@sigil/protocol';
import type { Auth } from './auth.js';
import { SigilError } from './errors.js';

/** The WebSocket the client needs: the browser's, or `ws`'s in Node.js 20 (`createClient({ webSocket: WebSocket })`). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}
/** Any WebSocket class: the browser's, or `ws` (it must behave like WebSocketLike). */
export type WebSocketConstructor = new (url: string) => object;

/**
 * `connecting`: the first connection is being made; `live`: connected and
 * every subscription confirmed; `resuming`: connection lost, reconnecting
 * (subscriptions will resume where they stopped); `offline`: no connection
 * and none wanted (no subscriptions, or closed).
 */
export type ConnectionState = 'connecting' | 'live' | 'resuming' | 'offline';

/** One committed change delivered to a subscription. */
export interface ChangeEvent<T = RecordPayload> {
  readonly seq: number;
  readonly op: ChangeOperation;
  readonly collection: string;
  readonly record: T;
}

export interface SubscriptionHandlers<T = RecordPayload> {
  /** One whole transaction's changes for this subscription, in seq order (a single write is a transaction of one). */
  onChanges(changes: readonly ChangeEvent<T>[]): void;
  /** The server's log no longer reaches back to the position: reload over HTTP, then `restart(seq)`. */
  onResync(): void;
  /** The subscription was refused or ended by the server (`not_found`, `invalid_filter`, …); it is closed. */
  onError?(error: SigilError): void;
}

export interface SubscribeParams {
  readonly collection: string;
  readonly filter?: object;
  /** Replay every change after this seq first (the `seq` of a list). */
  readonly since?: number;
  readonly expand?: readonly string[];
}

/** A subscription's handle. */
export interface RealtimeSubscription {
  /** The seq of the last transaction delivered (or the start position). */
  readonly position: number | undefined;
  /** Subscribes again from `since` (after a resync's reload). */
  restart(since: number | undefined): void;
  close(): void;
}

export interface RealtimeOptions {
  /** Probe the connection after this long without anything from the server (default 25 s). */
  readonly heartbeatMs?: number;
  /** Count the connection dead when a probe (or the opening) gets no answer for this long (default 10 s). */
  readonly heartbeatTimeoutMs?: number;
  /** Reconnect backoff: first delay and cap (default 250 ms, 15 s), exponential with jitter. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
}

// Answered with `pong`: any answer proves the connection alive.
const PROBE = { type: 'ping' } as const satisfies ClientMessage;

interface Sub {
  readonly key: string;
  readonly params: SubscribeParams;
  readonly handlers: SubscriptionHandlers;
  wireId: string | null;
  position: number | undefined;
  pending: ChangeEvent[];
  awaiting: boolean;
}

interface BrowserEvents {
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
  document?: { visibilityState?: string };
}

/**
 * The client's one WebSocket (`client.realtime`): opened on the first
 * subscription, authenticated by message and re-authenticated in place
 * when the token changes, reconnected with backoff, every subscription
 * resumed from the last seq it delivered.
 *
 * @example
 * ```ts
 * client.realtime.onStateChange((state) => (banner.hidden = state === 'live'));
 * ```
 */
export class Realtime {
  private ws: WebSocketLike | null = null;
  private handshakeDone = false;
  private socketToken: string | null = null;
  private readonly wire = new Map<string, Sub>();
  private readonly subs = new Set<Sub>();
  private counter = 0;
  private currentState: ConnectionState = 'offline';
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private everLive = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private lastInbound = 0;
  private probeSentAt = 0;
  private closed = false;
  private readonly heartbeatMs: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly unlisten: () => void;
  /** Sockets opened, sockets lost (not counting the ones this client closed on purpose), `auth_expired` messages received. */
  readonly stats = { opened: 0, lost: 0, authExpired: 0 };

  constructor(
    private readonly url: string,
    private readonly WebSocketImpl: WebSocketConstructor | undefined,
    private readonly auth: Auth,
    private readonly options: RealtimeOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 25_000;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 10_000;
    const offAuth = auth.onAuthChange((session) => this.identityChanged(session?.accessToken ?? null));
    const events = globalThis as BrowserEvents;
    const wake = (): void => this.wake();
    const visible = (): void => {
      if (events.document?.visibilityState !== 'hidden') this.wake();
    };
    events.addEventListener?.('online', wake);
    events.addEventListener?.('visibilitychange', visible);
    this.unlisten = () => {
      offAuth();
      events.removeEventListener?.('online', wake);
      events.removeEventListener?.('visibilitychange', visible);
    };
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Subscribes to a collection's changes; prefer `collection(name).subscribe` or `.live`. */
  subscribe(params: SubscribeParams, handlers: SubscriptionHandlers): RealtimeSubscription {
    if (this.closed) throw new Error('the client is closed');
    const sub: Sub = { key: `s${++this.counter}`, params, handlers, wireId: null, position: params.since, pending: [], awaiting: false };
    this.subs.add(sub);
    if (this.ws && this.handshakeDone) this.sendSubscribe(sub);
    else this.ensureConnected();
    return {
      get position() {
        return sub.position;
      },
      restart: (since) => {
        if (!this.subs.has(sub)) return;
        this.dropWire(sub, true);
        sub.position = since;
        sub.pending = [];
        if (this.ws && this.handshakeDone) this.sendSubscribe(sub);
        else this.ensureConnected();
      },
      close: () => {
        if (!this.subs.delete(sub)) return;
        this.dropWire(sub, true);
        this.closeIfIdle();
      },
    };
  }

  /** Closes the connection and ends every subscription. */
  close(): void {
    this.closed = true;
    this.subs.clear();
    this.unlisten();
    this.closeIfIdle();
  }

  private setState(state: ConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of [...this.stateListeners]) listener(state);
  }

  private ensureConnected(): void {
    if (this.ws || this.reconnectTimer !== undefined || this.closed || this.subs.size === 0) return;
    this.open();
  }

  private open(): void {
    const Impl = this.WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Impl) throw new Error('No WebSocket here: pass one to createClient({ webSocket }) (in Node.js 20, the ws package)');
    this.setState(this.everLive ? 'resuming' : 'connecting');
    const ws = new Impl(`${this.url.replace(/^http/, 'ws')}/api/realtime`) as WebSocketLike;
    this.ws = ws;
    this.stats.opened += 1;
    this.handshakeDone = false;
    this.lastInbound = Date.now();
    this.probeSentAt = 0;
    ws.onopen = () => void this.handshake(ws);
    ws.onmessage = (event) => {
      if (ws === this.ws) this.receive(event.data);
    };
    ws.onclose = (event) => this.lost(ws, event.code);
    ws.onerror = () => undefined; // a close event follows
    // ws (Node.js) shows the server's pings; browsers hide them, so there the probe does the work.
    (ws as { on?: (event: string, listener: () => void) => void }).on?.('ping', () => (this.lastInbound = Date.now()));
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.checkAlive(ws), Math.max(50, Math.min(this.heartbeatMs, this.heartbeatTimeoutMs) / 4));
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  private async handshake(ws: WebSocketLike): Promise<void> {
    let token: string | null;
    try {
      token = await this.auth.getAccessToken();
    } catch {
      if (ws === this.ws) this.kill(ws); // offline: try again with backoff
      return;
    }
    if (ws !== this.ws) return;
    this.lastInbound = Date.now();
    if (token) this.send({ type: 'auth', token }); // handled before the subscribes that follow
    this.socketToken = token;
    this.handshakeDone = true;
    for (const sub of this.subs) this.sendSubscribe(sub);
    this.checkLive();
  }

  private sendSubscribe(sub: Sub): void {
    sub.wireId = `${sub.key}.${++this.counter}`;
    sub.awaiting = true;
    this.wire.set(sub.wireId, sub);
    const { collection, filter, expand } = sub.params;
    this.send({
      type: 'subscribe',
      id: sub.wireId,
      collection,
      ...(filter ? { filter: filter as Record<string, unknown> } : {}),
      ...(sub.position === undefined ? {} : { since: sub.position }),
      ...(expand && expand.length > 0 ? { expand } : {}),
    });
  }

  private dropWire(sub: Sub, unsubscribe: boolean): void {
    if (sub.wireId === null) return;
    this.wire.delete(sub.wireId);
    if (unsubscribe && this.ws && this.handshakeDone) this.send({ type: 'unsubscribe', id: sub.wireId });
    sub.wireId = null;
    sub.awaiting = false;
  }

  private receive(data: unknown): void {
    this.lastInbound = Date.now();
    this.probeSentAt = 0;
    let message: ServerMessage;
    try {
      message = JSON.parse(typeof data === 'string' ? data : String(data)) as ServerMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'subscribed': {
        const sub = this.wire.get(message.id);
        if (!sub) return;
        sub.awaiting = false;
        sub.position ??= message.seq;
        this.checkLive();
        return;
      }
      case 'change': {
        const sub = this.wire.get(message.sub);
        if (!sub) return;
        const last = sub.pending.length > 0 ? sub.pending[sub.pending.length - 1]!.seq : (sub.position ?? -1);
        if (message.seq <= last) return; // already delivered (a safety net: the server sends each once)
        sub.pending.push({ seq: message.seq, op: message.op, collection: message.collection, record: message.record });
        if (message.txEnd) {
          const changes = sub.pending;
          sub.pending = [];
          sub.position = message.seq;
          sub.handlers.onChanges(changes);
        }
        return;
      }
      case 'resync': {
        const sub = this.wire.get(message.id);
        if (!sub) return;
        this.dropWire(sub, false);
        sub.pending = [];
        this.checkLive();
        sub.handlers.onResync();
        return;
      }
      case 'error': {
        if (message.id !== undefined) {
          const sub = this.wire.get(message.id);
          if (!sub) return;
          this.dropWire(sub, false);
          this.subs.delete(sub);
          sub.handlers.onError?.(new SigilError({ code: message.code, message: message.message }));
          this.checkLive();
          this.closeIfIdle();
        } else if (message.code === 'token_expired') {
          void this.reauth(true);
        }
        return;
      }
      case 'auth_expired':
        this.stats.authExpired += 1;
        void this.reauth(true);
        return;
      case 'authed':
      case 'unsubscribed':
      case 'pong':
        return;
    }
  }

  /** A new access token goes to the live connection in place; signing out reconnects anonymously. */
  private identityChanged(token: string | null): void {
    if (!this.ws || !this.handshakeDone || token === this.socketToken) return;
    if (token) {
      this.socketToken = token;
      this.send({ type: 'auth', token });
    } else {
      this.kill(this.ws);
    }
  }

  private async reauth(expired: boolean): Promise<void> {
    const ws = this.ws;
    const used = this.socketToken;
    if (!ws || !this.handshakeDone) return;
    let token: string | null;
    try {
      token = expired && used ? await this.auth.tokenRejected(used) : await this.auth.getAccessToken();
    } catch {
      // Offline: the held subscriptions wait; try again shortly.
      setTimeout(() => void (ws === this.ws && this.reauth(expired)), 2_000);
      return;
    }
    if (ws !== this.ws) return;
    if (token === null) this.kill(ws);
    else if (token !== this.socketToken || expired) {
      this.socketToken = token;
      this.send({ type: 'auth', token });
    }
  }

  private checkLive(): void {
    if (!this.ws || !this.handshakeDone) return;
    for (const sub of this.subs) if (sub.awaiting) return;
    this.everLive = true;
    this.attempt = 0;
    this.setState('live');
  }

  private checkAlive(ws: WebSocketLike): void {
    if (ws !== this.ws) return;
    const now = Date.now();
    if (!this.handshakeDone) {
      if (now - this.lastInbound > this.heartbeatMs + this.heartbeatTimeoutMs) this.kill(ws);
    } else if (this.probeSentAt !== 0) {
      if (now - this.probeSentAt > this.heartbeatTimeoutMs) this.kill(ws);
    } else if (now - this.lastInbound > this.heartbeatMs) {
      this.probe();
    }
  }

  private probe(): void {
    this.probeSentAt = Date.now();
    this.send(PROBE);
  }

  /** Back online or in front again: check the connection now, or reconnect without waiting. */
  private wake(): void {
    if (this.ws && this.handshakeDone) {
      if (this.probeSentAt === 0) this.probe();
    } else if (!this.ws && this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.attempt = 0;
      this.ensureConnected();
    }
  }

  /** Gives up on a socket at once (a dead one may never fire close). */
  private kill(ws: WebSocketLike): void {
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      ws.close();
    } catch {
      // already closing
    }
    this.lost(ws, 1006);
  }

  private lost(ws: WebSocketLike, code: number): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.handshakeDone = false;
    this.socketToken = null;
    this.stats.lost += 1;
    clearInterval(this.heartbeatTimer);
    this.wire.clear();
    for (const sub of this.subs) {
      sub.wireId = null;
      sub.pending = []; // a transaction cut off is replayed whole from the last one delivered
      sub.awaiting = false;
    }
    if (this.closed || this.subs.size === 0) {
      this.setState('offline');
      return;
    }
    this.setState(this.everLive ? 'resuming' : 'connecting');
    const reconnect = (): void => this.scheduleReconnect();
    // 4001/4003: the token or the session is no longer good; a refresh tells which (and signs out if the session is gone).
    if (code === 4001 || code === 4003) this.auth.refresh().then(reconnect, reconnect);
    else reconnect();
  }

  private scheduleReconnect(): void {
    if (this.ws || this.reconnectTimer !== undefined || this.closed || this.subs.size === 0) return;
    const base = Math.min(this.options.backoffMaxMs ?? 15_000, (this.options.backoffInitialMs ?? 250) * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.ensureConnected();
    }, base * (0.5 + Math.random() / 2));
  }

  private closeIfIdle(): void {
    if (this.subs.size > 0) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    clearInterval(this.heartbeatTimer);
    const ws = this.ws;
    this.ws = null;
    this.handshakeDone = false;
    this.socketToken = null;
    this.wire.clear();
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000);
      } catch {
        // not open yet
      }
    }
    this.setState('offline');
  }

  private send(message: ClientMessage): void {
    try {
      this.ws?.send(JSON.stringify(message));
    } catch {
      // not open: the close that follows resumes everything
    }
  }

}
