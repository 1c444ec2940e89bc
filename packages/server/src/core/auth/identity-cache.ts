import type { Clock } from '../clock.js';
import type { SessionIdentity } from '../storage/store.js';

/**
 * Remembers the session-and-user row behind recent access tokens for a short
 * time, so an authenticated request usually costs no database query.
 *
 * Correctness: every change this process makes to sessions or users clears
 * the cache (see `invalidate`), so logout, revocation, disabling, deletion and
 * role changes take effect on the very next request. Only changes made by
 * another process (another Sigil instance on the same PostgreSQL) can be seen
 * up to `ttlMs` late. A TTL of 0 disables the cache.
 */
export interface IdentityCache {
  get(sessionId: string): SessionIdentity | undefined;
  set(sessionId: string, identity: SessionIdentity): void;
  /** Forgets everything: called after any write to users or sessions. */
  invalidate(): void;
}

export function createIdentityCache(opts: { readonly ttlMs: number; readonly clock: Clock; readonly maxEntries?: number }): IdentityCache {
  const { ttlMs, clock } = opts;
  const maxEntries = opts.maxEntries ?? 10_000;
  const entries = new Map<string, { readonly identity: SessionIdentity; readonly expiresAt: number }>();
  return {
    get(sessionId) {
      if (ttlMs === 0) return undefined;
      const entry = entries.get(sessionId);
      if (entry === undefined) return undefined;
      if (clock.now() < entry.expiresAt) return entry.identity;
      entries.delete(sessionId);
      return undefined;
    },
    set(sessionId, identity) {
      if (ttlMs === 0) return;
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(sessionId, { identity, expiresAt: clock.now() + ttlMs });
    },
    invalidate() {
      entries.clear();
    },
  };
}
