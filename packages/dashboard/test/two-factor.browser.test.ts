/**
 * Two-factor in the dashboard, in Chromium against `sigil serve`: the users
 * screen shows each user's state and resets it after a confirmation, and an
 * admin with two-factor on signs in with a TOTP code (an RFC 6238 of the
 * test's own, on the real clock) or a recovery code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceTotp } from '../../server/test/helpers/totp-reference.js';
import { NO_BROWSER, seriousViolations, signIn, startHarness, type Harness } from './harness.js';

const PASSWORD = 'correct horse battery';

interface User { username: string; twoFactorEnabled: boolean }

describe.skipIf(NO_BROWSER)('the dashboard: two-factor authentication', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);
  afterAll(async () => h?.close());

  /** Registers `username` (an admin if asked) and turns two-factor on over HTTP; returns the secret and recovery codes. */
  async function enrolled(username: string, admin = false): Promise<{ secret: string; recoveryCodes: string[] }> {
    const registered = await h.api<{ accessToken: string }>('POST', '/api/auth/register', { username, password: PASSWORD });
    expect(registered.status).toBe(201);
    if (admin) expect((await h.api('PATCH', `/api/users/${username}`, { role: 'admin' })).status).toBe(200);
    const token = registered.body.accessToken;
    const setup = await h.api<{ secret: string }>('POST', '/api/auth/2fa/setup', { password: PASSWORD }, token);
    expect(setup.status).toBe(200);
    const enable = await h.api<{ recoveryCodes: string[] }>('POST', '/api/auth/2fa/enable', { code: referenceTotp(setup.body.secret, Date.now()) }, token);
    expect(enable.status).toBe(200);
    return { secret: setup.body.secret, recoveryCodes: enable.body.recoveryCodes };
  }

  const user = async (name: string): Promise<User> => (await h.api<{ user: User }>('GET', `/api/users/${name}`)).body.user;

  it('shows who has two-factor on and resets it only after confirming', { timeout: 60_000 }, async () => {
    await enrolled('frank_2fa');
    expect((await h.api('POST', '/api/auth/register', { username: 'gina_plain', password: PASSWORD })).status).toBe(201);
    const page = await h.open({ hash: '#/users' });
    await signIn(page);
    const frank = page.locator('tr[data-username="frank_2fa"]');
    await frank.waitFor();
    expect(await frank.locator('td').nth(2).textContent()).toBe('on');
    expect(await page.locator('tr[data-username="gina_plain"] td').nth(2).textContent()).toBe('off');
    expect(await page.getByRole('button', { name: 'Reset 2FA gina_plain' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Reset 2FA frank_2fa' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset two-factor authentication of frank_2fa?' });
    await dialog.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await user('frank_2fa')).twoFactorEnabled).toBe(true);

    await page.getByRole('button', { name: 'Reset 2FA frank_2fa' }).click();
    await dialog.getByRole('button', { name: 'Reset 2FA' }).click();
    await page.getByRole('status').filter({ hasText: 'Two-factor authentication of frank_2fa is off' }).waitFor();
    expect(await frank.locator('td').nth(2).textContent()).toBe('off');
    expect((await user('frank_2fa')).twoFactorEnabled).toBe(false);
    expect((await h.api('POST', '/api/auth/login', { username: 'frank_2fa', password: PASSWORD })).status).toBe(200);
    expect(h.problems).toEqual([]);
    await page.context().close();
  });

  it('an admin with two-factor on signs in with a code; a wrong one is refused in words', { timeout: 60_000 }, async () => {
    const { secret } = await enrolled('hana_admin', true);
    const page = await h.open({ hash: '#/users' });
    await signIn(page, 'hana_admin', PASSWORD);
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('Code').fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('invalid_credentials');
    // The step after the one the enrolment spent.
    await page.getByLabel('Code').fill(referenceTotp(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.locator('tr[data-username="hana_admin"]').waitFor();
    expect(await page.evaluate<number>('localStorage.length')).toBeGreaterThan(0);
    // The browser logs the two 401s (the challenge, the wrong code); nothing else went wrong.
    expect(h.problems.filter((p) => !p.includes('status of 401'))).toEqual([]);
    await page.context().close();
  });

  it('an admin signs in with a recovery code, once', { timeout: 60_000 }, async () => {
    const { recoveryCodes } = await enrolled('ivan_admin', true);
    const page = await h.open({ hash: '#/users' });
    await signIn(page, 'ivan_admin', PASSWORD);
    await page.getByLabel('Code').fill(recoveryCodes[0]!.toUpperCase());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.context().close();

    const again = await h.open({ hash: '#/users' });
    await signIn(again, 'ivan_admin', PASSWORD);
    await again.getByLabel('Code').fill(recoveryCodes[0]!);
    await again.getByRole('button', { name: 'Verify' }).click();
    await again.getByRole('alert').filter({ hasText: 'invalid_credentials' }).waitFor();
    // Back to the password form.
    await again.getByRole('button', { name: 'Back' }).click();
    await again.getByLabel('Username').waitFor();
    await again.context().close();
  });
});
