/**
 * The dashboard in a real browser against a real server: `sigil serve` as a
 * process (the built CLI, which serves the built dashboard at /_/), Debian's
 * chromium through playwright-core, axe-core run inside the page. Browsers
 * are never downloaded; without chromium the suites skip loudly, except on
 * CI, where they fail.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../../server/test/helpers/chromium.js';
import { startServerProcess, type ServerProcess } from '../../server/test/helpers/server-process.js';

export const NO_BROWSER = skipWithoutChromium('the dashboard browser tests');

export const ADMIN = { username: 'root_admin', password: 'admin password 1' } as const;

export interface Harness {
  readonly server: ServerProcess;
  readonly url: string;
  readonly browser: Browser;
  /** The admin's tokens, for writing over HTTP beside the page. */
  readonly adminToken: string;
  /** Console errors, page errors and CSP violations of every page opened. */
  readonly problems: string[];
  /** A new page (its own context: own localStorage) at `/_/` + `hash`, `width` px wide. */
  open(options?: { hash?: string; width?: number; context?: BrowserContext }): Promise<Page>;
  /** JSON over HTTP as the admin (or `token`). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON shape it expects
  api<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-dashboard-'));
  const server = await startServerProcess({
    cwd: dataDir,
    env: {
      NODE_ENV: 'test',
      SIGIL_DATA_DIR: dataDir,
      JWT_SECRET: 'dashboard-test-secret-7QmV2pX9rT4wZ8yB3nK6cF1hJ5dL0sGa',
      SIGIL_ADMIN_USERNAME: ADMIN.username,
      SIGIL_ADMIN_PASSWORD: ADMIN.password,
      AUTH_RATE_LIMIT_PER_ADDRESS: '1000/1m',
      AUTH_RATE_LIMIT_PER_USERNAME: '1000/1m',
      ...env,
    },
  });
  const url = server.url;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON shape it expects
  const api = async <T>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(url + path, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const login = await api<{ accessToken: string }>('POST', '/api/auth/login', ADMIN);
  if (login.status !== 200) throw new Error(`admin login: ${login.status}`);
  const browser = await launchChromium();
  const problems: string[] = [];
  return {
    server,
    url,
    browser,
    adminToken: login.body.accessToken,
    problems,
    async open(options = {}) {
      const context = options.context ?? (await browser.newContext({ viewport: { width: options.width ?? 1440, height: 900 } }));
      const page = await context.newPage();
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      await page.goto(`${url}/_/${options.hash ?? ''}`);
      return page;
    },
    api: (method, path, body, token) => api(method, path, body, token ?? login.body.accessToken),
    async close() {
      await browser.close().catch(() => undefined);
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the form and waits for the main navigation. */
export async function signIn(page: Page, username: string = ADMIN.username, password: string = ADMIN.password): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly string[];
}

/**
 * axe-core inside the page (evaluated through the DevTools protocol, so the
 * page's CSP needs no exception): the serious and critical violations.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  // A string, so that this Node.js file needs no DOM types.
  const violations = await page.evaluate<AxeViolation[]>(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))`);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
