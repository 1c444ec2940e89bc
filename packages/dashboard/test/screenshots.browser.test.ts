/**
 * Every screen at 375 px and 1440 px, with data in it. The pictures in
 * docs/dashboard/ come from here: `SIGIL_UPDATE_SCREENSHOTS=1 npx vitest run
 * packages/dashboard/test/screenshots.browser.test.ts` rewrites them. Each
 * run checks that every screen renders its heading without a page error or
 * sideways scrolling at both widths.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BROWSER, signIn, startHarness, type Harness } from './harness.js';

const UPDATE = process.env['SIGIL_UPDATE_SCREENSHOTS'] === '1';
const OUT = UPDATE ? join(import.meta.dirname, '../../../docs/dashboard') : mkdtempSync(join(tmpdir(), 'sigil-shots-'));

const SCREENS: readonly [string, string, string][] = [
  ['collections', '#/collections', 'Collections'],
  ['collection', '#/collections/posts', 'posts'],
  ['records', '#/collections/posts/records', 'posts'],
  ['users', '#/users', 'Users'],
  ['changes', '#/changes', 'Change log'],
  ['server', '#/server', 'Server'],
];

describe.skipIf(NO_BROWSER)('dashboard screenshots', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const authors = await h.api('POST', '/api/collections', { name: 'authors', schema: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 80 } } }, rules: { list: 'public', view: 'public' } });
    expect(authors.status).toBe(201);
    const posts = await h.api('POST', '/api/collections', {
      name: 'posts',
      schema: {
        type: 'object',
        required: ['title'],
        properties: {
          title: { type: 'string', minLength: 1, maxLength: 120 },
          published: { type: 'boolean' },
          rating: { type: 'integer', minimum: 1, maximum: 5 },
          author: { type: 'string', 'x-relation': { collection: 'authors', onDelete: 'restrict' } },
        },
      },
      rules: { list: 'public', view: 'public', create: 'authenticated' },
      indexes: [['published', 'createdAt']],
    });
    expect(posts.status).toBe(201);
    const ada = await h.api<{ id: string }>('POST', '/api/collections/authors/records', { name: 'Ada Lovelace' });
    for (let i = 1; i <= 12; i++) await h.api('POST', '/api/collections/posts/records', { title: `Notes on the engine, part ${i}`, published: i % 3 !== 0, rating: (i % 5) + 1, author: ada.body.id });
    for (const name of ['grace', 'linus', 'margaret']) await h.api('POST', '/api/auth/register', { username: name, password: 'correct horse battery', email: `${name}@example.com` });
  }, 60_000);
  afterAll(async () => h?.close());

  for (const width of [1440, 375]) {
    it(`renders every screen at ${width} px`, { timeout: 90_000 }, async () => {
      mkdirSync(OUT, { recursive: true });
      const page = await h.open({ width });
      await page.screenshot({ path: join(OUT, `sign-in-${width}.png`) });
      await signIn(page);
      for (const [name, hash, heading] of SCREENS) {
        await page.goto(`${h.url}/_/${hash}`);
        await page.getByRole('heading', { level: 1 }).filter({ hasText: heading }).first().waitFor();
        if (name === 'changes') {
          // The screen subscribes as it opens: write until a change arrives.
          for (let i = 0; i < 20 && (await page.locator('tbody tr').count()) === 0; i++) {
            await h.api('POST', '/api/collections/posts/records', { title: `Written while watching ${i}`, published: true });
            await page.waitForTimeout(250);
          }
          await page.locator('tbody tr').first().waitFor();
        }
        if (name === 'records' || name === 'collections' || name === 'users') await page.locator('tbody tr').first().waitFor().catch(() => { throw new Error(`${name}: no table row`); });
        await page.waitForTimeout(300);
        const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        expect({ name, overflow }).toEqual({ name, overflow: 0 });
        const png = await page.screenshot({ fullPage: width === 375 ? false : true });
        expect(png.length).toBeGreaterThan(5_000);
        writeFileSync(join(OUT, `${name}-${width}.png`), png);
      }
      await page.context().close();
      expect(h.problems).toEqual([]);
    });
  }
});
