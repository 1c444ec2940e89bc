import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes (`/_/#/collections/tasks`): the server serves one page, and a
 * reload or a shared link lands on the same screen.
 */
export interface Route {
  readonly screen: 'collections' | 'collection' | 'new-collection' | 'records' | 'users' | 'changes' | 'server';
  /** The collection, for `collection` and `records`. */
  readonly name?: string;
  /** The query string after the path (`?filter=…`). */
  readonly params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'collections' && parts[1] === undefined) return { screen: 'collections', params };
  if (parts[0] === 'collections' && parts[1] === '+new') return { screen: 'new-collection', params };
  if (parts[0] === 'collections' && parts[2] === 'records') return { screen: 'records', name: parts[1]!, params };
  if (parts[0] === 'collections') return { screen: 'collection', name: parts[1]!, params };
  if (parts[0] === 'users') return { screen: 'users', params };
  if (parts[0] === 'changes') return { screen: 'changes', params };
  if (parts[0] === 'server') return { screen: 'server', params };
  return { screen: 'collections', params };
}

/** The href of a screen: `href('records', 'tasks')` → `#/collections/tasks/records`. */
export function href(screen: Route['screen'], name?: string, params?: Record<string, string>): string {
  const query = params && Object.keys(params).length > 0 ? `?${new URLSearchParams(params).toString()}` : '';
  const n = name === undefined ? '' : encodeURIComponent(name);
  switch (screen) {
    case 'collections': return `#/collections${query}`;
    case 'new-collection': return `#/collections/+new${query}`;
    case 'collection': return `#/collections/${n}${query}`;
    case 'records': return `#/collections/${n}/records${query}`;
    case 'users':
    case 'changes':
    case 'server':
      return `#/${screen}${query}`;
  }
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else location.hash = to;
  if (options.replace) dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = (): void => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return parseRoute(hash);
}
