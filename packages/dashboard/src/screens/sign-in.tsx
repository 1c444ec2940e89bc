import { SigilError, TwoFactorRequiredError } from '@sigil/client';
import { useState } from 'preact/hooks';
import { client } from '../client';
import { ErrorMessage } from '../ui/error-message';
import { ProviderButtons } from './provider-buttons';

/**
 * Admins sign in with their password or an identity provider, and, when
 * they have two-factor on, then with a code from their authenticator app or
 * a recovery code. The session is kept in localStorage across reloads and
 * tabs.
 */
export function SignIn() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [challenge, setChallenge] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (challenge === null) await client.auth.login({ username: username.trim(), password });
      else await client.auth.completeTwoFactor({ challenge, code: code.trim() });
    } catch (e) {
      if (e instanceof TwoFactorRequiredError) {
        setChallenge(e.challenge);
        setPassword('');
      } else {
        // unauthorized: the challenge expired or ended (too many wrong codes): start again.
        if (challenge !== null && e instanceof SigilError && e.code === 'unauthorized') setChallenge(null);
        setError(e);
      }
      setCode('');
      setBusy(false);
    }
  };

  if (challenge !== null) {
    return (
      <main class="center">
        <form class="card narrow" onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
          <h1 id="sign-in-title">Two-factor authentication</h1>
          <p class="muted">
            Enter the 6-digit code from your authenticator app{username.trim() === '' ? '' : ` for ${username.trim()}`}, or one of your recovery codes.
          </p>
          <label>
            Code
            <input name="code" autoComplete="one-time-code" autoFocus required maxLength={64} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
          <ErrorMessage error={error} />
          <div class="row end">
            <button type="button" onClick={() => { setChallenge(null); setError(undefined); }}>
              Back
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Checking…' : 'Verify'}
            </button>
          </div>
        </form>
      </main>
    );
  }

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
        <ProviderButtons onChallenge={setChallenge} />
      </form>
    </main>
  );
}
