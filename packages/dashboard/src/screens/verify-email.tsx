import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import { ErrorMessage } from '../ui/error-message';

type Outcome = { readonly state: 'working' } | { readonly state: 'done' } | { readonly state: 'failed'; readonly error: unknown };

/**
 * `/verify-email#token=…`: where verification mails link when PUBLIC_URL is
 * this server. The token is read from the fragment (never sent to a server
 * but in the verify request itself), removed from the address bar at once,
 * and posted; the outcome is said in words.
 */
export function VerifyEmail() {
  const [token] = useState(() => {
    const found = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
    history.replaceState(null, '', location.pathname);
    return found;
  });
  const [outcome, setOutcome] = useState<Outcome>({ state: 'working' });

  useEffect(() => {
    if (token === '') return;
    let current = true;
    client.auth.verifyEmail(token).then(
      () => current && setOutcome({ state: 'done' }),
      (error: unknown) => current && setOutcome({ state: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, [token]);

  let body;
  if (token === '') {
    body = <p role="alert">This link has no verification token. Open the link from the mail again, or ask for a new one.</p>;
  } else if (outcome.state === 'working') {
    body = <p role="status">Confirming your email address…</p>;
  } else if (outcome.state === 'done') {
    body = <p role="status">Your email address is confirmed. You can close this page and sign in.</p>;
  } else {
    body = (
      <>
        <ErrorMessage error={outcome.error} />
        <p>The link may have been used already, have expired, or been replaced by a newer one. Ask for a new link from the app, and open the newest mail.</p>
      </>
    );
  }
  return (
    <main class="center">
      <div class="card narrow">
        <h1>{outcome.state === 'done' ? 'Email address confirmed' : 'Confirm your email address'}</h1>
        {body}
      </div>
    </main>
  );
}
