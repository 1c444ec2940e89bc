import type { Session } from '@sigil/client';
import { useAuth } from '@sigil/client/react';
import { client } from './client';

/** The signed-in session (null when signed out), following every tab: the client's React binding, on preact/compat. */
export function useSession(): Session | null {
  return useAuth(client).session;
}
