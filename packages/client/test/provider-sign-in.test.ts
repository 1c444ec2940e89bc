/**
 * client.auth's provider sign-in against a real Sigil and a hand-made
 * OpenID Connect provider, both on loopback: the navigation the browser
 * would do is done with fetch, hop by hop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTinyOidcProvider, type TinyOidcProvider } from '../../server/test/helpers/tiny-oidc-provider.js';
import { nodeClient, PASSWORD, startFixture, uniqueUser, type Fixture } from './helpers.js';
import type { VerifierStorage } from '../src/index.js';

const APP = 'https://app.example.com/signed-in';

function memoryStorage(): VerifierStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return { items, getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v), removeItem: (k) => void items.delete(k) };
}

describe('client.auth provider sign-in', () => {
  let f: Fixture;
  let idp: TinyOidcProvider;
  beforeAll(async () => {
    idp = await startTinyOidcProvider({ now: () => Date.now() });
    f = await startFixture('sqlite', {
      env: { OIDC_PROVIDERS: 'corp', OIDC_CORP_ISSUER: idp.issuer, OIDC_CORP_CLIENT_ID: idp.clientId, OIDC_CORP_CLIENT_SECRET: idp.clientSecret, OAUTH_REDIRECT_URLS: APP, SERVER_URL: 'http://sigil.test' },
    });
  });
  afterAll(async () => {
    await f?.close();
    await idp?.close();
  });

  /** Follows the start URL through the provider and Sigil's callback: the address the app is sent back to. */
  async function browse(startUrl: string): Promise<string> {
    const atSigil = await fetch(startUrl, { redirect: 'manual' });
    expect(atSigil.status).toBe(302);
    const atProvider = await fetch(atSigil.headers.get('location')!, { redirect: 'manual' });
    const callback = new URL(atProvider.headers.get('location')!);
    const back = await fetch(`${f.url}${callback.pathname}${callback.search}`, { redirect: 'manual' });
    expect(back.status).toBe(302);
    return back.headers.get('location')!;
  }

  it('lists providers, signs in through the provider, cleans the address, then links and unlinks', async () => {
    const client = nodeClient(f.url);
    expect(await client.auth.providers()).toEqual([{ name: 'corp', label: 'corp', type: 'oidc' }]);

    const storage = memoryStorage();
    let navigated = '';
    idp.user = { sub: uniqueUser('sub'), preferred_username: uniqueUser('grace') };
    await client.auth.signInWithProvider('corp', { redirectUrl: APP, storage, navigate: (url) => (navigated = url) });
    expect(navigated.startsWith(`${f.url}/api/auth/oauth/corp/start?`)).toBe(true);
    expect(storage.items.size).toBe(1);
    const returned = await browse(navigated);
    expect(returned.startsWith(`${APP}#code=`)).toBe(true);

    let cleaned = '';
    const done = await client.auth.completeProviderSignIn({ url: returned, storage, replaceUrl: (url) => (cleaned = url) });
    expect(done).toMatchObject({ kind: 'signed-in', user: { username: idp.user.preferred_username } });
    expect(cleaned).toBe(APP);
    expect(storage.items.size).toBe(0);
    expect(client.auth.session?.user.username).toBe(idp.user.preferred_username);
    const identities = await client.auth.identities();
    expect(identities.map((i) => [i.provider, i.email])).toEqual([['corp', null]]);
    expect(Date.parse(identities[0]!.createdAt)).not.toBeNaN();
    // Nothing in the address: nothing to do.
    expect(await client.auth.completeProviderSignIn({ url: APP, storage })).toBeNull();
    await expect(client.auth.unlinkProvider('corp')).rejects.toMatchObject({ code: 'conflict', status: 409 });

    // A password user links the provider account while signed in.
    const other = nodeClient(f.url);
    await other.auth.register({ username: uniqueUser('pw'), password: PASSWORD });
    idp.user = { sub: uniqueUser('sub') };
    let linkUrl = '';
    await other.auth.linkProvider('corp', { redirectUrl: APP, navigate: (url) => (linkUrl = url) });
    const afterLink = await fetch(linkUrl, { redirect: 'manual' });
    const cb = new URL(afterLink.headers.get('location')!);
    const back = await fetch(`${f.url}${cb.pathname}${cb.search}`, { redirect: 'manual' });
    expect(await other.auth.completeProviderSignIn({ url: back.headers.get('location')!, storage, replaceUrl: () => undefined })).toEqual({ kind: 'linked', provider: 'corp' });
    expect((await other.auth.identities()).map((i) => i.provider)).toEqual(['corp']);
    await other.auth.unlinkProvider('corp');
    expect(await other.auth.identities()).toEqual([]);
    client.close();
    other.close();
  });

  it('rejects with the server\'s error: a failed sign-in, a replayed code, another tab\'s code', async () => {
    const client = nodeClient(f.url);
    await expect(client.auth.completeProviderSignIn({ url: `${APP}#error=unauthorized&message=The%20ID%20token%20does%20not%20verify.`, storage: memoryStorage(), replaceUrl: () => undefined }))
      .rejects.toMatchObject({ code: 'unauthorized', message: 'The ID token does not verify.' });
    const storage = memoryStorage();
    let navigated = '';
    idp.user = { sub: uniqueUser('sub') };
    await client.auth.signInWithProvider('corp', { redirectUrl: APP, storage, navigate: (url) => (navigated = url) });
    const returned = await browse(navigated);
    const copy = memoryStorage();
    copy.setItem('sigil.oauth.verifier', storage.getItem('sigil.oauth.verifier')!);
    await expect(client.auth.completeProviderSignIn({ url: returned, storage: memoryStorage(), replaceUrl: () => undefined })).rejects.toMatchObject({ code: 'unauthorized' });
    await client.auth.completeProviderSignIn({ url: returned, storage, replaceUrl: () => undefined });
    await expect(client.auth.completeProviderSignIn({ url: returned, storage: copy, replaceUrl: () => undefined })).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    client.close();
  });
});
