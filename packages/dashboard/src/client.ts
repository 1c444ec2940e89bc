import { createClient, localStorageTokenStore } from '@sigil/client';

/**
 * The dashboard's one client: same origin as the page (served at /_/), the
 * session in localStorage so a reload or a second tab stays signed in. Its
 * own key, so signing in here does not sign an app on the same origin out.
 */
export const client = createClient({ url: location.origin, tokenStore: localStorageTokenStore({ key: 'sigil.dashboard.session' }) });
