/**
 * React bindings: `import { useLiveQuery, useAuth } from '@sigil/client/react'`.
 * React (18 or later) is an optional peer dependency: only this entry
 * imports it, the core (`@sigil/client`) does not.
 */
import type { UserDto } from '@sigil/protocol';
import { useState, useSyncExternalStore } from 'react';
import type { Auth } from './auth.js';
import type { Collection } from './collection.js';
import type { SigilError } from './errors.js';
import type { LiveQuery, LiveSnapshot } from './live-query.js';
import type { ConnectionState } from './realtime.js';
import type { Session } from './token-store.js';
import type { CollectionTypes, ListQuery, RecordOf } from './types.js';

export type LiveQueryStatus = 'loading' | 'ready' | 'error';

/** What `useLiveQuery` returns: the latest result, and how it is going. */
export interface LiveQueryResult<T> {
  /** The matching records in list order (empty until the first result). */
  readonly items: readonly T[];
  /** The change-log position of `items`; null until the first result. */
  readonly seq: number | null;
  /** A limited query: whether more records match beyond the window. */
  readonly hasMore: boolean;
  /** `loading` until the first result (and while disabled), `ready` after it, `error` once refused. */
  readonly status: LiveQueryStatus;
  /** Why the query was refused (`not_found`, `invalid_filter`, …); it has stopped. */
  readonly error: SigilError | null;
  /** The realtime connection delivering the changes; `offline` while disabled. */
  readonly connection: ConnectionState;
}

export interface UseLiveQueryOptions {
  /** false: run nothing yet (e.g. until signed in); default true. */
  readonly enabled?: boolean;
  /** Restart the query whenever one of these changes (compared with Object.is), as in useEffect. */
  readonly deps?: readonly unknown[];
}

/** What `useAuth` returns. */
export interface AuthState {
  readonly session: Session | null;
  readonly user: UserDto | null;
  readonly signedIn: boolean;
}

type Starter<T> = (onChange: (snapshot: LiveSnapshot<T>) => void, onError: (error: SigilError) => void) => LiveQuery<T>;

const IDLE: LiveQueryResult<never> = { items: [], seq: null, hasMore: false, status: 'loading', error: null, connection: 'offline' };

/**
 * One live query and its listeners, for useSyncExternalStore. Started by the
 * first listener; stopped when the last one leaves, a microtask later, so
 * that StrictMode's unmount and remount keep the same subscription.
 */
class LiveStore<T> {
  private state: LiveQueryResult<T> = IDLE;
  private live: LiveQuery<T> | null = null;
  private offConnection: (() => void) | null = null;
  private readonly listeners = new Set<() => void>();
  private stopping = false;

  constructor(private readonly start: Starter<T> | null) {}

  readonly getSnapshot = (): LiveQueryResult<T> => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    this.stopping = false;
    if (this.live === null && this.start !== null) this.run(this.start);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0 || this.stopping) return;
      this.stopping = true;
      void Promise.resolve().then(() => {
        if (this.stopping && this.listeners.size === 0) this.stop();
      });
    };
  };

  private run(start: Starter<T>): void {
    const live = start(
      (snapshot) => this.set({ items: snapshot.items, seq: snapshot.seq, hasMore: snapshot.hasMore, status: 'ready', error: null, connection: this.live?.connection ?? this.state.connection }),
      (error) => this.set({ ...this.state, status: 'error', error }),
    );
    this.live = live;
    this.offConnection = live.onConnectionChange((connection) => this.set({ ...this.state, connection }));
    if (this.state.connection !== live.connection) this.set({ ...this.state, connection: live.connection });
  }

  private stop(): void {
    this.stopping = false;
    this.offConnection?.();
    this.offConnection = null;
    this.live?.close();
    this.live = null;
  }

  private set(state: LiveQueryResult<T>): void {
    this.state = state;
    for (const listener of [...this.listeners]) listener();
  }
}

interface Current<T> {
  readonly store: LiveStore<T>;
  readonly collection: unknown;
  readonly key: string;
  readonly enabled: boolean;
  readonly deps: readonly unknown[];
}

/**
 * A live query as React state: the records matching `query`, kept current
 * (see `Collection.live`). The query restarts when its meaning changes
 * (filter, sort, limit or expand, compared by value, so an inline object is
 * fine), when `collection` or one of `options.deps` changes, and stops on
 * unmount. Reads go through useSyncExternalStore: concurrent renders never
 * tear.
 *
 * @example
 * ```tsx
 * const tasks = client.collection('tasks');
 * function Open({ signedIn }: { signedIn: boolean }) {
 *   const { items, status } = useLiveQuery(tasks, { filter: { done: false }, sort: '-priority', limit: 20 }, { enabled: signedIn });
 *   return status === 'ready' ? <ul>{items.map((t) => <li key={t.id}>{t.title}</li>)}</ul> : <p>{status}</p>;
 * }
 * ```
 */
export function useLiveQuery<C extends CollectionTypes>(
  collection: Collection<C>,
  query: Omit<ListQuery<C>, 'after'>,
  options: UseLiveQueryOptions = {},
): LiveQueryResult<RecordOf<C>> {
  if (typeof (collection as { live?: unknown } | null)?.live !== 'function') throw new TypeError('useLiveQuery: the first argument must be a collection (client.collection(name))');
  if (typeof query !== 'object' || query === null) throw new TypeError('useLiveQuery: the query must be an object ({ filter, sort, limit, expand })');
  if ('after' in query && (query as { after?: unknown }).after !== undefined) throw new TypeError('useLiveQuery: a live query has no `after` (it holds every page, or the first `limit` records)');
  const enabled = options.enabled ?? true;
  const deps = options.deps ?? [];
  if (!Array.isArray(deps)) throw new TypeError('useLiveQuery: options.deps must be an array');
  const key = liveQueryKey(query);
  const make = (): Current<RecordOf<C>> => ({
    store: new LiveStore<RecordOf<C>>(enabled ? (onChange, onError) => collection.live(query, onChange, onError) : null),
    collection,
    key,
    enabled,
    deps,
  });
  const [current, setCurrent] = useState(make);
  let active = current;
  if (current.collection !== collection || current.key !== key || current.enabled !== enabled || !sameDeps(current.deps, deps)) {
    // State derived from props (React re-renders at once with it): the old store is unsubscribed and stops.
    active = make();
    setCurrent(active);
  }
  return useSyncExternalStore(active.store.subscribe, active.store.getSnapshot, active.store.getSnapshot);
}

/**
 * The session as React state: the signed-in user, updated on sign-in,
 * refresh and sign-out, here or in another tab (`client.auth.onAuthChange`).
 *
 * @example
 * ```tsx
 * const { user, signedIn } = useAuth(client);
 * return signedIn ? <p>Hello {user!.username}</p> : <SignIn />;
 * ```
 */
export function useAuth(client: { readonly auth: Auth }): AuthState {
  const auth = client?.auth;
  if (typeof auth?.onAuthChange !== 'function') throw new TypeError('useAuth: pass the client (createClient(…))');
  let store = authStores.get(auth);
  if (!store) authStores.set(auth, (store = authStore(auth)));
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

const authStores = new WeakMap<Auth, { subscribe: (listener: () => void) => () => void; getSnapshot: () => AuthState }>();

function authStore(auth: Auth): { subscribe: (listener: () => void) => () => void; getSnapshot: () => AuthState } {
  let state = authState(auth.session);
  return {
    subscribe: (listener) => auth.onAuthChange(listener),
    // A store may hand out a new but equal object on every read: the snapshot changes only with the session.
    getSnapshot: () => {
      const session = auth.session;
      if (!sameSession(session, state.session)) state = authState(session);
      return state;
    },
  };
}

function authState(session: Session | null): AuthState {
  return { session, user: session?.user ?? null, signedIn: session !== null };
}

function sameSession(a: Session | null, b: Session | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return a.accessToken === b.accessToken && a.refreshToken === b.refreshToken && a.expiresAt === b.expiresAt && JSON.stringify(a.user) === JSON.stringify(b.user);
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

/**
 * What a live query means, as a string: filter (object keys in any order),
 * sort (`'a,-b'` and `['a', '-b']` alike), limit and expand (in any order).
 */
export function liveQueryKey(query: { readonly filter?: object; readonly sort?: unknown; readonly limit?: number; readonly expand?: readonly string[] }): string {
  if (query.filter !== undefined && (typeof query.filter !== 'object' || query.filter === null || Array.isArray(query.filter))) invalid('filter', 'an object');
  const sort = query.sort === undefined ? null : typeof query.sort === 'string' || Array.isArray(query.sort) ? normalizeSort(query.sort as string | readonly string[]) : invalid('sort', 'a string or an array of strings');
  if (query.limit !== undefined && !Number.isInteger(query.limit)) invalid('limit', 'an integer');
  if (query.expand !== undefined && !Array.isArray(query.expand)) invalid('expand', 'an array of relation names');
  const expand = query.expand === undefined ? null : query.expand.slice().sort();
  return stableJson([query.filter ?? null, sort, query.limit ?? null, expand], 'query');
}

function normalizeSort(sort: string | readonly string[]): string {
  const parts = typeof sort === 'string' ? sort.split(',') : sort;
  return parts
    .map((part) => (typeof part === 'string' ? part.trim() : invalid('sort', 'a string or an array of strings')))
    .filter((part) => part !== '')
    .join(',');
}

function invalid(what: string, expected: string): never {
  throw new TypeError(`useLiveQuery: ${what} must be ${expected}`);
}

/** JSON with object keys sorted; throws on what JSON cannot carry. */
function stableJson(value: unknown, path: string): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`useLiveQuery: ${path} is ${value}, which JSON cannot carry`);
    return JSON.stringify(value);
  }
  if (typeof value === 'object') {
    const json = (value as { toJSON?: unknown }).toJSON;
    if (typeof json === 'function') return stableJson((json as () => unknown).call(value), path);
    if (Array.isArray(value)) return `[${value.map((item: unknown, i) => stableJson(item === undefined ? null : item, `${path}[${i}]`)).join(',')}]`;
    const entries = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k], `${path}.${k}`)}`);
    return `{${entries.join(',')}}`;
  }
  throw new TypeError(`useLiveQuery: ${path} is a ${typeof value}, which a query cannot hold`);
}
