import { isErrorCode } from '@sigil/protocol';
import type { AuthResponse, IdentityDto, IdentityProviderDto, PendingRegistration, TokenPair, UserDto, UserUpdate } from '@sigil/protocol';
import { currentUrl, hrefOf, navigateOf, pkcePair, replaceOf, storageOf, VERIFIER_KEY, type ProviderRedirectOptions, type ProviderReturn, type ProviderReturnOptions } from './provider-sign-in.js';
import { SigilError } from './errors.js';
import type { Http } from './http.js';
import { localExpiry } from './jwt.js';
import type { Session, TokenStore } from './token-store.js';

export interface AuthOptions {
  /**
   * Refresh this long before the access token expires (default: a quarter
   * of its lifetime, at most 60 s). Negative: that long after, so in
   * practice only when the server refuses the token (tests use it).
   */
  readonly refreshMarginMs?: number;
}

/**
 * Sign-up, sign-in and the session: `client.auth`. Access tokens are
 * refreshed before they expire and after a `token_expired` answer, single
 * flight: concurrent callers share one refresh, and with a store that has a
 * `lock` (the localStorage store) so do tabs: inside the lock the store is
 * read again, and a refresh another tab has just done is taken instead of
 * presenting a rotated refresh token (which would revoke the session).
 *
 * @example
 * ```ts
 * await client.auth.login({ username: 'ada', password: 'correct horse battery' });
 * client.auth.onAuthChange((session) => render(session?.user ?? null));
 * ```
 */
export class Auth {
  private inflight: Promise<Session | null> | null = null;
  private readonly listeners = new Set<(session: Session | null) => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private known: Session | null;
  private readonly unsubscribeStore: (() => void) | undefined;
  /** How many refreshes this client has sent to the server. */
  refreshCount = 0;

  constructor(
    private readonly http: Http,
    private readonly store: TokenStore,
    private readonly options: AuthOptions = {},
  ) {
    this.known = store.get();
    this.unsubscribeStore = store.subscribe?.(() => this.changed());
    this.schedule();
  }

  /** The current session, or null when signed out. */
  get session(): Session | null {
    return this.store.get();
  }

  /** Calls `listener` whenever the session changes: sign-in, refresh, sign-out, here or in another tab. */
  onAuthChange(listener: (session: Session | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Creates the account and signs in. When the server requires a verified
   * email (AUTH_REQUIRE_VERIFIED_EMAIL) it answers without a session: this
   * resolves with the user all the same and the client stays signed out
   * (`session` is null) until the user follows the mailed link and logs in.
   */
  async register(input: { username: string; password: string; email?: string }): Promise<UserDto> {
    return this.signIn('/api/auth/register', input);
  }

  /**
   * Signs in. For a user with two-factor on this throws a
   * `TwoFactorRequiredError`: finish with `completeTwoFactor`.
   */
  async login(input: { username: string; password: string }): Promise<UserDto> {
    return this.signIn('/api/auth/login', input);
  }

  /** Completes a login that threw `TwoFactorRequiredError`, with a TOTP code or a recovery code. */
  async completeTwoFactor(input: { challenge: string; code: string }): Promise<UserDto> {
    return this.signIn('/api/auth/2fa/verify', input);
  }

  /**
   * Two-factor enrolment of the signed-in user: `setup` (with the password)
   * gives the secret and its `otpauth://` URI for an authenticator app;
   * `enable` with a first code turns it on and gives ten recovery codes
   * (shown once); `disable` needs the password and a code.
   *
   * @example
   * ```ts
   * const { otpauthUri } = await client.auth.twoFactor.setup(password);
   * showQrCode(otpauthUri);
   * const { recoveryCodes } = await client.auth.twoFactor.enable(codeFromApp);
   * ```
   */
  readonly twoFactor = {
    /** On, set up but not yet confirmed, and how many recovery codes are left. */
    status: async (): Promise<{ enabled: boolean; pending: boolean; recoveryCodesLeft: number }> =>
      (await this.authed((token) => this.http.send({ method: 'GET', path: '/api/auth/2fa' }, token))).body as { enabled: boolean; pending: boolean; recoveryCodesLeft: number },
    setup: (password: string): Promise<{ secret: string; otpauthUri: string }> => this.post('setup', { password }),
    enable: async (code: string): Promise<{ recoveryCodes: string[] }> => {
      const answer = await this.post<{ recoveryCodes: string[] }>('enable', { code });
      this.setTwoFactor(true);
      return answer;
    },
    disable: async (input: { password: string; code: string }): Promise<void> => {
      await this.post('disable', input);
      this.setTwoFactor(false);
    },
    /** New recovery codes (the old ones stop working), with a TOTP or recovery code. */
    regenerateRecoveryCodes: (code: string): Promise<{ recoveryCodes: string[] }> => this.post('recovery-codes', { code }),
  };

  /** Ends the session here and on the server (every tab sharing the store is signed out too). */
  async logout(): Promise<void> {
    const session = this.store.get();
    this.update(null);
    if (session) await this.http.send({ method: 'POST', path: '/api/auth/logout', body: { refreshToken: session.refreshToken } }, null);
  }

  /** The signed-in user as the server has them now. */
  async me(): Promise<UserDto> {
    const { body } = await this.authed((token) => this.http.send({ method: 'GET', path: '/api/auth/me' }, token));
    const user = (body as { user: UserDto }).user;
    const session = this.store.get();
    if (session && session.user.id === user.id) this.update({ ...session, user });
    return user;
  }

  /** Changes the password (the server revokes the user's other sessions; this one stays). */
  async changePassword(input: { currentPassword: string; newPassword: string }): Promise<UserDto> {
    const session = this.requireSession();
    const path = `/api/users/${encodeURIComponent(session.user.username)}`;
    const { body } = await this.authed((token) =>
      this.http.send({ method: 'PATCH', path, body: { currentPassword: input.currentPassword, password: input.newPassword } }, token),
    );
    const user = (body as { user: UserDto }).user;
    const current = this.store.get();
    if (current && current.user.id === user.id) this.update({ ...current, user });
    return user;
  }

  /**
   * Asks for a password-reset mail to the accounts with this email. Resolves
   * the same whether or not one exists (the server does not say).
   */
  async forgotPassword(email: string): Promise<void> {
    await this.http.send({ method: 'POST', path: '/api/auth/forgot-password', body: { email } }, null);
  }

  /**
   * Sets a new password with the token from a reset link (`#token=…`). The
   * server ends every session of that user: sign in again with the new password.
   */
  async resetPassword(token: string, password: string): Promise<void> {
    await this.http.send({ method: 'POST', path: '/api/auth/reset-password', body: { token, password } }, null);
  }

  /** The identity providers this server offers, for sign-in buttons. */
  async providers(): Promise<IdentityProviderDto[]> {
    const { body } = await this.http.send({ method: 'GET', path: '/api/auth/providers' }, null);
    return (body as { items: IdentityProviderDto[] }).items;
  }

  /**
   * Sends the browser to sign in with a provider. Makes a PKCE verifier,
   * keeps it in sessionStorage and navigates; on the page the provider
   * returns to, call `completeProviderSignIn()`.
   *
   * @example
   * ```ts
   * await client.auth.signInWithProvider('google', { redirectUrl: 'https://app.example.com/signed-in' });
   * ```
   */
  async signInWithProvider(name: string, options: ProviderRedirectOptions = {}): Promise<void> {
    const { verifier, challenge } = await pkcePair();
    storageOf(options.storage).setItem(VERIFIER_KEY, verifier);
    const query = new URLSearchParams({ redirect: options.redirectUrl ?? currentUrl(), code_challenge: challenge });
    navigateOf(options.navigate)(`${this.http.baseUrl}/api/auth/oauth/${encodeURIComponent(name)}/start?${query.toString()}`);
  }

  /**
   * On the page a provider returned to: reads the fragment, removes it from
   * the address bar, and exchanges the sign-in code (with the kept
   * verifier) for a session. Resolves null when the address holds no
   * provider answer; rejects with the server's SigilError when the sign-in
   * failed.
   *
   * @example
   * ```ts
   * const done = await client.auth.completeProviderSignIn();
   * if (done?.kind === 'signed-in') render(done.user);
   * ```
   */
  async completeProviderSignIn(options: ProviderReturnOptions = {}): Promise<ProviderReturn | null> {
    const [address = '', fragment = ''] = hrefOf(options.url).split('#');
    const answer = new URLSearchParams(fragment);
    const code = answer.get('code');
    const error = answer.get('error');
    const linked = answer.get('linked');
    if (code === null && error === null && linked === null) return null;
    replaceOf(options.replaceUrl)(address);
    const storage = storageOf(options.storage);
    const verifier = storage.getItem(VERIFIER_KEY);
    storage.removeItem(VERIFIER_KEY);
    if (error !== null) throw new SigilError({ code: isErrorCode(error) ? error : 'unauthorized', message: answer.get('message') ?? 'The sign-in failed.' });
    if (linked !== null) return { kind: 'linked', provider: linked };
    if (verifier === null) throw new SigilError({ code: 'unauthorized', message: 'This tab did not start the sign-in (no PKCE verifier).' });
    return { kind: 'signed-in', user: await this.signIn('/api/auth/oauth/exchange', { code, codeVerifier: verifier }) };
  }

  /** Signed in: sends the browser to link a provider account to this user; the return page calls `completeProviderSignIn()` (`kind: 'linked'`). */
  async linkProvider(name: string, options: ProviderRedirectOptions = {}): Promise<void> {
    const { body } = await this.authed((token) =>
      this.http.send({ method: 'POST', path: `/api/auth/oauth/${encodeURIComponent(name)}/link/start`, body: { redirect: options.redirectUrl ?? currentUrl() } }, token),
    );
    navigateOf(options.navigate)((body as { url: string }).url);
  }

  /** The provider accounts linked to this user. */
  async identities(): Promise<IdentityDto[]> {
    const { body } = await this.authed((token) => this.http.send({ method: 'GET', path: '/api/auth/identities' }, token));
    return (body as { items: IdentityDto[] }).items;
  }

  /** Unlinks this user's account at `name` (refused when it is their last way to sign in). */
  async unlinkProvider(name: string): Promise<void> {
    await this.authed((token) => this.http.send({ method: 'DELETE', path: `/api/auth/identities/${encodeURIComponent(name)}` }, token));
  }

  /** Marks an address verified with the token from a verification link (`#token=…`); no sign-in needed. */
  async verifyEmail(token: string): Promise<void> {
    await this.http.send({ method: 'POST', path: '/api/auth/verify-email', body: { token } }, null);
  }

  /**
   * Asks for a new verification link: signed in, for your pending address
   * change or unverified address (409 `conflict` when there is none);
   * with `email`, without signing in, for the unverified accounts with it
   * (resolves the same whether or not there are any).
   */
  async resendVerification(email?: string): Promise<void> {
    if (email !== undefined) {
      await this.http.send({ method: 'POST', path: '/api/auth/resend-verification', body: { email } }, null);
      return;
    }
    this.requireSession();
    await this.authed((token) => this.http.send({ method: 'POST', path: '/api/auth/resend-verification' }, token));
  }

  /**
   * Changes your address: it takes effect once you follow the link mailed to
   * the new one, so `user` is unchanged until then and `pendingEmail` names
   * it. `null` clears the address at once.
   */
  async changeEmail(email: string | null): Promise<{ user: UserDto; pendingEmail: string | null }> {
    const session = this.requireSession();
    const path = `/api/users/${encodeURIComponent(session.user.username)}`;
    const { body } = await this.authed((token) => this.http.send({ method: 'PATCH', path, body: { email } }, token));
    const answer = body as UserUpdate;
    const current = this.store.get();
    if (current && current.user.id === answer.user.id) this.update({ ...current, user: answer.user });
    return { user: answer.user, pendingEmail: answer.pendingEmail ?? null };
  }

  /**
   * A valid access token (refreshed first if it is about to expire), or
   * null when signed out.
   */
  async getAccessToken(): Promise<string | null> {
    const session = this.store.get();
    if (!session) return null;
    if (session.expiresAt - this.margin(session) > Date.now()) return session.accessToken;
    return (await this.refresh())?.accessToken ?? null;
  }

  /**
   * Called when the server refused `token` as expired: a newer token if one
   * is stored already, else the result of one (shared) refresh.
   */
  async tokenRejected(token: string): Promise<string | null> {
    const session = this.store.get();
    if (!session) return null;
    if (session.accessToken !== token) return session.accessToken;
    return (await this.refresh())?.accessToken ?? null;
  }

  /**
   * Refreshes the session once, however many callers (and, with a locking
   * store, tabs) ask at the same time. Resolves with the new session, or
   * null when the server no longer knows the session (then signed out).
   */
  refresh(): Promise<Session | null> {
    if (this.inflight) return this.inflight;
    const startedWith = this.store.get()?.refreshToken;
    const run = async (): Promise<Session | null> => {
      let current = this.store.get(); // read again: another tab may have refreshed while we waited for the lock
      if (current && current.refreshToken === startedWith && (await this.store.wasRotated?.(current.refreshToken))) current = this.store.get();
      if (!current) return null;
      if (current.refreshToken !== startedWith) return current;
      this.refreshCount += 1;
      try {
        const { body } = await this.http.send({ method: 'POST', path: '/api/auth/refresh', body: { refreshToken: current.refreshToken } }, null);
        const pair = body as TokenPair;
        const next: Session = { ...current, accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresAt: localExpiry(pair.accessToken, Date.now()) };
        this.update(next);
        await this.store.markRotated?.(current.refreshToken);
        return next;
      } catch (error) {
        if (error instanceof SigilError && error.status === 401) {
          // Only if nobody stored a newer session meanwhile.
          if (this.store.get()?.refreshToken === current.refreshToken) this.update(null);
          return null;
        }
        throw error;
      }
    };
    const flight = (this.store.lock ? this.store.lock(run) : run()).finally(() => {
      this.inflight = null;
      this.changed();
    });
    this.inflight = flight;
    return flight;
  }

  /** Stops the refresh timer and the store subscription. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribeStore?.();
    this.listeners.clear();
  }

  /** Runs an authenticated request; on `token_expired` refreshes once and retries. */
  async authed<T>(send: (token: string | null) => Promise<T>): Promise<T> {
    const token = await this.getAccessToken();
    try {
      return await send(token);
    } catch (error) {
      if (!(token && error instanceof SigilError && error.code === 'token_expired')) throw error;
      return send(await this.tokenRejected(token));
    }
  }

  private async signIn(path: string, body: object): Promise<UserDto> {
    const { body: answer } = await this.http.send({ method: 'POST', path, body }, null);
    // 202 from register: the account exists, but no session until the email is verified.
    if ((answer as Partial<PendingRegistration>).verificationRequired) return (answer as PendingRegistration).user;
    const auth = answer as AuthResponse;
    this.update({ user: auth.user, accessToken: auth.accessToken, refreshToken: auth.refreshToken, expiresAt: localExpiry(auth.accessToken, Date.now()) });
    return auth.user;
  }

  private async post<T>(action: string, body: object): Promise<T> {
    return (await this.authed((token) => this.http.send({ method: 'POST', path: `/api/auth/2fa/${action}`, body }, token))).body as T;
  }

  private setTwoFactor(twoFactorEnabled: boolean): void {
    const session = this.store.get();
    if (session) this.update({ ...session, user: { ...session.user, twoFactorEnabled } });
  }

  private requireSession(): Session {
    const session = this.store.get();
    if (!session) throw new SigilError({ code: 'unauthorized', message: 'Not signed in.' });
    return session;
  }

  private update(session: Session | null): void {
    this.store.set(session);
    this.changed();
  }

  /** Tells listeners when what is stored differs from what they last heard, and re-arms the timer. */
  private changed(): void {
    const session = this.store.get();
    const before = this.known;
    if (before?.accessToken === session?.accessToken && before?.refreshToken === session?.refreshToken && JSON.stringify(before?.user) === JSON.stringify(session?.user)) return;
    this.known = session;
    this.schedule();
    for (const listener of [...this.listeners]) listener(session);
  }

  private margin(session: Session): number {
    return this.options.refreshMarginMs ?? Math.min(60_000, this.lifetime(session) / 4);
  }

  private lifetime(session: Session): number {
    return localExpiry(session.accessToken, 0);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const session = this.store.get();
    if (!session) return;
    const delay = Math.max(0, session.expiresAt - this.margin(session) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A failed refresh (offline) is retried by the next request or by realtime's auth_expired.
      this.refresh().then(
        () => this.schedule(),
        () => {
          this.timer = setTimeout(() => this.schedule(), 5_000);
          (this.timer as { unref?: () => void }).unref?.();
        },
      );
    }, delay);
    (this.timer as { unref?: () => void }).unref?.();
  }
}
