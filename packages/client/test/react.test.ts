/**
 * `@sigil/client/react` outside a browser: what makes a live query restart
 * (liveQueryKey), the errors for bad arguments, the package's subpath
 * export, and server rendering (the initial state, nothing started). The
 * hooks' behaviour in a browser is react.browser.test.ts.
 */
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { bundleClient } from '../../../bench/client-size.mjs';
import { createClient, memoryTokenStore } from '../src/index.js';
import { liveQueryKey, useAuth, useLiveQuery } from '../src/react.js';
import { countingFetch } from './helpers.js';

describe('liveQueryKey', () => {
  it('is equal for queries that mean the same', () => {
    const key = liveQueryKey({ filter: { done: false, priority: { $lte: 5, $gte: 2 } }, sort: '-priority,title', limit: 20, expand: ['author', 'post'] });
    expect(liveQueryKey({ limit: 20, expand: ['post', 'author'], sort: ['-priority', ' title'], filter: { priority: { $gte: 2, $lte: 5 }, done: false } })).toBe(key);
    expect(liveQueryKey({ filter: { done: false, priority: { $gte: 2, $lte: 5 }, gone: undefined }, sort: '-priority, title,', limit: 20, expand: ['author', 'post'] })).toBe(key);
    expect(liveQueryKey({})).toBe(liveQueryKey({ filter: undefined, sort: undefined }));
    expect(liveQueryKey({ filter: { at: new Date('2026-01-01T00:00:00Z') } })).toBe(liveQueryKey({ filter: { at: '2026-01-01T00:00:00.000Z' } }));
  });

  it('differs when the meaning does', () => {
    const base = { filter: { done: false, tags: { $in: ['a', 'b'] } }, sort: 'title', limit: 20 };
    const keys = [
      base,
      { ...base, filter: { done: true, tags: { $in: ['a', 'b'] } } },
      { ...base, filter: { done: false, tags: { $in: ['b', 'a'] } } },
      { ...base, filter: { done: 'false', tags: { $in: ['a', 'b'] } } },
      { ...base, sort: '-title' },
      { ...base, sort: 'title,createdAt' },
      { ...base, limit: 21 },
      { filter: base.filter, sort: base.sort },
      { ...base, expand: ['author'] },
      { ...base, filter: { ...base.filter, $or: [{ a: 1 }, { b: 1 }] } },
    ].map(liveQueryKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('refuses what no query can hold, with the path', () => {
    expect(() => liveQueryKey({ filter: { n: Number.NaN } })).toThrow(new TypeError('useLiveQuery: query[0].n is NaN, which JSON cannot carry'));
    expect(() => liveQueryKey({ filter: { $or: [{ f: () => 1 }] } })).toThrow(new TypeError('useLiveQuery: query[0].$or[0].f is a function, which a query cannot hold'));
    expect(() => liveQueryKey({ filter: { n: 1n } })).toThrow(/is a bigint/);
    expect(() => liveQueryKey({ filter: ['done'] })).toThrow(new TypeError('useLiveQuery: filter must be an object'));
    expect(() => liveQueryKey({ sort: 3 })).toThrow(new TypeError('useLiveQuery: sort must be a string or an array of strings'));
    expect(() => liveQueryKey({ sort: ['a', 3] })).toThrow(/sort must be/);
    expect(() => liveQueryKey({ limit: 2.5 })).toThrow(new TypeError('useLiveQuery: limit must be an integer'));
    expect(() => liveQueryKey({ expand: 'author' as unknown as string[] })).toThrow(/expand must be an array/);
  });
});

describe('the hooks', () => {
  it('refuse bad arguments with a clear error', () => {
    const client = createClient({ url: 'http://127.0.0.1:1' });
    expect(() => useLiveQuery('tasks' as never, {})).toThrow(new TypeError('useLiveQuery: the first argument must be a collection (client.collection(name))'));
    expect(() => useLiveQuery(client.collection('tasks'), null as never)).toThrow(/the query must be an object/);
    expect(() => useLiveQuery(client.collection('tasks'), { after: 'c1' } as never)).toThrow(/a live query has no `after`/);
    expect(() => useLiveQuery(client.collection('tasks'), {}, { deps: 'x' as never })).toThrow(new TypeError('useLiveQuery: options.deps must be an array'));
    expect(() => useAuth(client.auth as never)).toThrow(new TypeError('useAuth: pass the client (createClient(…))'));
    client.close();
  });

  it('render on a server to the initial state and start nothing', () => {
    const counting = countingFetch();
    const session = { user: { id: 'u1', username: 'ada', role: 'user' }, accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 60_000 } as never;
    const client = createClient({ url: 'http://127.0.0.1:1', fetch: counting.fetch, tokenStore: memoryTokenStore(session) });
    function View() {
      const { user, signedIn } = useAuth(client);
      const { items, status, seq, connection } = useLiveQuery(client.collection('tasks'), { sort: 'title' }, { enabled: signedIn });
      return createElement('p', null, `${user?.username ?? '-'} ${status} ${items.length} ${seq ?? 'none'} ${connection}`);
    }
    expect(renderToString(createElement(View))).toBe('<p>ada loading 0 none offline</p>');
    expect(counting.calls).toEqual([]);
    expect(client.realtime.state).toBe('offline');
    client.close();
  });
});

describe('the package', () => {
  it('exports the hooks as @sigil/client/react, and the core holds nothing of React', async () => {
    expect(import.meta.resolve('@sigil/client/react')).toMatch(/packages\/client\/dist\/react\.js$/);
    const entry = (await import('@sigil/client/react')) as Record<string, unknown>;
    expect(Object.keys(entry).sort()).toEqual(['liveQueryKey', 'useAuth', 'useLiveQuery']);
    expect(await bundleClient({ minify: false })).not.toMatch(/react|useSyncExternalStore/i);
  });
});
