/**
 * The README's quick start, for real: examples/todo (index.html and
 * main.ts, bundled by esbuild) in Debian's chromium against the built Sigil
 * server as a process, its collection applied with `sigil apply
 * examples/todo/todos.json`, the page on another origin (CORS_ORIGINS), as
 * the README runs it. Also: the README shows exactly the example's files.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { launchChromium, skipWithoutChromium } from '../../server/test/helpers/chromium.js';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../../server/scripts/build-demo.mjs';
import { api, newJwtSecret, serverEnv } from '../../server/test/helpers/realtime-e2e.js';
import { runCli, startServerProcess, type ServerProcess } from '../../server/test/helpers/server-process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const EXAMPLE = join(ROOT, 'examples/todo');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

describe('the README quick start', () => {
  /** The fenced blocks of `lang` in the README section "Quick start: a live todo list". */
  function blocks(lang: string): string[] {
    const readme = read('README.md');
    const start = readme.indexOf('## Quick start: a live todo list');
    expect(start, 'the README has the section').toBeGreaterThan(-1);
    const end = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, end === -1 ? undefined : end);
    return [...section.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!);
  }

  it('shows exactly examples/todo/main.ts and examples/todo/todos.json', () => {
    expect(blocks('ts')).toEqual([read('examples/todo/main.ts')]);
    expect(blocks('json')).toEqual([read('examples/todo/todos.json')]);
  });

  it('keeps the client code about twenty lines', () => {
    expect(read('examples/todo/main.ts').trimEnd().split('\n').length).toBeLessThanOrEqual(30);
  });
});

const SKIP = skipWithoutChromium('the quick-start browser test');

const PASSWORD = 'quick start password';

describe.skipIf(SKIP)('the todo example in chromium', () => {
  let cwd: string;
  let server: ServerProcess;
  let statics: Server;
  let origin: string;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    const script = await bundleForBrowser(join(EXAMPLE, 'main.ts'), { minify: false });
    const html = readFileSync(join(EXAMPLE, 'index.html'), 'utf8');
    statics = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/dist/main.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else if (path === '/' || path === '/index.html') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      else res.writeHead(404).end();
    });
    await new Promise<void>((done) => statics.listen(0, '127.0.0.1', done));
    origin = `http://127.0.0.1:${(statics.address() as { port: number }).port}`;

    cwd = mkdtempSync(join(tmpdir(), 'sigil-quick-start-'));
    const env = { ...serverEnv({ dataDir: join(cwd, 'data'), databaseUrl: `sqlite:${join(cwd, 'sigil.db')}`, jwtSecret: newJwtSecret() }), CORS_ORIGINS: origin };
    const applied = await runCli(['apply', join(EXAMPLE, 'todos.json')], { env, cwd });
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toBe('todos: created (schema version 1)\n');
    expect(applied.code).toBe(0);
    server = await startServerProcess({ env, cwd });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((done) => statics?.close(done));
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  async function openExample(): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`${origin}/?server=${encodeURIComponent(server.url)}`);
    return page;
  }

  const todo = (page: Page, title: string) => page.locator('#todos li', { hasText: title });

  async function login(username: string): Promise<string> {
    const res = await api(server.url, 'POST', '/api/auth/login', { body: { username, password: PASSWORD } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body['accessToken'] as string;
  }

  async function listTodos(token: string): Promise<{ id: string; title: string; done: boolean; version: number }[]> {
    const res = await api(server.url, 'GET', '/api/collections/todos/records?sort=createdAt', { token });
    expect(res.status).toBe(200);
    return res.body['items'] as { id: string; title: string; done: boolean; version: number }[];
  }

  it('registers, adds in the page, shows a todo another client adds, toggles done (persisted), keeps the session', { timeout: 40_000 }, async () => {
    const page = await openExample();
    // A new username: sign-in fails, so the page registers.
    await page.fill('#sign-in input[name="username"]', 'ada');
    await page.fill('#sign-in input[name="password"]', PASSWORD);
    await page.click('#sign-in button');
    await page.locator('#add').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#sign-in').isHidden()).toBe(true);

    // Added in the page: shown once its change arrives.
    await page.fill('#add input[name="title"]', 'buy milk');
    await page.click('#add button');
    await todo(page, 'buy milk').waitFor({ timeout: 5_000 });
    expect(await page.locator('#add input[name="title"]').inputValue()).toBe('');

    // Another client of the same user (a phone, say) adds over HTTP: it appears live, as text.
    const phone = await login('ada');
    const hostile = '<img src=x onerror="window.pwned=1">';
    for (const title of ['walk the dog', hostile]) {
      const res = await api(server.url, 'POST', '/api/collections/todos/records', { token: phone, body: { title, done: false } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    await todo(page, 'walk the dog').waitFor({ timeout: 5_000 });
    await expect.poll(() => page.locator('#todos li').allTextContents(), { timeout: 5_000 }).toEqual(['buy milk', 'walk the dog', hostile]);
    expect(await page.locator('#todos img').count()).toBe(0);

    // Someone else's todos stay theirs (list and view: owner).
    const bob = await api(server.url, 'POST', '/api/auth/register', { body: { username: 'bob', password: PASSWORD } });
    expect(bob.status).toBe(201);
    const bobs = await api(server.url, 'POST', '/api/collections/todos/records', { token: bob.body['accessToken'] as string, body: { title: "bob's secret", done: false } });
    expect(bobs.status).toBe(201);
    await api(server.url, 'POST', '/api/collections/todos/records', { token: phone, body: { title: 'after bob', done: false } });
    await todo(page, 'after bob').waitFor({ timeout: 5_000 });
    expect(await todo(page, "bob's secret").count()).toBe(0);

    // A click toggles done: the page shows it, and the server has it.
    await todo(page, 'buy milk').click();
    await expect.poll(() => todo(page, 'buy milk').getAttribute('class'), { timeout: 5_000 }).toBe('done');
    const afterToggle = (await listTodos(phone)).find((t) => t.title === 'buy milk')!;
    expect(afterToggle).toMatchObject({ done: true, version: 2 });
    await todo(page, 'buy milk').click();
    await expect.poll(() => todo(page, 'buy milk').getAttribute('class'), { timeout: 5_000 }).toBe('');
    expect((await listTodos(phone)).find((t) => t.title === 'buy milk')).toMatchObject({ done: false, version: 3 });

    // Done elsewhere: the page follows.
    const walk = (await listTodos(phone)).find((t) => t.title === 'walk the dog')!;
    const patched = await fetch(`${server.url}/api/collections/todos/records/${walk.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${phone}`, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ done: true }),
    });
    expect(patched.status).toBe(200);
    await expect.poll(() => todo(page, 'walk the dog').getAttribute('class'), { timeout: 5_000 }).toBe('done');

    // The session is in localStorage: a reload shows the list without signing in.
    await page.reload();
    await page.locator('#add').waitFor({ state: 'visible', timeout: 10_000 });
    await expect.poll(() => page.locator('#todos li').allTextContents(), { timeout: 5_000 }).toEqual(['buy milk', 'walk the dog', hostile, 'after bob']);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();

    // The one expected error: the first sign-in of a new user (401), before registering.
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    await page.close();
  });

  it('signs an existing user in (no registration) and shows their todos', { timeout: 30_000 }, async () => {
    const page = await openExample();
    let registrations = 0;
    page.on('request', (r) => {
      if (r.url().endsWith('/api/auth/register')) registrations += 1;
    });
    await page.fill('#sign-in input[name="username"]', 'bob');
    await page.fill('#sign-in input[name="password"]', PASSWORD);
    await page.click('#sign-in button');
    await todo(page, "bob's secret").waitFor({ timeout: 10_000 });
    expect(await page.locator('#todos li').allTextContents()).toEqual(["bob's secret"]);
    expect(registrations).toBe(0);
    await page.close();
  });
});
