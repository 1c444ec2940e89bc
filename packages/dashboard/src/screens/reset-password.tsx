import { useState } from 'preact/hooks';
import { client } from '../client';
import { ErrorMessage } from '../ui/error-message';

/**
 * `/reset-password#token=…`: where reset mails link when PUBLIC_URL is this
 * server. The token is read from the fragment (never sent to a server but
 * in the reset request itself), and removed from the address bar at once.
 */
export function ResetPassword() {
  const [token] = useState(() => {
    const found = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
    history.replaceState(null, '', location.pathname);
    return found;
  });
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const mismatch = repeat !== '' && password !== repeat;

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setError(undefined);
    try {
      await client.auth.resetPassword(token, password);
      setDone(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (token === '') {
    return (
      <main class="center">
        <div class="card narrow">
          <h1>Reset your password</h1>
          <p role="alert">This link has no reset token. Open the link from the mail again, or ask for a new one.</p>
        </div>
      </main>
    );
  }
  if (done) {
    return (
      <main class="center">
        <div class="card narrow">
          <h1>Password changed</h1>
          <p role="status">Your password is changed and every session of your account has ended. Sign in again with the new password.</p>
        </div>
      </main>
    );
  }
  return (
    <main class="center">
      <form class="card narrow" onSubmit={(e) => void submit(e)} aria-labelledby="reset-title">
        <h1 id="reset-title">Reset your password</h1>
        <label>
          New password
          <input type="password" name="password" autoComplete="new-password" required minLength={8} maxLength={128} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <label>
          Repeat it
          <input type="password" name="repeat" autoComplete="new-password" required value={repeat} aria-invalid={mismatch} aria-describedby={mismatch ? 'repeat-error' : undefined} onInput={(e) => setRepeat(e.currentTarget.value)} />
        </label>
        {mismatch && (
          <p id="repeat-error" class="error">
            The two passwords differ.
          </p>
        )}
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy || mismatch}>
          {busy ? 'Saving…' : 'Set the new password'}
        </button>
      </form>
    </main>
  );
}
