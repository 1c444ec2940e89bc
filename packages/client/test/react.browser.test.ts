/**
 * `@sigil/client/react` in real Chromium (Debian's, driven by
 * playwright-core; nothing is downloaded): the app in test/react-app is
 * built with Vite (React's development build, so StrictMode double-mounts)
 * and served from a small static server whose origin Sigil allows. The
 * page signs in through its form (useAuth) and renders a live list
 * (useLiveQuery); the test writes over HTTP from Node and checks that the
 * DOM follows each change and equals a fresh list, and counts the
 * subscriptions on the server.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { launchChromium, skipWithoutChromium } from '../../server/test/helpers/chromium.js';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, startTestSigil, type TestSigil } from '../../server/test/helpers/test-sigil.js';
import { PASSWORD, uniqueUser } from './helpers.js';
import type { AppHandle } from './react-app/schema.js';

const SKIP = skipWithoutChromium('the React browser tests');

const HERE = dirname(fileURLToPath(import.meta.url));
const APP = resolve(HERE, 'react-app');
const SRC = resolve(HERE, '../src');
const SCHEMA = { type: 'object', required: ['title', 'rank', 'group'], properties: { title: { type: 'string' }, rank: { type: 'integer' }, group: { type: 'string' } } };
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/** The part of a DOM element the test reads (this file has no DOM typings). */
interface ListItem {
  getAttribute(name: string): string | null;
  readonly textContent: string | null;
}

interface Item {
  id: string;
  version: number;
  title: string;
  rank: number;
  group: string;
}

describe.skipIf(SKIP)('@sigil/client/react in chromium', () => {
  let t: TestSigil;
  let statics: Server;
  let origin: string;
  let outDir: string;
  let browser: Browser;
  let username: string;
  let token: string;
  const problems: string[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'sigil-react-app-'));
    await build({
      root: APP,
      configFile: false,
      logLevel: 'warn',
      mode: 'development',
      // React's development build: StrictMode's double mount only happens there.
      define: { 'process.env.NODE_ENV': JSON.stringify('development') },
      plugins: [react()],
      // The package's entries as source, so the test runs the code as it is now (not a stale dist).
      resolve: { alias: [{ find: /^@sigil\/client\/react$/, replacement: join(SRC, 'react.ts') }, { find: /^@sigil\/client$/, replacement: join(SRC, 'index.ts') }] },
      build: { outDir, emptyOutDir: true, minify: false, sourcemap: true },
    });
    statics = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/favicon.ico') return void res.writeHead(204).end();
      const file = normalize(join(outDir, path === '/' ? 'index.html' : path));
      if (!file.startsWith(outDir) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => statics.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(statics.address() as { port: number }).port}`;
    t = await startTestSigil({ listen: true, env: { CORS_ORIGINS: origin } });
    const admin = await createAdmin(t);
    expect((await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'items', schema: SCHEMA } })).statusCode).toBe(201);
    username = uniqueUser('react');
    const registered = await http<{ accessToken: string }>('POST', '/api/auth/register', { username, password: PASSWORD });
    token = registered.accessToken;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((r) => statics?.close(r));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  /** A request over the network, as the test's user (Node's fetch, like any other client). */
  async function http<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${t.url!}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
  const create = (id: string, rank: number, group: string): Promise<Item> => http('POST', '/api/collections/items/records', { id, title: `${id} (${rank})`, rank, group });
  const update = (id: string, patch: Partial<Item>): Promise<Item> => http('PATCH', `/api/collections/items/records/${id}`, patch);
  const remove = (id: string): Promise<void> => http('DELETE', `/api/collections/items/records/${id}`);
  const list = async (group: string): Promise<{ items: Item[]; seq: number }> =>
    http('GET', `/api/collections/items/records?${new URLSearchParams({ filter: JSON.stringify({ group }), sort: 'rank,title', limit: '200' }).toString()}`);

  const subscriptions = (): number => t.sigil.realtime.hub.subscriptionCount;
  const app = (page: Page): Promise<Omit<AppHandle, 'unmount'>> =>
    page.evaluate(() => {
      const { listMounts, listUnmounts, listRequests } = (globalThis as unknown as { sigilApp: AppHandle }).sigilApp;
      return { listMounts, listUnmounts, listRequests };
    });
  const shown = (page: Page): Promise<string[]> =>
    page.$$eval('#list li', (lis) => (lis as unknown as ListItem[]).map((li) => `${li.getAttribute('data-id')}@${li.getAttribute('data-version')}:${li.textContent}`));
  const listAttr = (page: Page, name: string): Promise<string | null> => page.locator('#list').getAttribute(`data-${name}`);

  /** Waits until the DOM shows exactly what a fresh list of `group` returns (ids, versions, titles, in order). */
  async function followsList(page: Page, group: string): Promise<Item[]> {
    const fresh = await list(group);
    const expected = fresh.items.map((i) => `${i.id}@${i.version}:${i.title}`);
    await expect.poll(() => shown(page), { timeout: 5_000 }).toEqual(expected);
    expect(Number(await listAttr(page, 'seq'))).toBeLessThanOrEqual(fresh.seq);
    expect(await listAttr(page, 'status')).toBe('ready');
    return fresh.items;
  }

  /** Exactly `n` subscriptions on the server, and still so a moment later (a leak or a late start would show). */
  async function expectSubscriptions(n: number): Promise<void> {
    await expect.poll(subscriptions, { timeout: 5_000 }).toBe(n);
    await new Promise((r) => setTimeout(r, 300));
    expect(subscriptions()).toBe(n);
  }

  async function openApp(query: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`);
    });
    await page.goto(`${origin}/?${new URLSearchParams({ server: t.url!, ...Object.fromEntries(new URLSearchParams(query)) }).toString()}`);
    await page.locator('#user').waitFor();
    return page;
  }

  async function signIn(page: Page): Promise<void> {
    await page.fill('#username', username);
    await page.fill('#password', PASSWORD);
    await page.click('#signin button[type=submit]');
    await expect.poll(() => page.textContent('#user'), { timeout: 5_000 }).toBe(username);
  }

  it('under StrictMode: waits until signed in, then one subscription; the DOM follows create, re-sort, delete and leave', { timeout: 60_000 }, async () => {
    await create('a1', 1, 'a');
    await create('a2', 2, 'a');
    await create('b1', 1, 'b');
    const page = await openApp('strict=1');
    expect(await page.textContent('#user')).toBe('signed out');
    expect(await listAttr(page, 'status')).toBe('loading');
    expect(await listAttr(page, 'connection')).toBe('offline');
    // StrictMode mounted the list twice (so the rest checks what it is meant to).
    expect(await app(page)).toEqual({ listMounts: 2, listUnmounts: 1, listRequests: 0 });
    await expectSubscriptions(0); // enabled: false until signed in
    expect((await app(page)).listRequests).toBe(0);

    await signIn(page);
    await expect.poll(() => listAttr(page, 'connection'), { timeout: 5_000 }).toBe('live');
    expect(await followsList(page, 'a')).toHaveLength(2);
    await expectSubscriptions(1);
    expect((await app(page)).listRequests).toBe(1);

    // Reloaded, the page starts signed in (the session is in localStorage): StrictMode mounts, unmounts and
    // mounts again a list whose query runs at once, and one subscription remains.
    await page.reload();
    await expect.poll(() => listAttr(page, 'connection'), { timeout: 5_000 }).toBe('live');
    expect(await page.textContent('#user')).toBe(username);
    expect(await followsList(page, 'a')).toHaveLength(2);
    await expectSubscriptions(1);
    // The double mount kept the one live query: it listed once.
    expect(await app(page)).toEqual({ listMounts: 2, listUnmounts: 1, listRequests: 1 });

    await create('a0', 0, 'a'); // first
    expect((await followsList(page, 'a')).map((i) => i.id)).toEqual(['a0', 'a1', 'a2']);
    await update('a1', { rank: 5, title: 'a1 (5)' }); // moves to the end
    expect((await followsList(page, 'a')).map((i) => i.id)).toEqual(['a0', 'a2', 'a1']);
    await remove('a2');
    expect((await followsList(page, 'a')).map((i) => i.id)).toEqual(['a0', 'a1']);
    await update('a0', { group: 'b' }); // leaves the filter
    expect((await followsList(page, 'a')).map((i) => i.id)).toEqual(['a1']);
    await create('b2', 0, 'b'); // never in the filter
    await create('a3', 3, 'a');
    expect((await followsList(page, 'a')).map((i) => i.id)).toEqual(['a3', 'a1']);
    await update('b1', { group: 'a', rank: 4 }); // enters the filter
    expect((await followsList(page, 'a')).map((i) => i.id)).toEqual(['a3', 'b1', 'a1']);

    expect(await listAttr(page, 'connection')).toBe('live');
    expect(await listAttr(page, 'error')).toBe('');
    await expectSubscriptions(1);
    expect((await app(page)).listRequests).toBe(1);
    await page.close();
    await expectSubscriptions(0);
    expect(problems).toEqual([]);
  });

  it('restarts only when the query means something else; hiding the list, signing out and unmounting the app close the subscription', { timeout: 60_000 }, async () => {
    const page = await openApp('');
    await signIn(page);
    await expect.poll(() => listAttr(page, 'connection'), { timeout: 5_000 }).toBe('live');
    await followsList(page, 'a');
    await expectSubscriptions(1);
    expect(await app(page)).toEqual({ listMounts: 1, listUnmounts: 0, listRequests: 1 });

    // Re-renders hand the hook a new but equal query object: nothing restarts.
    for (let i = 0; i < 3; i++) await page.click('#tick');
    await expect.poll(() => page.textContent('#tick')).toBe('Re-render (3)');
    expect((await app(page)).listRequests).toBe(1);

    // A filter typed into the input: the old query closes, the new one lists and subscribes.
    await page.fill('#group', 'b');
    const b = await followsList(page, 'b');
    expect(b.map((i) => i.id)).toEqual(['a0', 'b2']);
    expect((await app(page)).listRequests).toBe(2);
    await expectSubscriptions(1);
    await create('a9', 9, 'a'); // not shown now
    await create('b9', 9, 'b');
    expect((await followsList(page, 'b')).map((i) => i.id)).toEqual(['a0', 'b2', 'b9']);
    await update('a0', { rank: 10 });
    expect((await followsList(page, 'b')).map((i) => i.id)).toEqual(['b2', 'b9', 'a0']);

    // Unmounting the list closes its live query, and with it the socket's last subscription.
    await page.click('#toggle');
    await page.locator('#list').waitFor({ state: 'detached' });
    await expectSubscriptions(0);
    await expect.poll(() => t.sigil.realtime.hub.size, { timeout: 5_000 }).toBe(0);
    await page.click('#toggle');
    await followsList(page, 'b');
    await expectSubscriptions(1);
    expect(await app(page)).toEqual({ listMounts: 2, listUnmounts: 1, listRequests: 3 });

    // Signing out disables the query (useAuth drives `enabled`).
    await page.click('#signout');
    await expect.poll(() => page.textContent('#user'), { timeout: 5_000 }).toBe('signed out');
    await expect.poll(() => listAttr(page, 'status')).toBe('loading');
    expect(await shown(page)).toEqual([]);
    await expectSubscriptions(0);
    await signIn(page);
    await followsList(page, 'b');
    await expectSubscriptions(1);

    await page.evaluate(() => (globalThis as unknown as { sigilApp: AppHandle }).sigilApp.unmount());
    await expectSubscriptions(0);
    expect((await app(page)).listUnmounts).toBe(2);
    await page.close();
    expect(problems).toEqual([]);
  });
});
