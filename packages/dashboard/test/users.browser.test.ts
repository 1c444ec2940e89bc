import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, NO_BROWSER, seriousViolations, signIn, startHarness, type Harness } from './harness.js';

interface User { username: string; role: string; disabled: boolean }

describe.skipIf(NO_BROWSER)('the dashboard: users', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    for (const name of ['carol_ops', 'dave_dev', 'erin_dev']) {
      const res = await h.api('POST', '/api/auth/register', { username: name, password: 'correct horse battery', email: `${name}@example.com` });
      expect(res.status).toBe(201);
    }
  }, 60_000);
  afterAll(async () => h?.close());

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
});
