import type { Session } from '@sigil/client';
import { useEffect, useState } from 'preact/hooks';
import { client } from './client';

/** The signed-in session (null when signed out), following every tab. */
export function useSession(): Session | null {
  const [session, setSession] = useState(client.auth.session);
  useEffect(() => client.auth.onAuthChange(setSession), []);
  return session;
}
