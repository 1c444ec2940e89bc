import type { Session } from '@sigil/client';
import { useEffect, useState } from 'preact/hooks';
import { client } from './client';
import { href, useRoute, type Route } from './router';
import { ChangesScreen } from './screens/changes';
import { CollectionScreen } from './screens/collection';
import { CollectionsScreen } from './screens/collections';
import { RecordsScreen } from './screens/records';
import { ResetPassword } from './screens/reset-password';
import { VerifyEmail } from './screens/verify-email';
import { ServerScreen } from './screens/server';
import { SignIn } from './screens/sign-in';
import { UsersScreen } from './screens/users';
import { useSession } from './session';

export function App() {
  // The same page answers reset links (`/reset-password#token=…`): no sign-in there.
  if (location.pathname === '/reset-password') return <ResetPassword />;
  // …and verification links (`/verify-email#token=…`).
  if (location.pathname === '/verify-email') return <VerifyEmail />;
  return <Dashboard />;
}

function Dashboard() {
  const session = useSession();
  if (session === null) return <SignIn />;
  if (session.user.role !== 'admin') return <NotAdmin session={session} />;
  return <Shell session={session} />;
}

function NotAdmin({ session }: { session: Session }) {
  return (
    <main class="center">
      <div class="card narrow">
        <h1>Admins only</h1>
        <p>
          You are signed in as <strong>{session.user.username}</strong>, who is not an admin. The dashboard manages collections, records and users of the whole
          server, so it needs an admin account.
        </p>
        <p>An admin can promote you on the Users screen, or create an admin with <code>sigil admin create &lt;username&gt;</code>.</p>
        <button type="button" onClick={() => void client.auth.logout()}>
          Sign out and use another account
        </button>
      </div>
    </main>
  );
}

const NAV: readonly [Route['screen'], string][] = [
  ['collections', 'Collections'],
  ['users', 'Users'],
  ['changes', 'Change log'],
  ['server', 'Server'],
];

function Shell({ session }: { session: Session }) {
  const route = useRoute();
  const section = route.screen === 'records' || route.screen === 'collection' || route.screen === 'new-collection' ? 'collections' : route.screen;
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href={href('collections')}>
          Sigil
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([screen, label]) => (
              <li key={screen}>
                <a href={href(screen)} aria-current={section === screen ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <ConnectionBadge />
        <div class="account">
          <span class="muted" title="Signed in as">
            {session.user.username}
          </span>
          <button type="button" class="link" onClick={() => void client.auth.logout()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" class="content">
        <Screen route={route} />
      </main>
    </div>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.screen) {
    case 'collections':
      return <CollectionsScreen />;
    case 'new-collection':
      return <CollectionScreen name={null} />;
    case 'collection':
      return <CollectionScreen name={route.name!} key={route.name} />;
    case 'records':
      return <RecordsScreen name={route.name!} params={route.params} key={route.name} />;
    case 'users':
      return <UsersScreen />;
    case 'changes':
      return <ChangesScreen params={route.params} />;
    case 'server':
      return <ServerScreen />;
  }
}

// The client is 'offline' only when nothing on screen needs the socket (it opens it lazily, and retries by itself while something does).
const STATE_TEXT = { live: 'Live', connecting: 'Connecting…', resuming: 'Reconnecting…', offline: 'Idle' } as const;

/** The realtime connection, as every live screen depends on it. */
function ConnectionBadge() {
  const [state, setState] = useState(client.realtime.state);
  useEffect(() => client.realtime.onStateChange(setState), []);
  return (
    <span class={`badge state-${state}`} role="status" aria-live="polite" title="Realtime connection">
      {STATE_TEXT[state]}
    </span>
  );
}
