/**
 * client.auth against a real Sigil: sign-up, sign-in, me, password change,
 * logout, errors, and the refresh rules — refreshed before expiry, on a
 * `token_expired` answer, and single flight: fifty concurrent requests with
 * an expired token cause one refresh (a second one would present a rotated
 * refresh token, which the server treats as theft: the control test shows
 * that it really revokes the session).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localStorageTokenStore, memoryTokenStore, SigilError, SigilNetworkError, type Session } from '../src/index.js';
import { countingFetch, nodeClient, PASSWORD, startFixture, uniqueUser, waitFor, type Fixture } from './helpers.js';

describe('client.auth', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture('sqlite', { env: { ACCESS_TOKEN_TTL: '2s' } });
  });
  afterAll(() => f?.close());

  it('registers, reads me, changes the password, logs out, logs in again; onAuthChange follows', async () => {
    const client = nodeClient(f.url);
    const seen: (string | null)[] = [];
    client.auth.onAuthChange((s) => seen.push(s?.user.username ?? null));
    const username = uniqueUser();
    const user = await client.auth.register({ username, password: PASSWORD });
    expect(user.username).toBe(username);
    expect(client.auth.session?.user.id).toBe(user.id);
    expect((await client.auth.me()).id).toBe(user.id);

    await client.auth.changePassword({ currentPassword: PASSWORD, newPassword: 'another long password' });
    expect((await client.auth.me()).id).toBe(user.id); // this session stays
    await client.auth.logout();
    expect(client.auth.session).toBeNull();
    await expect(client.auth.me()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    await expect(client.auth.login({ username, password: PASSWORD })).rejects.toMatchObject({ code: 'invalid_credentials', status: 401 });
    await client.auth.login({ username, password: 'another long password' });
    expect(seen).toEqual([username, username /* updatedAt of the password change */, null, username]);
    client.close();
  });

  it('answers are SigilErrors with code, status and details; no answer is a SigilNetworkError', async () => {
    const client = nodeClient(f.url);
    const error = await client.auth.register({ username: 'x', password: 'short' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SigilError);
    expect(error).toMatchObject({ code: 'validation_failed', status: 400 });
    expect((error as SigilError).details.length).toBeGreaterThan(0);
    const offline = nodeClient('http://127.0.0.1:9', { requestTimeoutMs: 2_000 });
    await expect(offline.auth.login({ username: 'nobody', password: PASSWORD })).rejects.toBeInstanceOf(SigilNetworkError);
    client.close();
    offline.close();
  });

  it('refreshes before the token expires, so requests never see token_expired', async () => {
    const counted = countingFetch();
    const client = nodeClient(f.url, { fetch: counted.fetch });
    await client.auth.register({ username: uniqueUser(), password: PASSWORD });
    const before = client.auth.session!.accessToken;
    await new Promise((r) => setTimeout(r, 2_500)); // past the 2 s lifetime
    expect(client.auth.session!.accessToken).not.toBe(before);
    expect(client.auth.refreshCount).toBeGreaterThanOrEqual(1);
    await client.auth.me();
    expect(counted.count('GET', '/api/auth/me')).toBe(1); // no token_expired retry
    client.close();
  });

  it('fifty concurrent requests with an expired token share one refresh', async () => {
    const counted = countingFetch();
    const store = memoryTokenStore();
    const client = nodeClient(f.url, { fetch: counted.fetch, tokenStore: store });
    await client.auth.register({ username: uniqueUser(), password: PASSWORD });
    client.auth.close(); // no refresh timer: the token is left to expire
    await new Promise((r) => setTimeout(r, 2_200));
    // The client believes the token is fresh, so the server's token_expired answer is what triggers the refresh.
    store.set({ ...store.get()!, expiresAt: Date.now() + 3_600_000 } satisfies Session);
    const users = await Promise.all(Array.from({ length: 50 }, () => client.auth.me()));
    expect(new Set(users.map((u) => u.id)).size).toBe(1);
    expect(counted.count('POST', '/api/auth/refresh')).toBe(1);
    expect(counted.count('GET', '/api/auth/me')).toBe(100); // each tried once with the old token, once with the new
    // The session is alive: another refresh works.
    store.set({ ...store.get()!, expiresAt: 0 });
    expect(await client.auth.refresh()).not.toBeNull();
    expect(counted.count('POST', '/api/auth/refresh')).toBe(2);
  });

  it('control: presenting a rotated refresh token revokes the session (what single flight prevents)', async () => {
    const client = nodeClient(f.url);
    await client.auth.register({ username: uniqueUser(), password: PASSWORD });
    const stale = client.auth.session!;
    await client.auth.refresh();
    const rotated = await fetch(`${f.url}/api/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: stale.refreshToken }) });
    expect(rotated.status).toBe(401);
    // The current session is gone too: the next refresh fails and signs the client out.
    client.auth.close();
    expect(await client.auth.refresh()).toBeNull();
    expect(client.auth.session).toBeNull();
  });

  it('a client that was signed out elsewhere (session revoked) signs out on its next refresh', async () => {
    const a = nodeClient(f.url);
    const username = uniqueUser();
    await a.auth.register({ username, password: PASSWORD });
    const b = nodeClient(f.url, { tokenStore: memoryTokenStore(a.auth.session) });
    const changes: (Session | null)[] = [];
    b.auth.onAuthChange((s) => changes.push(s));
    await a.auth.logout();
    await waitFor(() => b.auth.session === null, 'b to notice at its scheduled refresh', 5_000);
    expect(changes.at(-1)).toBeNull();
    a.close();
    b.close();
  });

  it('without Web Locks, tabs take turns through a lease in storage: concurrent refreshes keep the session, and a logout reaches every tab', async () => {
    // Two "tabs": one storage, each with its own storage-event listeners (a browser fires the event in the other tabs only).
    const data = new Map<string, string>();
    const tabs: { listeners: Set<(e: { key: string | null }) => void> }[] = [{ listeners: new Set() }, { listeners: new Set() }];
    const storageFor = (me: number) => ({
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => {
        data.set(k, v);
        tabs.forEach((tab, i) => i !== me && tab.listeners.forEach((l) => l({ key: k })));
      },
      removeItem: (k: string) => {
        data.delete(k);
        tabs.forEach((tab, i) => i !== me && tab.listeners.forEach((l) => l({ key: k })));
      },
    });
    const clients = tabs.map((tab, i) =>
      nodeClient(f.url, {
        tokenStore: localStorageTokenStore({
          globals: { localStorage: storageFor(i), addEventListener: (_type, l) => tab.listeners.add(l), removeEventListener: (_type, l) => tab.listeners.delete(l) },
        }),
      }),
    );
    await clients[0]!.auth.register({ username: uniqueUser(), password: PASSWORD });
    expect(clients[1]!.auth.session?.user.id).toBe(clients[0]!.auth.session?.user.id);
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(clients.map((c) => c.auth.refresh()));
      expect(results.every((r) => r !== null)).toBe(true);
    }
    expect(clients[0]!.auth.refreshCount + clients[1]!.auth.refreshCount).toBe(10); // one per round
    expect((await clients[1]!.auth.me()).id).toBe(clients[0]!.auth.session!.user.id);
    const seen: (Session | null)[] = [];
    clients[1]!.auth.onAuthChange((s) => seen.push(s));
    await clients[0]!.auth.logout();
    expect(clients[1]!.auth.session).toBeNull();
    expect(seen).toEqual([null]);
    clients.forEach((c) => c.close());
  });
});
