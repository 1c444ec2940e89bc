import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BROWSER, seriousViolations, signIn, startHarness, type Harness } from './harness.js';

const DIST = join(import.meta.dirname, '../dist');
const BUDGET_GZIP_BYTES = 150 * 1024;

describe.skipIf(NO_BROWSER)('the dashboard: serving, sign-in, the server screen', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);
  afterAll(async () => h?.close());

  it('is served at /_/ with a strict policy, its files cached for good, gzipped', async () => {
    const page = await fetch(`${h.url}/_/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const script = /<script[^>]+src="(\/_\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(h.url + script, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    const again = await fetch(h.url + script, { headers: { 'if-none-match': asset.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${h.url}/_/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${h.url}/_`, { redirect: 'manual' })).headers.get('location')).toBe('/_/');
    const root = await fetch(`${h.url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/_/']);
  });

  it(`loads under ${BUDGET_GZIP_BYTES / 1024} kB of gzipped JavaScript on first load`, async () => {
    const html = readFileSync(join(DIST, 'index.html'), 'utf8');
    const entry = [...html.matchAll(/(?:src|href)="\/_\/assets\/([^"]+\.js)"/g)].map((m) => m[1]!);
    expect(entry.length).toBeGreaterThan(0);
    const firstLoad = entry.reduce((n, f) => n + gzipSync(readFileSync(join(DIST, 'assets', f)), { level: 9 }).length, 0);
    const all = readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.js'));
    console.log(`dashboard first-load JavaScript: ${firstLoad} B gzipped (${entry.join(', ')}; ${all.length} chunks in all)`);
    expect(firstLoad).toBeLessThan(BUDGET_GZIP_BYTES);
  });

  it('signs an admin in, keeps the session across a reload, signs out', { timeout: 30_000 }, async () => {
    const page = await h.open();
    await expect.poll(() => page.getByRole('heading', { name: 'Sigil dashboard' }).isVisible()).toBe(true);
    await signIn(page, 'root_admin', 'wrong password');
    await page.getByRole('alert').filter({ hasText: /username or password/i }).waitFor();
    await signIn(page);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('heading', { name: 'Collections' }).waitFor();
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.context().close();
    expect(h.problems.filter((p) => !p.includes('401'))).toEqual([]);
  });

  it('is usable from the keyboard: sign in, then every section of the navigation by Tab and Enter', { timeout: 30_000 }, async () => {
    const page = await h.open();
    await page.getByLabel('Username').focus();
    await page.keyboard.type('root_admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type('admin password 1');
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    for (const [label, heading] of [['Users', 'Users'], ['Change log', 'Change log'], ['Server', 'Server'], ['Collections', 'Collections']] as const) {
      await page.locator('body').focus();
      for (let i = 0; i < 12; i++) {
        await page.keyboard.press('Tab');
        if ((await page.evaluate('document.activeElement && document.activeElement.textContent')) === label) break;
      }
      expect(await page.evaluate('document.activeElement.textContent')).toBe(label);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    }
    await page.context().close();
  });

  it('tells a signed-in user who is not an admin what is wrong, and lets them sign out', { timeout: 30_000 }, async () => {
    const reg = await h.api('POST', '/api/auth/register', { username: 'plain_user', password: 'correct horse battery' });
    expect(reg.status).toBe(201);
    const page = await h.open();
    await signIn(page, 'plain_user', 'correct horse battery');
    await page.getByRole('heading', { name: 'Admins only' }).waitFor();
    expect(await page.getByText('plain_user').first().isVisible()).toBe(true);
    await page.getByRole('button', { name: /sign out/i }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.context().close();
  });

  it('shows the server status: engine, version, connections, change log', { timeout: 30_000 }, async () => {
    const page = await h.open({ hash: '#/server' });
    await signIn(page);
    await page.getByRole('heading', { name: 'Server' }).waitFor();
    await page.getByText('SQLite (embedded)').waitFor();
    const status = (await h.api<{ version: string }>('GET', '/api/admin/status')).body;
    expect(await page.getByText(status.version, { exact: true }).isVisible()).toBe(true);
    expect(Number(await page.getByTestId('connections').textContent())).toBeGreaterThanOrEqual(0);
    expect(await page.getByTestId('change-log').textContent()).toMatch(/changes/);
    await page.context().close();
  });

  for (const width of [375, 1440]) {
    it(`has no serious or critical accessibility violation on sign-in and every screen at ${width} px`, { timeout: 60_000 }, async () => {
      const page = await h.open({ width });
      expect(await seriousViolations(page)).toEqual([]);
      await signIn(page);
      for (const hash of ['#/collections', '#/users', '#/changes', '#/server']) {
        await page.goto(`${h.url}/_/${hash}`);
        await page.locator('h1').first().waitFor();
        expect({ hash, violations: await seriousViolations(page) }).toEqual({ hash, violations: [] });
        const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        expect({ hash, overflow }).toEqual({ hash, overflow: 0 });
      }
      await page.context().close();
    });
  }
});
