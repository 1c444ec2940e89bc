/**
 * Tabs of one origin in real Chromium (Debian's, driven by playwright-core;
 * nothing is downloaded) sharing a session through localStorageTokenStore:
 *
 * - two tabs refresh at the same time, 100 times each: Web Locks and the
 *   re-read inside the lock mean no rotated refresh token is ever presented,
 *   so the session is alive at the end;
 * - the control: the same two tabs with a store that has no lock do present
 *   rotated tokens, and the server revokes their session (so the first
 *   check could fail);
 * - a third tab logging out logs the others out (the storage event).
 *
 * The page and the client's browser build (esbuild, like the size
 * measurement) come from a small static server; Sigil allows its origin.
 */
import { launchChromium, skipWithoutChromium } from '../../server/test/helpers/chromium.js';
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleClient } from '../../../bench/client-size.mjs';
import { startTestSigil, type TestSigil } from '../../server/test/helpers/test-sigil.js';
import type * as Sigil from '../src/index.js';
import type { SigilClient } from '../src/index.js';
import { PASSWORD } from './helpers.js';

const SKIP = skipWithoutChromium('the tabs browser tests');

const PAGE = `<!doctype html><meta charset="utf-8"><title>sigil tabs</title>
<script type="module">
  import * as sigil from '/sigil-client.js';
  window.sigil = sigil;
  window.ready = true;
</script>`;

/** What the page puts on globalThis (the callbacks run in the page, so each casts inline). */
interface Tab {
  ready?: boolean;
  sigil: typeof Sigil;
  client: SigilClient;
  changes: (string | null)[];
}

describe.skipIf(SKIP)('tabs sharing a session in chromium', () => {
  let t: TestSigil;
  let statics: Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  const problems: string[] = [];

  beforeAll(async () => {
    const script = await bundleClient({ minify: false });
    statics = createServer((req, res) => {
      if (req.url === '/sigil-client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else if (req.url === '/' || req.url === '/index.html') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      else res.writeHead(204).end(); // favicon
    });
    await new Promise<void>((resolve) => statics.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(statics.address() as { port: number }).port}`;
    t = await startTestSigil({ listen: true, env: { CORS_ORIGINS: origin } });
    browser = await launchChromium();
    context = await browser.newContext();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((resolve) => statics?.close(resolve));
  });

  /** A tab with a client on the shared store `key` (`locked: false`: the same store without its lock). */
  async function openTab(key: string, locked = true): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (globalThis as unknown as Tab).ready === true);
    await page.evaluate(
      ({ url, key, locked }) => {
        const store = (globalThis as unknown as Tab).sigil.localStorageTokenStore({ key });
        (globalThis as unknown as Tab).client = (globalThis as unknown as Tab).sigil.createClient({ url, tokenStore: locked ? store : { get: store.get, set: store.set, subscribe: store.subscribe! } });
        (globalThis as unknown as Tab).changes = [];
        (globalThis as unknown as Tab).client.auth.onAuthChange((s) => (globalThis as unknown as Tab).changes.push(s?.refreshToken ?? null));
      },
      { url: t.url!, key, locked },
    );
    return page;
  }

  /** Both tabs refresh `times` times each, at once; resolves with the refreshes each sent and what failed. */
  async function refreshTogether(tabs: Page[], times: number): Promise<{ sent: number; signedOut: boolean; errors: string[] }[]> {
    return Promise.all(
      tabs.map((tab) =>
        tab.evaluate(async (times) => {
          const errors: string[] = [];
          for (let i = 0; i < times; i++) {
            try {
              if ((await (globalThis as unknown as Tab).client.auth.refresh()) === null) break;
            } catch (e) {
              errors.push(String(e));
            }
          }
          return { sent: (globalThis as unknown as Tab).client.auth.refreshCount, signedOut: (globalThis as unknown as Tab).client.auth.session === null, errors };
        }, times),
      ),
    );
  }

  it('two tabs refreshing concurrently 100 times keep the session; a third tab logging out logs out both', { timeout: 60_000 }, async () => {
    const one = await openTab('shared');
    expect(await one.evaluate(() => 'locks' in (globalThis as unknown as { navigator: object }).navigator)).toBe(true);
    await one.evaluate(({ password }) => (globalThis as unknown as Tab).client.auth.register({ username: 'tabs_user', password }).then(() => undefined), { password: PASSWORD });
    const two = await openTab('shared');
    expect(await two.evaluate(() => (globalThis as unknown as Tab).client.auth.session?.user.username)).toBe('tabs_user');

    const results = await refreshTogether([one, two], 100);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(results.map((r) => r.signedOut)).toEqual([false, false]);
    const sent = results[0]!.sent + results[1]!.sent;
    expect(sent).toBeGreaterThanOrEqual(100); // each call waited for a refresh, its own or the other tab's
    expect(sent).toBeLessThanOrEqual(200);
    console.log(`two tabs, 100 refresh() calls each: ${results[0]!.sent} + ${results[1]!.sent} refreshes sent to the server`);
    // Alive on the server: both answer, and it still refreshes.
    const stored = await one.evaluate(() => (globalThis as unknown as Tab).client.auth.session!.refreshToken);
    expect(await two.evaluate(() => (globalThis as unknown as Tab).client.auth.session!.refreshToken)).toBe(stored);
    for (const tab of [one, two]) expect(await tab.evaluate(() => (globalThis as unknown as Tab).client.auth.me().then((u) => u.username))).toBe('tabs_user');
    expect(await two.evaluate(() => (globalThis as unknown as Tab).client.auth.refresh().then((s) => s !== null))).toBe(true);
    await one.waitForFunction((token) => (globalThis as unknown as Tab).client.auth.session?.refreshToken !== token, stored);

    const last = await one.evaluate(() => (globalThis as unknown as Tab).client.auth.session!.refreshToken);
    const three = await openTab('shared');
    expect(await three.evaluate(() => (globalThis as unknown as Tab).client.auth.session?.user.username)).toBe('tabs_user');
    await three.evaluate(() => (globalThis as unknown as Tab).client.auth.logout());
    for (const tab of [one, two]) {
      await tab.waitForFunction(() => (globalThis as unknown as Tab).client.auth.session === null && (globalThis as unknown as Tab).changes.at(-1) === null, undefined, { timeout: 5_000 });
    }
    // The server ended the session too: the last refresh token is refused.
    const res = await fetch(`${t.url!}/api/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: last }) });
    expect(res.status).toBe(401);
    expect(problems).toEqual([]);
    await Promise.all([one.close(), two.close(), three.close()]);
  });

  it('control: the same tabs without the lock present rotated refresh tokens, and the server revokes the session', { timeout: 60_000 }, async () => {
    const one = await openTab('naive', false);
    await one.evaluate(({ password }) => (globalThis as unknown as Tab).client.auth.register({ username: 'naive_user', password }).then(() => undefined), { password: PASSWORD });
    const two = await openTab('naive', false);
    const results = await refreshTogether([one, two], 100);
    expect(results.some((r) => r.signedOut)).toBe(true);
    await Promise.all([one.close(), two.close()]);
  });
});
