import { useState } from 'preact/hooks';
import { client } from '../client';
import { ErrorMessage } from '../ui/error-message';
import { ProviderButtons } from './provider-buttons';

/** Admins sign in with their password or an identity provider; the session is kept in localStorage across reloads and tabs. */
export function SignIn() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await client.auth.login({ username: username.trim(), password });
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <main class="center">
      <form class="card narrow" onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sigil dashboard</h1>
        <p class="muted">Sign in with an admin account.</p>
        <label>
          Username
          <input name="username" autoComplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ProviderButtons />
      </form>
    </main>
  );
}
