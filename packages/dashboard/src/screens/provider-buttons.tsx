import { TwoFactorRequiredError, type IdentityProviderDto } from '@sigil/client';
import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import { ErrorMessage } from '../ui/error-message';

/** The dashboard's own page: where providers send the browser back (the server always allows `<SERVER_URL>/_/`). */
const RETURN_URL = `${location.origin}/_/`;

/**
 * A button per identity provider the server offers; on the way back from
 * one, completes the sign-in (the code leaves the address bar at once).
 * Who may use the dashboard is decided as for passwords: the admin role,
 * and an admin with two-factor on is asked for a code (`onChallenge`).
 */
export function ProviderButtons({ onChallenge }: { readonly onChallenge: (challenge: string) => void }) {
  const [providers, setProviders] = useState<readonly IdentityProviderDto[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (/^#(code|error|linked)=/.test(location.hash)) {
      setBusy(true);
      client.auth.completeProviderSignIn().catch((e: unknown) => {
        setBusy(false);
        if (e instanceof TwoFactorRequiredError) onChallenge(e.challenge);
        else setError(e);
      });
    }
    client.auth.providers().then(setProviders, () => setProviders([]));
  }, []);

  if (providers.length === 0 && error === undefined) return null;
  const go = (name: string): void => {
    setBusy(true);
    setError(undefined);
    client.auth.signInWithProvider(name, { redirectUrl: RETURN_URL }).catch((e: unknown) => {
      setError(e);
      setBusy(false);
    });
  };
  return (
    <section aria-label="Sign in with an identity provider">
      <p class="muted">or</p>
      <div class="row">
        {providers.map((p) => (
          <button key={p.name} type="button" disabled={busy} onClick={() => go(p.name)}>
            Sign in with {p.label}
          </button>
        ))}
      </div>
      <ErrorMessage error={error} title="Sign-in with a provider failed" />
    </section>
  );
}
