import { Collections, serverStatus, Users } from './admin.js';
import { Auth, type AuthOptions } from './auth.js';
import { Batch } from './batch.js';
import { Collection, type ClientContext } from './collection.js';
import { Http, type FetchLike } from './http.js';
import { Realtime, type RealtimeOptions, type WebSocketConstructor } from './realtime.js';
import { memoryTokenStore, type TokenStore } from './token-store.js';
import type { ServerStatus } from '@sigil/protocol';
import type { AnySchema, TypesOf } from './types.js';

export interface ClientOptions {
  /** The server, e.g. `https://api.example.com` (the client adds `/api/…`). */
  readonly url: string;
  /** A WebSocket constructor; default: the global one (browsers, Node.js 22+). In Node.js 20: `import WebSocket from 'ws'`. */
  readonly webSocket?: WebSocketConstructor;
  /** Where the session lives; default: memory. In browsers, `localStorageTokenStore()` shares it between tabs. */
  readonly tokenStore?: TokenStore;
  /** A fetch implementation; default: the global one. */
  readonly fetch?: FetchLike;
  /** Give up on an HTTP request after this long (a SigilNetworkError); default 30 s. */
  readonly requestTimeoutMs?: number;
  readonly auth?: AuthOptions;
  readonly realtime?: RealtimeOptions;
}

/** The client: `auth`, `collection(name)`, `batch()` and `realtime`. */
export interface SigilClient<S extends object = AnySchema> {
  readonly url: string;
  readonly auth: Auth;
  readonly realtime: Realtime;
  collection<N extends keyof S & string>(name: N): Collection<TypesOf<S, N>>;
  batch(): Batch<S>;
  /** Collection definitions: list, get, create, update (with `dryRun`), delete. */
  readonly collections: Collections;
  /** Users: list (admin), get, update, delete. */
  readonly users: Users;
  /** The server's status (admins only). */
  serverStatus(): Promise<ServerStatus>;
  /** Closes the WebSocket and stops the refresh timer (for scripts and tests). */
  close(): void;
}

/**
 * Creates a client. `S` maps collection names to their types (see
 * `CollectionTypes`); without it every collection is untyped.
 *
 * @example
 * ```ts
 * import { createClient, localStorageTokenStore } from '@sigil/client';
 * const client = createClient({ url: 'http://127.0.0.1:8090', tokenStore: localStorageTokenStore() });
 * await client.auth.login({ username: 'ada', password: 'correct horse battery' });
 * const live = client.collection('tasks').live({ filter: { done: false } }, ({ items }) => render(items));
 * ```
 */
export function createClient<S extends object = AnySchema>(options: ClientOptions): SigilClient<S> {
  const url = options.url.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? (globalThis.fetch.bind(globalThis));
  const http = new Http(url, fetchImpl, options.requestTimeoutMs ?? 30_000);
  const auth = new Auth(http, options.tokenStore ?? memoryTokenStore(), options.auth);
  const realtime = new Realtime(url, options.webSocket, auth, options.realtime);
  const context: ClientContext = { http, auth, realtime };
  const collections = new Map<string, Collection<TypesOf<S, string>>>();
  return {
    url,
    auth,
    realtime,
    collection<N extends keyof S & string>(name: N) {
      let collection = collections.get(name);
      if (!collection) collections.set(name, (collection = new Collection(context, name)));
      return collection as unknown as Collection<TypesOf<S, N>>;
    },
    batch: () => new Batch<S>(context),
    collections: new Collections(context),
    users: new Users(context),
    serverStatus: () => serverStatus(context),
    close() {
      realtime.close();
      auth.close();
    },
  };
}
