/** What a provider proved about the person who signed in there. */
export interface ProviderIdentity {
  /** The provider's stable id of the account. */
  readonly subject: string;
  readonly email: string | null;
  /** True only when the provider says it verified `email`. */
  readonly emailVerified: boolean;
  /** Candidates for a new user's name, best first (preferred_username / login, the email's local part, the name). */
  readonly usernameHints: readonly string[];
}

/** One configured way of signing in elsewhere: OpenID Connect (oidc-client.ts) or GitHub (github-client.ts). */
export interface IdentityProvider {
  readonly name: string;
  readonly label: string;
  readonly type: 'oidc' | 'github';
  /** Where to send the browser: the provider's authorization endpoint with these parameters. */
  authorizationUrl(p: { readonly state: string; readonly nonce: string; readonly codeChallenge: string; readonly redirectUri: string }): Promise<string>;
  /** Exchanges the code (`nonceHash`: the SHA-256 of the attempt's nonce) (with Sigil's PKCE verifier) and proves who signed in; throws AppError('unauthorized') when anything does not check out. */
  identify(p: { readonly code: string; readonly codeVerifier: string; readonly nonceHash: string; readonly redirectUri: string }): Promise<ProviderIdentity>;
}

/** Outgoing HTTP of the provider clients: bounded in time and size. */
export const PROVIDER_TIMEOUT_MS = 10_000;
export const MAX_PROVIDER_RESPONSE_BYTES = 1024 * 1024;
