import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BROWSER, signIn, startHarness, type Harness } from './harness.js';

const SCHEMA = { type: 'object', properties: { title: { type: 'string' } } };

describe.skipIf(NO_BROWSER)('the dashboard: live change log', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    for (const name of ['posts', 'comments']) expect((await h.api('POST', '/api/collections', { name, schema: SCHEMA })).status).toBe(201);
  }, 60_000);
  afterAll(async () => h?.close());

  const create = async (collection: string, title: string): Promise<{ id: string }> => {
    const res = await h.api<{ id: string }>('POST', `/api/collections/${collection}/records`, { title });
    expect(res.status).toBe(201);
    return res.body;
  };
  const seqs = async (page: Page): Promise<number[]> => Promise.all((await page.locator('tbody tr[data-seq]').all()).map(async (row) => Number(await row.getAttribute('data-seq'))));

  it('streams changes of every collection as they commit, newest first; filters; pauses and resumes', { timeout: 60_000 }, async () => {
    const page = await h.open({ hash: '#/changes' });
    await signIn(page);
    await page.getByRole('heading', { name: 'Change log' }).waitFor();
    await page.getByText('Showing changes as they commit').waitFor();
    await expect.poll(async () => (await h.api<{ realtime: { subscriptions: number } }>('GET', '/api/admin/status')).body.realtime.subscriptions).toBe(2);

    const post = await create('posts', 'hello');
    const comment = await create('comments', 'first!');
    const patched = await h.api('PATCH', `/api/collections/posts/records/${post.id}`, { title: 'hello, world' });
    expect(patched.status).toBe(200);
    await expect.poll(() => seqs(page)).toHaveLength(3);
    const shown = await seqs(page);
    expect(shown).toEqual([...shown].sort((a, b) => b - a));
    const top = page.locator('tbody tr').first();
    expect(await top.textContent()).toMatch(/posts.*update/);
    expect(await page.locator('tbody tr').filter({ hasText: comment.id }).textContent()).toMatch(/comments.*create/);

    await page.getByLabel('Collection').selectOption('comments');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Collection').selectOption('');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);

    await page.getByRole('button', { name: 'Pause' }).click();
    await h.api('DELETE', `/api/collections/posts/records/${post.id}`);
    await page.getByText('Paused: 1 new change waiting').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(3);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(4);
    expect(await page.locator('tbody tr').first().textContent()).toMatch(/posts.*delete/);
    await page.context().close();
  });

  it('picks up a collection created while it is open', { timeout: 60_000 }, async () => {
    const page = await h.open({ hash: '#/changes' });
    await signIn(page);
    await page.getByText('Showing changes as they commit').waitFor();
    expect((await h.api('POST', '/api/collections', { name: 'later', schema: SCHEMA })).status).toBe(201);
    await page.getByLabel('Collection').getByRole('option', { name: 'later' }).waitFor({ state: 'attached', timeout: 10_000 });
    const rec = await create('later', 'new here');
    await page.locator('tbody tr').filter({ hasText: rec.id }).waitFor();
    await page.context().close();
  });
});
