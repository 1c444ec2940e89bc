import type { UserDto } from '@sigil/protocol';

/** A signed-in session as the client keeps it. */
export interface Session {
  readonly user: UserDto;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** When the access token expires, in this machine's milliseconds since the epoch. */
  readonly expiresAt: number;
}

/**
 * Where the client keeps its session. `get` must return what is stored now
 * (another tab may have changed it); `subscribe` reports changes made
 * elsewhere; `lock` runs a function while holding a lock shared by every
 * context that shares the store (tabs of one origin), so that only one of
 * them refreshes at a time.
 *
 * @example
 * ```ts
 * const client = createClient({ url, tokenStore: localStorageTokenStore() });
 * ```
 */
export interface TokenStore {
  get(): Session | null;
  set(session: Session | null): void;
  subscribe?(listener: (session: Session | null) => void): () => void;
  lock?<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Inside the lock, after a refresh has stored its result: leaves a mark,
   * visible at once to every context, that `refreshToken` is used up.
   */
  markRotated?(refreshToken: string): Promise<void>;
  /**
   * Inside the lock: whether another context has used `refreshToken`
   * already; if so, waits (briefly) until its result shows in `get()`.
   */
  wasRotated?(refreshToken: string): Promise<boolean>;
}

/**
 * The default store: the session lives in this object only (Node.js, tests,
 * or apps that must not persist tokens).
 *
 * @example
 * ```ts
 * const client = createClient({ url, tokenStore: memoryTokenStore() });
 * ```
 */
export function memoryTokenStore(initial: Session | null = null): TokenStore {
  let session = initial;
  return {
    get: () => session,
    set: (next) => {
      session = next;
    },
  };
}

/** The parts of the browser this store uses (structural, so it needs no DOM typings). */
interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}
interface BrowserGlobals {
  localStorage?: StorageLike;
  navigator?: { locks?: { request<T>(name: string, callback: () => Promise<T>): Promise<T>; query(): Promise<{ held?: { name?: string }[] }> } };
  addEventListener?(type: 'storage', listener: (event: { key: string | null; storageArea?: unknown }) => void): void;
  removeEventListener?(type: 'storage', listener: (event: { key: string | null; storageArea?: unknown }) => void): void;
}

/**
 * A browser store on `localStorage`: every tab of the origin shares the
 * session (the `storage` event tells the others, so a logout in one tab logs
 * out all of them), and `lock` uses Web Locks (`navigator.locks`) so that
 * one tab at a time refreshes. Where Web Locks are missing, a lease in
 * `localStorage` stands in: good enough between tabs whose timers run, not a
 * true mutex (see docs/client.md).
 *
 * @example
 * ```ts
 * const client = createClient({ url: 'https://api.example.com', tokenStore: localStorageTokenStore({ key: 'my-app' }) });
 * ```
 */
export function localStorageTokenStore(options: { key?: string; globals?: BrowserGlobals } = {}): TokenStore {
  const key = options.key ?? 'sigil.session';
  const globals = options.globals ?? (globalThis as BrowserGlobals);
  const storage = globals.localStorage;
  if (!storage) throw new Error('localStorageTokenStore needs localStorage (use memoryTokenStore outside browsers)');
  let lastRaw: string | null = null;
  let lastSession: Session | null = null;
  const read = (): Session | null => {
    const raw = storage.getItem(key);
    if (raw !== lastRaw) {
      lastRaw = raw;
      try {
        lastSession = raw === null ? null : (JSON.parse(raw) as Session);
      } catch {
        lastSession = null;
      }
    }
    return lastSession;
  };
  const locks = globals.navigator?.locks;
  return {
    get: read,
    set(session) {
      if (session === null) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(session));
    },
    subscribe(listener) {
      const onStorage = (event: { key: string | null }): void => {
        if (event.key === key || event.key === null) listener(read());
      };
      globals.addEventListener?.('storage', onStorage);
      return () => globals.removeEventListener?.('storage', onStorage);
    },
    lock: locks ? (fn) => locks.request(`${key}:refresh`, fn) : (fn) => withLease(storage, `${key}:lease`, fn),
    // localStorage reaches other tabs asynchronously: a tab that gets the lock right after another refreshed
    // may still read the old refresh token. The lock manager is consistent across tabs, so the refreshing tab
    // holds a lock named after the used token for a while, and the next one looks for it before refreshing.
    ...(locks
      ? {
          markRotated: (refreshToken: string) =>
            new Promise<void>((granted) => {
              void locks.request(rotatedName(key, refreshToken), () => {
                granted();
                return sleep(ROTATED_MARK_MS);
              });
            }),
          wasRotated: async (refreshToken: string) => {
            const { held = [] } = await locks.query();
            if (!held.some((lock) => lock.name === rotatedName(key, refreshToken))) return false;
            for (let waited = 0; waited < 5_000 && read()?.refreshToken === refreshToken; waited += 10) await sleep(10);
            return true;
          },
        }
      : {}),
  };
}

const ROTATED_MARK_MS = 15_000;

/** A lock name for a used refresh token (a prefix: same-origin code can read the store anyway). */
function rotatedName(key: string, refreshToken: string): string {
  return `${key}:rotated:${refreshToken.slice(0, 22)}`;
}

const LEASE_MS = 10_000;

/**
 * A lease in storage where Web Locks are missing: write our claim if none is
 * live, wait a moment, and go ahead only if our claim survived (a tab that
 * wrote after us won). Released by removing it; a crashed tab's lease lapses.
 */
async function withLease<T>(storage: StorageLike, leaseKey: string, fn: () => Promise<T>): Promise<T> {
  const me = `${Date.now()}:${Math.random()}`;
  for (;;) {
    const current = storage.getItem(leaseKey);
    const until = current === null ? 0 : Number(current.split('|')[1]);
    if (!(until > Date.now())) {
      storage.setItem(leaseKey, `${me}|${Date.now() + LEASE_MS}`);
      await sleep(30 + Math.random() * 30);
      if (storage.getItem(leaseKey)?.startsWith(`${me}|`)) break;
    }
    await sleep(50 + Math.random() * 50);
  }
  try {
    return await fn();
  } finally {
    if (storage.getItem(leaseKey)?.startsWith(`${me}|`)) storage.removeItem(leaseKey);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
