import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BROWSER, seriousViolations, startHarness, type Harness } from './harness.js';

const OLD = 'correct horse battery';
const NEW = 'a brand new passphrase';

/** The reset link of the newest mail the server logged (no SMTP_URL: development and test log each message). */
function lastResetLink(h: Harness): string | null {
  const links = [...h.server.stdout().matchAll(/(http:\/\/[^\s"\\]+\/reset-password#token=[A-Za-z0-9_-]+)/g)];
  return links.at(-1)?.[1] ?? null;
}

describe.skipIf(NO_BROWSER)('the password-reset page at /reset-password', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ LOG_LEVEL: 'info' });
    expect((await h.api('POST', '/api/auth/register', { username: 'forgetful', password: OLD, email: 'forgetful@example.com' })).status).toBe(201);
  }, 60_000);
  afterAll(async () => h?.close());

  it('follows the mailed link: sets a new password, ends the old sessions, and the link is spent', { timeout: 60_000 }, async () => {
    const session = await h.api<{ refreshToken: string }>('POST', '/api/auth/login', { username: 'forgetful', password: OLD });
    expect((await h.api('POST', '/api/auth/forgot-password', { email: 'Forgetful@Example.com' })).status).toBe(202);
    await expect.poll(() => lastResetLink(h), { timeout: 10_000 }).not.toBeNull();
    const mailed = new URL(lastResetLink(h)!);
    expect(mailed.pathname).toBe('/reset-password');
    // PUBLIC_URL defaults to HOST:PORT, and this server was started on port 0: follow the link on the port it got.
    const link = `${h.url}${mailed.pathname}${mailed.hash}`;

    const page = await h.open();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    expect(new URL(page.url()).hash).toBe(''); // the token leaves the address bar
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('New password').fill(NEW);
    await page.getByLabel('Repeat it').fill(`${NEW}x`);
    await page.getByText('The two passwords differ.').waitFor();
    expect(await page.getByRole('button', { name: 'Set the new password' }).isDisabled()).toBe(true);
    await page.getByLabel('Repeat it').fill(NEW);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'Password changed' }).waitFor();

    expect((await h.api('POST', '/api/auth/login', { username: 'forgetful', password: OLD })).status).toBe(401);
    expect((await h.api('POST', '/api/auth/login', { username: 'forgetful', password: NEW })).status).toBe(200);
    expect((await h.api('POST', '/api/auth/refresh', { refreshToken: session.body.refreshToken })).status).toBe(401);

    // The same link again (a new tab, as from the mail): refused in words.
    await page.context().close();
    const again = await h.open();
    await again.goto(link);
    await again.getByLabel('New password').fill('yet another passphrase');
    await again.getByLabel('Repeat it').fill('yet another passphrase');
    await again.getByRole('button', { name: 'Set the new password' }).click();
    await again.getByRole('alert').filter({ hasText: /invalid or expired/i }).waitFor();
    await again.context().close();
    expect(h.problems.filter((p) => !/\b401\b/.test(p))).toEqual([]);
  });

  it('says what is wrong with a link without a token; serves the page under the strict policy', { timeout: 30_000 }, async () => {
    const res = await fetch(`${h.url}/reset-password`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await h.open();
    await page.goto(`${h.url}/reset-password`);
    await page.getByRole('alert').filter({ hasText: 'no reset token' }).waitFor();
    await page.context().close();
  });
});
