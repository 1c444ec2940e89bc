/**
 * Signing in to the dashboard with a real OpenID Connect provider: the
 * oidc-provider package as its own process, `sigil serve` as another, and
 * Chromium walking the whole redirect flow — the dashboard's button, the
 * provider's login and consent pages, Sigil's callback, back to /_/ with
 * the sign-in code, exchanged for a session. The account is made by the
 * first sign-in; the dashboard admits it once it has the admin role.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProviderProcess, type OidcProviderProcess } from '../../server/test/helpers/oidc-provider-process.js';
import { NO_BROWSER, startHarness, type Harness } from './harness.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(NO_BROWSER)('dashboard sign-in with an OpenID Connect provider', () => {
  let h: Harness;
  let idp: OidcProviderProcess;
  let sigilUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    sigilUrl = `http://127.0.0.1:${port}`;
    idp = await startOidcProviderProcess(`${sigilUrl}/api/auth/oauth/corp/callback`);
    h = await startHarness({
      PORT: String(port),
      SERVER_URL: sigilUrl,
      OIDC_PROVIDERS: 'corp',
      OIDC_CORP_ISSUER: idp.issuer,
      OIDC_CORP_CLIENT_ID: idp.clientId,
      OIDC_CORP_CLIENT_SECRET: idp.clientSecret,
      OIDC_CORP_LABEL: 'Corp SSO',
    });
    expect(h.url).toBe(sigilUrl);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await idp?.stop();
  });

  it('walks the redirect flow from the sign-in button to a session, and an admin role opens the dashboard', { timeout: 60_000 }, async () => {
    const page = await h.open();
    await page.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
    // The provider's own login page (development interactions: any login, any password).
    await page.waitForURL((url) => url.origin === idp.issuer);
    await page.locator('input[name="login"]').fill('grace.h');
    await page.locator('input[name="password"]').fill('anything');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    // Back on the dashboard, signed in; the code has left the address bar.
    await page.getByText('who is not an admin').waitFor({ timeout: 15_000 });
    expect(await page.getByText('grace.h', { exact: true }).count()).toBeGreaterThan(0);
    expect(new URL(page.url()).pathname).toBe('/_/');
    expect(new URL(page.url()).hash).toBe('');

    const users = await h.api<{ items: { username: string; email: string; emailVerified: boolean }[] }>('GET', '/api/users?search=grace');
    expect(users.body.items).toEqual([expect.objectContaining({ username: 'grace.h', email: 'grace.h@idp.example', emailVerified: true })]);
    expect((await h.api('PATCH', '/api/users/grace.h', { role: 'admin' })).status).toBe(200);

    // The next sign-in finds the same account (no grace.h-2), now an admin: the dashboard opens.
    const again = await h.open();
    await again.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
    await again.waitForURL((url) => url.origin === idp.issuer);
    await again.locator('input[name="login"]').fill('grace.h');
    await again.locator('input[name="password"]').fill('anything');
    await again.getByRole('button', { name: 'Sign-in' }).click();
    await again.getByRole('button', { name: 'Continue' }).click();
    await again.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 15_000 });
    expect(await again.getByText('who is not an admin').count()).toBe(0);
    expect((await h.api<{ items: unknown[] }>('GET', '/api/users?search=grace')).body.items).toHaveLength(1);
  });
});
