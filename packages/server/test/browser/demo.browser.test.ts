import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, register, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';

/**
 * The demo page (GET /demo/) in a real browser: Debian's chromium driven by
 * playwright-core. Browsers are never downloaded. Without chromium the suite
 * is skipped with a loud notice, except on CI, where it fails.
 */
// CHROMIUM_PATH points elsewhere where Debian's package is not at hand (e.g. /usr/bin/google-chrome on a GitHub runner).
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
const onCi = Boolean(process.env['CI']);
if (missing && !onCi) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPING the browser tests: ${CHROMIUM} not found.\n!! Install Debian's chromium (apt-get install -y chromium); on CI this is a failure.\n${'!'.repeat(78)}\n`,
  );
}

/** A test Sigil on a real port; the page it serves is same-origin for the realtime upgrade. */
function startOnOwnOrigin(env: Record<string, string> = {}): Promise<TestSigil> {
  return startTestSigil({ env, listen: true });
}

const SCHEMA = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } };
const PUBLIC = { list: 'public', view: 'public', create: 'public' };

describe.skipIf(missing && !onCi)('the demo page in chromium', () => {
  let t: TestSigil;
  let admin: Account;
  let browser: Browser;
  /** Console errors and uncaught exceptions of every page (CSP violations show up here). */
  const problems: string[] = [];

  beforeAll(async () => {
    if (missing) throw new Error(`${CHROMIUM} not found: CI must install Debian's chromium (see .ci/run)`);
    t = await startOnOwnOrigin();
    admin = await createAdmin(t);
    for (const [name, rules] of [['demo', PUBLIC], ['notes', {}]] as const) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: SCHEMA, rules } });
      expect(res.statusCode, res.body).toBe(201);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openPage(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.goto(`${t.url!}${path}`);
    return page;
  }

  const titleOf = (page: Page, id: string) => page.locator(`#records li[data-id="${id}"] .title`);

  async function create(collection: string, title: string, token?: string): Promise<string> {
    const res = await t.request({ method: 'POST', url: `/api/collections/${collection}/records`, body: { title }, ...(token ? { token } : {}) });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  it('keeps a live list: create, update and delete over HTTP show up; it resumes after a reconnect', { timeout: 30_000 }, async () => {
    const existing = await create('demo', 'already there');
    const response = await t.request({ method: 'GET', url: '/demo/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');

    const page = await openPage('/demo'); // redirects to /demo/
    expect(new URL(page.url()).pathname).toBe('/demo/');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await titleOf(page, existing).textContent()).toBe('already there');

    // Created outside the browser: appears. Record text is text, never markup.
    const hostile = '<img src=x onerror="window.pwned=1"> & "quotes"';
    const id = await create('demo', hostile);
    await titleOf(page, id).waitFor();
    expect(await titleOf(page, id).textContent()).toBe(hostile);
    expect(await page.locator('#records img').count()).toBe(0);

    const patched = await t.request({ method: 'PATCH', url: `/api/collections/demo/records/${id}`, token: admin.accessToken, body: { title: 'renamed over HTTP' } });
    expect(patched.statusCode, patched.body).toBe(200);
    await expect.poll(() => titleOf(page, id).textContent(), { timeout: 5_000 }).toBe('renamed over HTTP');

    const deleted = await t.request({ method: 'DELETE', url: `/api/collections/demo/records/${id}`, token: admin.accessToken });
    expect(deleted.statusCode).toBe(204);
    await page.locator(`#records li[data-id="${id}"]`).waitFor({ state: 'detached', timeout: 5_000 });

    // The page's own form posts a record; it arrives through the subscription.
    await page.fill('#add-title', 'added in the browser');
    await page.click('#add-form button[type="submit"]');
    await page.locator('#records li .title', { hasText: 'added in the browser' }).waitFor({ timeout: 5_000 });

    // The server drops every socket (1001); a write lands while the page is away; it resumes with `since`.
    t.sigil.realtime.hub.closeAll();
    await page.waitForSelector('#status:not([data-state="live"])', { timeout: 5_000 });
    const missed = await create('demo', 'written while disconnected');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await titleOf(page, missed).waitFor({ timeout: 5_000 });
    expect(await page.locator('#records li').count()).toBe(3);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();

    const shot = join(mkdtempSync(join(tmpdir(), 'sigil-demo-')), 'demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`demo page screenshot: ${shot}`);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a collection that needs a user: refused anonymously, live after signing in with the form', { timeout: 30_000 }, async () => {
    const user = await register(t);
    const before = await create('notes', 'a note', user.accessToken);
    const page = await openPage('/demo/?collection=notes');
    await page.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
    expect(await page.locator('#error').textContent()).toMatch(/sign in/i);

    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.locator('#who').textContent()).toContain(user.username);
    expect(await titleOf(page, before).textContent()).toBe('a note');

    const id = await create('notes', 'a second note', user.accessToken);
    await titleOf(page, id).waitFor({ timeout: 5_000 });
    // 404 on the list is expected while anonymous (a collection you may not read is not found); nothing else may go wrong.
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    await page.close();
  });

  it('refreshes an expired access token on auth_expired and stays live', { timeout: 30_000 }, async () => {
    const short = await startOnOwnOrigin({ ACCESS_TOKEN_TTL: '2s' });
    try {
      const shortAdmin = await createAdmin(short);
      const res = await short.request({ method: 'POST', url: '/api/collections', token: shortAdmin.accessToken, body: { name: 'notes', schema: SCHEMA } });
      expect(res.statusCode, res.body).toBe(201);
      const user = await register(short);
      const page = await browser.newPage();
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      let refreshes = 0;
      page.on('request', (r) => {
        if (r.url().endsWith('/api/auth/refresh')) refreshes += 1;
      });
      const frames: string[] = [];
      page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => frames.push((JSON.parse(String(payload)) as { type: string }).type)));
      await page.goto(`${short.url!}/demo/?collection=notes`);
      await page.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
      await page.fill('#username', user.username);
      await page.fill('#password', user.password);
      await page.click('#signin-form button[type="submit"]');
      await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });

      // The token expires after 2 s: the server says auth_expired, the page refreshes and sends a new auth.
      await expect.poll(() => frames.filter((f) => f === 'authed').length, { timeout: 6_000, interval: 100 }).toBe(2);
      expect(frames.filter((f) => f === 'auth_expired')).toHaveLength(1);
      expect(refreshes).toBe(1);
      const writer = await register(short);
      const res2 = await short.request({ method: 'POST', url: '/api/collections/notes/records', token: writer.accessToken, body: { title: 'after the refresh' } });
      expect(res2.statusCode, res2.body).toBe(201);
      await titleOf(page, res2.json<{ id: string }>().id).waitFor({ timeout: 5_000 });
      expect(await page.locator('#status').getAttribute('data-state')).toBe('live');
      await page.close();
    } finally {
      await short.close();
    }
  });
});
