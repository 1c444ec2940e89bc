/**
 * The React app of react.browser.test.ts: sign-in form (useAuth), a live
 * list (useLiveQuery) filtered by a text input, a button that unmounts the
 * list. `?strict=1` renders under StrictMode. The page reports its mounts on
 * `window.sigilApp` (with the lists it sent) and Sigil's URL comes in as
 * `?server=`.
 */
import { createClient, localStorageTokenStore, type SigilClient } from '@sigil/client';
import { useAuth, useLiveQuery } from '@sigil/client/react';
import { StrictMode, useEffect, useState, type SyntheticEvent } from 'react';
import { createRoot } from 'react-dom/client';
import type { AppHandle, Schema } from './schema.js';

declare global {
  interface Window {
    sigilApp: AppHandle;
  }
}

function SignIn({ client }: { client: SigilClient<Schema> }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const submit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    client.auth.login({ username, password }).then(
      () => setError(''),
      (e: unknown) => setError(String(e)),
    );
  };
  return (
    <form id="signin" onSubmit={submit}>
      <input id="username" value={username} onChange={(event) => setUsername(event.target.value)} />
      <input id="password" type="password" value={password} onChange={(event) => setPassword(event.target.value)} />
      <button type="submit">Sign in</button>
      <output id="signin-error">{error}</output>
    </form>
  );
}

function List({ client, group, enabled }: { client: SigilClient<Schema>; group: string; enabled: boolean }) {
  const { items, seq, hasMore, status, error, connection } = useLiveQuery(client.collection('items'), { filter: { group }, sort: ['rank', 'title'] }, { enabled });
  useEffect(() => {
    window.sigilApp.listMounts += 1;
    return () => {
      window.sigilApp.listUnmounts += 1;
    };
  }, []);
  return (
    <section id="list" data-status={status} data-connection={connection} data-seq={seq ?? ''} data-has-more={String(hasMore)} data-error={error?.code ?? ''}>
      <ul>
        {items.map((item) => (
          <li key={item.id} data-id={item.id} data-version={item.version} data-rank={item.rank}>
            {item.title}
          </li>
        ))}
      </ul>
    </section>
  );
}

function App({ client }: { client: SigilClient<Schema> }) {
  const { user, signedIn } = useAuth(client);
  const [group, setGroup] = useState('a');
  const [shown, setShown] = useState(true);
  const [ticks, setTicks] = useState(0);
  return (
    <main>
      <p id="user">{user ? user.username : 'signed out'}</p>
      {signedIn ? (
        <button id="signout" onClick={() => void client.auth.logout()}>
          Sign out
        </button>
      ) : (
        <SignIn client={client} />
      )}
      <input id="group" value={group} onChange={(event) => setGroup(event.target.value)} />
      <button id="toggle" onClick={() => setShown((s) => !s)}>
        {shown ? 'Hide' : 'Show'}
      </button>
      <button id="tick" onClick={() => setTicks((n) => n + 1)}>
        Re-render ({ticks})
      </button>
      {shown && <List client={client} group={group} enabled={signedIn} />}
    </main>
  );
}

const params = new URLSearchParams(location.search);
const server = params.get('server');
if (!server) throw new Error('the page needs ?server=<Sigil URL>');
const root = createRoot(document.getElementById('root')!);
window.sigilApp = {
  listMounts: 0,
  listUnmounts: 0,
  listRequests: 0,
  unmount: () => root.unmount(),
};
const client = createClient<Schema>({
  url: server,
  tokenStore: localStorageTokenStore({ key: 'react-app' }),
  // Counts the lists of `items` (a restarted live query lists again), then sends the request as is.
  fetch: (input, init) => {
    if (init.method === 'GET' && new URL(input).pathname === '/api/collections/items/records') window.sigilApp.listRequests += 1;
    return fetch(input, init);
  },
});
root.render(params.get('strict') === '1' ? <StrictMode><App client={client} /></StrictMode> : <App client={client} />);
