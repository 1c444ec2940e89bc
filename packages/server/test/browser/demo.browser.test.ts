import { mkdtempSync } from 'node:fs';
import { launchChromium, skipWithoutChromium } from '../helpers/chromium.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, register, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';

/**
 * The demo page (GET /demo/, packages/server/demo/ on @sigil/client, bundled
 * into dist/demo/) in a real browser: Debian's chromium driven by
 * playwright-core. Browsers are never downloaded. Without chromium the suite
 * is skipped with a loud notice, except on CI, where it fails.
 */
const SKIP = skipWithoutChromium('the demo browser tests');

/** A test Sigil on a real port; the page it serves is same-origin for the realtime upgrade. */
function startOnOwnOrigin(env: Record<string, string> = {}): Promise<TestSigil> {
  return startTestSigil({ env, listen: true });
}

const SCHEMA = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } };
const PUBLIC = { list: 'public', view: 'public', create: 'public' };

/** What the init script keeps on the page: every CSP violation it reported. */
interface Watched {
  violations: string[];
  states: string[];
}

describe.skipIf(SKIP)('the demo page in chromium', () => {
  let t: TestSigil;
  let admin: Account;
  let browser: Browser;
  /** Console errors and uncaught exceptions of every page (CSP violations show up here too). */
  const problems: string[] = [];

  beforeAll(async () => {
    t = await startOnOwnOrigin();
    admin = await createAdmin(t);
    for (const [name, rules] of [['demo', PUBLIC], ['notes', {}]] as const) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: SCHEMA, rules } });
      expect(res.statusCode, res.body).toBe(201);
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A page in a fresh context (its own localStorage), watching for CSP violations from before the first script runs. */
  async function openPage(url: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.addInitScript(() => {
      const w = globalThis as unknown as Watched & { document: { addEventListener(type: string, l: (e: { violatedDirective: string; blockedURI: string }) => void): void } };
      w.violations = [];
      w.document.addEventListener('securitypolicyviolation', (e) => w.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await page.goto(url);
    return page;
  }
  const violations = (page: Page): Promise<string[]> => page.evaluate(() => (globalThis as unknown as Watched).violations);

  const row = (page: Page, id: string) => page.locator(`#records li[data-id="${id}"]`);
  const titleOf = (page: Page, id: string) => row(page, id).locator('.title');
  const titles = (page: Page) => page.locator('#records li .title').allTextContents();

  async function create(collection: string, title: string, token?: string): Promise<string> {
    const res = await t.request({ method: 'POST', url: `/api/collections/${collection}/records`, body: { title }, ...(token ? { token } : {}) });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  async function signIn(page: Page, account: Account, button: '#signin' | '#register' = '#signin'): Promise<void> {
    await page.fill('#username', account.username);
    await page.fill('#password', account.password);
    await page.click(button);
  }

  it('serves the page under a strict policy with no inline code, and runs it without a violation', async () => {
    const response = await fetch(`${t.url!}/demo/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy')!.split('; ');
    const host = new URL(t.url!).host;
    expect(csp).toEqual([
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      `connect-src 'self' ws://${host} wss://${host}`,
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
      "require-trusted-types-for 'script'",
      "trusted-types 'none'",
    ]);
    const page = await openPage(`${t.url!}/demo/`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await violations(page)).toEqual([]);
    expect(problems).toEqual([]);

    // The control: the listener does report what the policy refuses (an inline script, a string into innerHTML).
    await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { createElement(t: string): { setAttribute(n: string, v: string): void }; body: { append(n: unknown): void } } }).document;
      const img = d.createElement('img');
      img.setAttribute('src', 'https://elsewhere.example/x.png');
      d.body.append(img);
    });
    const htmlSink = await page.evaluate(() => {
      try {
        (globalThis as unknown as { document: { body: { innerHTML: string } } }).document.body.innerHTML += '<b>markup</b>';
        return 'assigned';
      } catch (error) {
        return String(error);
      }
    });
    expect(htmlSink).toMatch(/TrustedHTML/);
    await expect.poll(() => violations(page)).toEqual(expect.arrayContaining([expect.stringMatching(/^img-src https:\/\/elsewhere\.example/), expect.stringMatching(/^require-trusted-types-for/)]));
    await page.close();
    problems.length = 0; // the control's refusals are logged as console errors on purpose
  });

  it('keeps a live list: HTTP writes show up, filter and sort, the form adds; it resumes after a reconnect', { timeout: 40_000 }, async () => {
    const existing = await create('demo', 'already there');
    const page = await openPage(`${t.url!}/demo`); // redirects to /demo/
    expect(new URL(page.url()).pathname).toBe('/demo/');
    const frames: { dir: 'in' | 'out'; message: { type: string; since?: number; id?: string } }[] = [];
    page.on('websocket', (ws) => {
      ws.on('framesent', ({ payload }) => frames.push({ dir: 'out', message: JSON.parse(String(payload)) as { type: string } }));
      ws.on('framereceived', ({ payload }) => frames.push({ dir: 'in', message: JSON.parse(String(payload)) as { type: string } }));
    });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.locator('#collection-name').textContent()).toBe('demo');
    expect(await titleOf(page, existing).textContent()).toBe('already there');
    expect(await page.locator('#banner').isHidden()).toBe(true);

    // Created outside the browser: appears. Record text is text, never markup.
    const hostile = '<img src=x onerror="window.pwned=1"> & "quotes"';
    const id = await create('demo', hostile);
    await titleOf(page, id).waitFor();
    expect(await titleOf(page, id).textContent()).toBe(hostile);
    expect(await page.locator('#records img').count()).toBe(0);

    const patched = await t.request({ method: 'PATCH', url: `/api/collections/demo/records/${id}`, token: admin.accessToken, body: { title: 'renamed over HTTP' } });
    expect(patched.statusCode, patched.body).toBe(200);
    await expect.poll(() => titleOf(page, id).textContent(), { timeout: 5_000 }).toBe('renamed over HTTP');
    expect(await row(page, id).locator('.meta').textContent()).toBe(`v2 · ${id}`);

    const deleted = await t.request({ method: 'DELETE', url: `/api/collections/demo/records/${id}`, token: admin.accessToken });
    expect(deleted.statusCode).toBe(204);
    await row(page, id).waitFor({ state: 'detached', timeout: 5_000 });

    // The page's own form posts a record; it arrives through the subscription.
    await page.fill('#add-title', 'added in the browser');
    await page.click('#add-form button[type="submit"]');
    await page.locator('#records li .title', { hasText: 'added in the browser' }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#add-title').inputValue()).toBe('');

    // Anonymous edits of the public list are refused by its update rule (owner), and the page says why.
    await page.locator('#records li', { hasText: 'already there' }).locator('button.edit').click();
    await page.fill('#records li input.edit-title', 'anonymous edit');
    await page.click('#records li .edit-form button[type="submit"]');
    await expect.poll(() => page.locator('#error').textContent(), { timeout: 5_000 }).toMatch(/Saving failed: .*Sign in first/);
    await page.click('#records li .edit-form button.secondary'); // cancel
    expect(await titleOf(page, existing).textContent()).toBe('already there');

    // Filter (title contains) and sort: a new live query; a matching write lands in its place, a non-matching one stays out.
    await create('demo', 'apple pie');
    await page.locator('#records li .title', { hasText: 'apple pie' }).waitFor({ timeout: 5_000 });
    await page.fill('#filter-title', 'e');
    await page.selectOption('#sort', '-title');
    await expect.poll(() => titles(page), { timeout: 5_000 }).toEqual(['apple pie', 'already there', 'added in the browser']);
    await page.fill('#filter-title', 'pie');
    await expect.poll(() => titles(page), { timeout: 5_000 }).toEqual(['apple pie']);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await create('demo', 'cherry pie');
    await create('demo', 'not a match');
    await expect.poll(() => titles(page), { timeout: 5_000 }).toEqual(['cherry pie', 'apple pie']);
    await page.fill('#filter-title', 'nothing like this');
    await expect.poll(() => page.locator('#empty').textContent(), { timeout: 5_000 }).toBe('No records match.');
    await page.fill('#filter-title', '');
    await page.selectOption('#sort', 'createdAt');
    await expect.poll(() => titles(page), { timeout: 5_000 }).toEqual(['already there', 'added in the browser', 'apple pie', 'cherry pie', 'not a match']);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });

    // The server drops every socket (1001); a write lands while the page is away; it resumes with `since`.
    await page.evaluate(() => {
      type Observer = new (callback: () => void) => { observe(target: unknown, options: object): void };
      const w = globalThis as unknown as Watched & { MutationObserver: Observer; document: { getElementById(id: string): { dataset: { state?: string } } } };
      w.states = [];
      const status = w.document.getElementById('status');
      new w.MutationObserver(() => w.states.push(status.dataset.state ?? '')).observe(status, { attributes: true, attributeFilter: ['data-state'] });
    });
    const seqBefore = Number(await page.locator('#seq').textContent());
    const subscribesBefore = frames.filter((f) => f.message.type === 'subscribe').length;
    t.sigil.realtime.hub.closeAll();
    const missed = await create('demo', 'written while disconnected');
    await titleOf(page, missed).waitFor({ timeout: 10_000 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.evaluate(() => (globalThis as unknown as Watched).states)).toEqual(expect.arrayContaining(['resuming', 'live']));
    const resubscribe = frames.filter((f) => f.message.type === 'subscribe')[subscribesBefore];
    expect(resubscribe?.message.since).toBe(seqBefore);
    expect(await page.locator('#records li').count()).toBe(6);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();

    const shot = join(mkdtempSync(join(tmpdir(), 'sigil-demo-')), 'demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`demo page screenshot: ${shot}`);
    expect(await violations(page)).toEqual([]);
    // 401 is the refused anonymous edit; nothing else may go wrong.
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    await page.close();
  });

  it('a collection that needs a user: refused anonymously; sign-in, edit (If-Match), delete, reload, sign-out, register', { timeout: 40_000 }, async () => {
    const user = await register(t);
    const before = await create('notes', 'a note', user.accessToken);
    const page = await openPage(`${t.url!}/demo/?collection=notes`);
    await page.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
    expect(await page.locator('#error').textContent()).toMatch(/sign in/i);

    await page.fill('#username', user.username);
    await page.fill('#password', 'not the password');
    await page.click('#signin');
    await expect.poll(() => page.locator('#error').textContent(), { timeout: 5_000 }).toMatch(/^Sign-in failed: /);

    await signIn(page, user);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.locator('#who').textContent()).toBe(`${user.username} (user)`);
    expect(await titleOf(page, before).textContent()).toBe('a note');
    const id = await create('notes', 'a second note', user.accessToken);
    await titleOf(page, id).waitFor({ timeout: 5_000 });

    // Edit in the page: a merge patch with If-Match; the new title arrives over the socket.
    await row(page, before).locator('button.edit').click();
    await row(page, before).locator('input.edit-title').fill('edited in the page');
    await row(page, before).locator('.edit-form button[type="submit"]').click();
    await expect.poll(() => titleOf(page, before).textContent(), { timeout: 5_000 }).toBe('edited in the page');
    expect(await row(page, before).locator('.edit-form').count()).toBe(0);
    const got = await t.request({ method: 'GET', url: `/api/collections/notes/records/${before}`, token: user.accessToken });
    expect(got.json<{ title: string; version: number }>()).toMatchObject({ title: 'edited in the page', version: 2 });

    // A change made while the form is open: the save is refused (412) and the form takes the newer title.
    await row(page, id).locator('button.edit').click();
    const meanwhile = await t.request({ method: 'PATCH', url: `/api/collections/notes/records/${id}`, token: user.accessToken, body: { title: 'changed meanwhile' } });
    expect(meanwhile.statusCode).toBe(200);
    await expect.poll(() => titleOf(page, id).textContent(), { timeout: 5_000 }).toBe('changed meanwhile');
    await row(page, id).locator('input.edit-title').fill('stale edit');
    await row(page, id).locator('.edit-form button[type="submit"]').click();
    await expect.poll(() => page.locator('#error').textContent(), { timeout: 5_000 }).toMatch(/changed this record meanwhile/);
    expect(await row(page, id).locator('input.edit-title').inputValue()).toBe('changed meanwhile');
    const unchanged = await t.request({ method: 'GET', url: `/api/collections/notes/records/${id}`, token: user.accessToken });
    expect(unchanged.json<{ title: string }>().title).toBe('changed meanwhile');
    await row(page, id).locator('.edit-form button.secondary').click();

    // Delete in the page: the row goes when the delete arrives; the record is gone on the server.
    await row(page, id).locator('button.delete').click();
    await row(page, id).waitFor({ state: 'detached', timeout: 5_000 });
    expect((await t.request({ method: 'GET', url: `/api/collections/notes/records/${id}`, token: user.accessToken })).statusCode).toBe(404);

    // The session lives in localStorage: a reload is still signed in.
    await page.reload();
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.locator('#who').textContent()).toBe(`${user.username} (user)`);

    // Sign out: anonymous again, refused again; the server ended the session.
    const stored = () => page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('sigil.demo.session'));
    const refreshToken = (JSON.parse((await stored())!) as { refreshToken: string }).refreshToken;
    await page.click('#signout');
    await page.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
    expect(await page.locator('#signin-form').isVisible()).toBe(true);
    expect(await stored()).toBeNull();
    await expect.poll(async () => (await t.request({ method: 'POST', url: '/api/auth/refresh', body: { refreshToken } })).statusCode).toBe(401);

    // Register from the same form: a new user, signed in, sees the notes (list: authenticated).
    await signIn(page, { ...user, username: `${user.username}_new` }, '#register');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.locator('#who').textContent()).toBe(`${user.username}_new (user)`);
    expect(await titleOf(page, before).textContent()).toBe('edited in the page');

    // 404 on the list is expected while anonymous, 401 for the wrong password, 412 for the stale edit; nothing else may go wrong.
    expect(problems.filter((p) => !/status of (404|401|412)/.test(p))).toEqual([]);
    expect(await violations(page)).toEqual([]);
    await page.close();
  });

  it('keeps one socket live across token refreshes (ACCESS_TOKEN_TTL=2s)', { timeout: 30_000 }, async () => {
    const short = await startOnOwnOrigin({ ACCESS_TOKEN_TTL: '2s' });
    try {
      const shortAdmin = await createAdmin(short);
      const res = await short.request({ method: 'POST', url: '/api/collections', token: shortAdmin.accessToken, body: { name: 'notes', schema: SCHEMA } });
      expect(res.statusCode, res.body).toBe(201);
      const user = await register(short);
      let refreshes = 0;
      let sockets = 0;
      const frames: string[] = [];
      const page = await browser.newPage();
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      page.on('request', (r) => {
        if (r.url().endsWith('/api/auth/refresh')) refreshes += 1;
      });
      page.on('websocket', (ws) => {
        sockets += 1;
        ws.on('framereceived', ({ payload }) => frames.push((JSON.parse(String(payload)) as { type: string }).type));
      });
      await page.goto(`${short.url!}/demo/?collection=notes`);
      await page.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
      await page.fill('#username', user.username);
      await page.fill('#password', user.password);
      await page.click('#signin');
      await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });

      // The client refreshes ahead of expiry and re-authenticates the open socket each time.
      await expect.poll(() => refreshes, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(3);
      await expect.poll(() => frames.filter((f) => f === 'authed').length, { timeout: 5_000 }).toBeGreaterThanOrEqual(4);
      const writer = await register(short);
      const res2 = await short.request({ method: 'POST', url: '/api/collections/notes/records', token: writer.accessToken, body: { title: 'after the refreshes' } });
      expect(res2.statusCode, res2.body).toBe(201);
      await titleOf(page, res2.json<{ id: string }>().id).waitFor({ timeout: 5_000 });
      expect(await page.locator('#status').getAttribute('data-state')).toBe('live');
      expect(sockets).toBe(1);
      expect(await page.locator('#who').textContent()).toContain(user.username);
      await page.close();
    } finally {
      await short.close();
    }
  });
});
