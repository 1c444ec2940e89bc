import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../../server/test/helpers/smtp-sink.js';
import { ADMIN, NO_BROWSER, seriousViolations, signIn, startHarness, type Harness } from './harness.js';

interface User { username: string; role: string; disabled: boolean }

describe.skipIf(NO_BROWSER)('the dashboard: users', () => {
  let h: Harness;
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    h = await startHarness({ SMTP_URL: smtp.url, MAIL_FROM: 'no-reply@app.example' });
    for (const name of ['carol_ops', 'dave_dev', 'erin_dev']) {
      const res = await h.api('POST', '/api/auth/register', { username: name, password: 'correct horse battery', email: `${name}@example.com` });
      expect(res.status).toBe(201);
    }
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await smtp?.close();
  });

  const user = async (name: string): Promise<User> => (await h.api<{ user: User }>('GET', `/api/users/${name}`)).body.user;

  it('searches, promotes, demotes, disables and enables; refuses to demote the last admin in words', { timeout: 60_000 }, async () => {
    const page = await h.open({ hash: '#/users' });
    await signIn(page);
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.locator('tr[data-username="erin_dev"]').waitFor();

    await page.getByRole('searchbox', { name: 'Search' }).fill('DEV');
    await expect.poll(async () => Promise.all((await page.locator('tbody tr').all()).map((row) => row.getAttribute('data-username')))).toEqual(['dave_dev', 'erin_dev']);
    await page.getByRole('searchbox', { name: 'Search' }).fill('ops@example');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('searchbox', { name: 'Search' }).fill('nobody-like-this');
    await page.getByText('No user matches').waitFor();
    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await page.locator('tr[data-username="carol_ops"]').waitFor();

    await page.getByRole('button', { name: 'Promote carol_ops' }).click();
    await page.getByRole('status').filter({ hasText: 'carol_ops is now an admin' }).waitFor();
    expect((await user('carol_ops')).role).toBe('admin');
    await page.getByRole('button', { name: 'Demote carol_ops' }).click();
    await page.getByRole('status').filter({ hasText: 'carol_ops is now a user' }).waitFor();
    expect((await user('carol_ops')).role).toBe('user');

    await page.getByRole('button', { name: 'Disable dave_dev' }).click();
    await page.locator('tr[data-username="dave_dev"]').getByText('disabled').waitFor();
    expect((await user('dave_dev')).disabled).toBe(true);
    const login = await h.api('POST', '/api/auth/login', { username: 'dave_dev', password: 'correct horse battery' });
    expect(login.status).toBe(403);
    await page.getByRole('button', { name: 'Enable dave_dev' }).click();
    await expect.poll(async () => (await user('dave_dev')).disabled).toBe(false);

    await page.getByRole('button', { name: `Demote ${ADMIN.username}` }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/admin/i);
    expect(await alert.textContent()).toContain('conflict');
    expect((await user(ADMIN.username)).role).toBe('admin');
    await page.context().close();
  });

  it('deletes a user only after confirming in a dialog (keyboard: Escape cancels)', { timeout: 60_000 }, async () => {
    const page = await h.open({ hash: '#/users' });
    await signIn(page);
    await page.getByRole('button', { name: 'Delete erin_dev' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Delete erin_dev?' });
    await dialog.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await h.api('GET', '/api/users/erin_dev')).status).toBe(200);

    await page.getByRole('button', { name: 'Delete erin_dev' }).click();
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted erin_dev' }).waitFor();
    expect(await page.locator('tr[data-username="erin_dev"]').count()).toBe(0);
    expect((await h.api('GET', '/api/users/erin_dev')).status).toBe(404);
    await page.context().close();
  });

  it('shows whether each address is verified, and resends a verification link', { timeout: 60_000 }, async () => {
    const link = async (to: string): Promise<string> => /\/verify-email#token=([A-Za-z0-9_-]+)/.exec((await smtp.next(to, 10_000)).text)![1]!;
    // carol verifies from her registration mail; dave does not.
    expect((await h.api('POST', '/api/auth/verify-email', { token: await link('carol_ops@example.com') })).status).toBe(204);
    const first = await link('dave_dev@example.com');
    const page = await h.open({ hash: '#/users' });
    await signIn(page);
    const carol = page.locator('tr[data-username="carol_ops"]');
    const dave = page.locator('tr[data-username="dave_dev"]');
    await carol.getByText('verified', { exact: true }).waitFor();
    await dave.getByText('unverified', { exact: true }).waitFor();
    expect(await carol.getByRole('button', { name: /Resend verification/ }).count()).toBe(0);
    expect(await page.locator(`tr[data-username="${ADMIN.username}"]`).getByText(/verified/).count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Resend verification to dave_dev' }).click();
    await page.getByRole('status').filter({ hasText: 'A new verification link is on its way to dave_dev' }).waitFor();
    const second = await link('dave_dev@example.com');
    expect(second).not.toBe(first);
    expect((await h.api('POST', '/api/auth/verify-email', { token: second })).status).toBe(204);

    // Refusals in the server's words: dave is verified now.
    await page.getByRole('button', { name: 'Resend verification to dave_dev' }).click();
    await page.getByRole('alert').filter({ hasText: 'already verified' }).waitFor();
    await page.reload();
    await dave.getByText('verified', { exact: true }).waitFor();
    await page.context().close();
  });
});
