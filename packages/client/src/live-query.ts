import { SigilError, SigilNetworkError } from './errors.js';
import { LiveWindow } from './live-state.js';
import type { ChangeEvent, ConnectionState, Realtime, RealtimeSubscription } from './realtime.js';
import { recordComparator } from './sort.js';
import type { RecordPage } from './types.js';

/** What `live` hands to its listener: the result at `seq`, exactly what a list at that seq returns. */
export interface LiveSnapshot<T> {
  readonly items: readonly T[];
  /** The change-log position this result reflects. */
  readonly seq: number;
  /** A limited query: whether more records match beyond the window. */
  readonly hasMore: boolean;
}

/** A running live query. */
export interface LiveQuery<T> {
  /** The latest result, or null before the first. */
  readonly snapshot: LiveSnapshot<T> | null;
  /** Resolves with the first result (rejects if the query is refused). */
  readonly ready: Promise<LiveSnapshot<T>>;
  /** The state of the client's realtime connection, which delivers the query's changes. */
  readonly connection: ConnectionState;
  /** Calls `listener` whenever `connection` changes, until the returned function or `close` is called. */
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  /** Stops it: no more calls, the subscription ends. */
  close(): void;
}

export interface LiveParams {
  readonly collection: string;
  readonly filter?: object;
  readonly sort?: string | readonly string[];
  readonly limit?: number;
  readonly expand?: readonly string[];
  /** Lists a page; `after` for the next one. */
  readonly list: (limit: number, after: string | undefined) => Promise<RecordPage<{ readonly id: string }>>;
  readonly realtime: Realtime;
}

const PAGE = 200;

/**
 * List, then subscribe with `since`, then keep the result: each transaction
 * is applied whole and then reported; a limited window that loses a record
 * it cannot replace is refilled from the server (changes that arrive
 * meanwhile wait, and those the new list already reflects are skipped);
 * `resync` reloads and subscribes again. Failed loads are retried with
 * backoff; a refusal (`not_found`, `invalid_filter`, …) ends the query.
 */
export function startLiveQuery<T extends { readonly id: string }>(
  params: LiveParams,
  onChange: (snapshot: LiveSnapshot<T>) => void,
  onError?: (error: SigilError) => void,
): LiveQuery<T> {
  const window = new LiveWindow<T>(recordComparator(params.sort), params.limit ?? null);
  let snapshot: LiveSnapshot<T> | null = null;
  let sub: RealtimeSubscription | null = null;
  let loading = true;
  let waiting: (readonly ChangeEvent<T>[])[] = [];
  let closed = false;
  const unlisten = new Set<() => void>();
  let resolveReady!: (s: LiveSnapshot<T>) => void;
  let rejectReady!: (e: unknown) => void;
  const ready = new Promise<LiveSnapshot<T>>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined); // reported through onError too

  const emit = (): void => {
    if (closed) return;
    snapshot = { items: window.records.slice(), seq: window.seq, hasMore: window.hasMore };
    resolveReady(snapshot);
    onChange(snapshot);
  };

  const fail = (error: SigilError): void => {
    if (closed) return;
    closed = true;
    sub?.close();
    rejectReady(error);
    onError?.(error);
  };

  /** One consistent read of the result: a page, or (unlimited) every page, retried while writes move it. */
  const fetchResult = async (): Promise<void> => {
    if (params.limit !== undefined) {
      const page = await params.list(params.limit, undefined);
      window.reset(page.items as T[], page.nextCursor !== null, page.seq);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      const first = await params.list(PAGE, undefined);
      const items = [...first.items];
      let cursor = first.nextCursor;
      let stable = true;
      while (cursor !== null) {
        const page = await params.list(PAGE, cursor);
        items.push(...page.items);
        cursor = page.nextCursor;
        if (page.seq !== first.seq) stable = false;
      }
      // Pages read at different seqs converge once the changes since the first page are replayed onto them.
      if (stable || attempt >= 3) {
        window.reset(items as T[], false, first.seq);
        return;
      }
    }
  };

  /** Loads (with retries), then applies what arrived meanwhile; `then` runs before that (subscribe or restart). */
  const load = async (then: () => void): Promise<void> => {
    loading = true;
    for (let attempt = 0; !closed; attempt++) {
      try {
        await fetchResult();
        break;
      } catch (error) {
        if (!retryable(error)) {
          fail(error instanceof SigilError ? error : new SigilError({ code: 'internal', message: String(error) }));
          return;
        }
        const retryAfter = error instanceof SigilError && error.retryAfter !== null ? error.retryAfter * 1000 : 0;
        await sleep(Math.max(retryAfter, Math.min(10_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2)));
      }
    }
    if (closed) return;
    then();
    const queued = waiting;
    waiting = [];
    loading = false;
    for (let i = 0; i < queued.length; i++) {
      if (window.apply(queued[i]!)) {
        waiting = queued.slice(i + 1); // applied after the refill, past what it reflects
        return void load(() => undefined);
      }
    }
    emit();
  };

  const handlers = {
    onChanges(changes: readonly ChangeEvent[]): void {
      if (closed) return;
      if (loading) {
        waiting.push(changes as readonly ChangeEvent<T>[]);
        return;
      }
      if (window.apply(changes as readonly ChangeEvent<T>[])) void load(() => undefined);
      else emit();
    },
    onResync(): void {
      if (closed) return;
      waiting = [];
      void load(() => sub?.restart(window.seq));
    },
    onError: fail,
  };

  void load(() => {
    sub = params.realtime.subscribe(
      { collection: params.collection, since: window.seq, ...(params.filter ? { filter: params.filter } : {}), ...(params.expand ? { expand: params.expand } : {}) },
      handlers,
    );
  });

  return {
    get snapshot() {
      return snapshot;
    },
    ready,
    get connection() {
      return params.realtime.state;
    },
    onConnectionChange(listener) {
      if (closed) return () => undefined;
      const off = params.realtime.onStateChange(listener);
      const stop = (): void => {
        off();
        unlisten.delete(stop);
      };
      unlisten.add(stop);
      return stop;
    },
    close() {
      closed = true;
      for (const stop of [...unlisten]) stop();
      sub?.close();
    },
  };
}

function retryable(error: unknown): boolean {
  if (error instanceof SigilNetworkError) return true;
  return error instanceof SigilError && (error.status >= 500 || error.code === 'rate_limited' || error.code === 'token_expired');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
