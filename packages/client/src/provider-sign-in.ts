import type { UserDto } from '@sigil/protocol';

/** Where the PKCE verifier waits while the browser is at the provider (per tab: sessionStorage). */
export const VERIFIER_KEY = 'sigil.oauth.verifier';

/** The part of `Storage` the provider sign-in uses (sessionStorage by default). */
export interface VerifierStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Options of `auth.signInWithProvider` and `auth.linkProvider`. */
export interface ProviderRedirectOptions {
  /** Where the provider sends the browser back to: a page of the app allowed by OAUTH_REDIRECT_URLS. Default: this page without its fragment. */
  readonly redirectUrl?: string;
  /** Default: `sessionStorage`. */
  readonly storage?: VerifierStorage;
  /** Default: `location.assign`. */
  readonly navigate?: (url: string) => void;
}

/** Options of `auth.completeProviderSignIn`. */
export interface ProviderReturnOptions {
  /** Default: `location.href`. */
  readonly url?: string;
  readonly storage?: VerifierStorage;
  /** Told the address without its fragment; default: `history.replaceState`, so the code leaves the address bar and history. */
  readonly replaceUrl?: (url: string) => void;
}

/** What the provider's return brought: a session, or a linked account. */
export type ProviderReturn = { readonly kind: 'signed-in'; readonly user: UserDto } | { readonly kind: 'linked'; readonly provider: string };

const g = globalThis as unknown as {
  sessionStorage?: VerifierStorage;
  location?: { href: string; assign(url: string): void };
  history?: { replaceState(data: unknown, unused: string, url: string): void };
  crypto: { getRandomValues(a: Uint8Array): Uint8Array; subtle: { digest(alg: string, data: Uint8Array): Promise<ArrayBuffer> } };
};

const base64url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** A fresh PKCE verifier and its S256 challenge (RFC 7636). */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(g.crypto.getRandomValues(new Uint8Array(32)));
  const digest = await g.crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

export const storageOf = (s?: VerifierStorage): VerifierStorage => {
  const found = s ?? g.sessionStorage;
  if (!found) throw new Error('No sessionStorage here: pass options.storage.');
  return found;
};
export const navigateOf = (n?: (url: string) => void): ((url: string) => void) => n ?? ((url) => g.location!.assign(url));
export const currentUrl = (): string => g.location?.href.split('#')[0] ?? '';
export const hrefOf = (url?: string): string => url ?? g.location?.href ?? '';
export const replaceOf = (r?: (url: string) => void): ((url: string) => void) => r ?? ((url) => g.history?.replaceState(null, '', url));
