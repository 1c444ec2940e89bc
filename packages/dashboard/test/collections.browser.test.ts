import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BROWSER, seriousViolations, signIn, startHarness, type Harness } from './harness.js';

interface Collection {
  name: string;
  schema: { properties: Record<string, Record<string, unknown>>; required?: string[] };
  rules: Record<string, unknown>;
  indexes: string[][];
  schemaVersion: number;
}

const DIST = join(import.meta.dirname, '../dist');
const READER = { username: 'bob_reader', password: 'correct horse battery' };

/** Presses Tab until the focused element's text or label matches `name` (at most `max` presses); false if it never does. */
async function tabTo(page: Page, name: RegExp, max = 150): Promise<boolean> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(`(() => { const e = document.activeElement; return e ? (e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].textContent) || e.textContent || '').trim() : '' })()`);
    if (name.test(String(label))) return true;
  }
  return false;
}

const schemaText = (page: Page): Promise<string> => page.locator('#schema-json').inputValue();
const field = (page: Page, name: string) => page.getByRole('group', { name: new RegExp(`^Field ${name.replace('.', '\\.')}\\b`) });

describe.skipIf(NO_BROWSER)('the dashboard: the collections editor', () => {
  let h: Harness;
  let authors: string[];
  let page: Page;

  beforeAll(async () => {
    h = await startHarness();
    expect((await h.api('POST', '/api/auth/register', READER)).status).toBe(201);
    const created = await h.api('POST', '/api/collections', { name: 'authors', schema: { type: 'object', properties: { name: { type: 'string' } } }, rules: { list: 'public', view: 'public' } });
    expect(created.status).toBe(201);
    authors = [];
    for (const name of ['Ada', 'Grace']) authors.push((await h.api<{ id: string }>('POST', '/api/collections/authors/records', { name })).body.id);
  }, 60_000);
  afterAll(async () => h?.close());

  it('creates a collection with a relation through the field editor, the raw JSON following', { timeout: 60_000 }, async () => {
    page = await h.open({ hash: '#/collections/+new' });
    await signIn(page);
    await page.getByRole('heading', { name: 'New collection' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('books');

    const add = page.getByRole('group', { name: 'Add a field', exact: true });
    await add.getByLabel('New field name').fill('title');
    await add.getByLabel('New field name').press('Enter');
    await field(page, 'title').waitFor();
    await field(page, 'title').getByLabel('Required').check();
    await field(page, 'title').getByLabel('Max length').fill('100');
    expect(JSON.parse(await schemaText(page))).toEqual({ type: 'object', properties: { title: { type: 'string', maxLength: 100 } }, required: ['title'] });

    await add.getByLabel('New field name').fill('author');
    await add.getByLabel('Type').selectOption('relation');
    await add.getByRole('button', { name: 'Add field' }).click();
    await field(page, 'author').getByLabel('Related collection').selectOption('authors');
    await field(page, 'author').getByLabel('On delete').selectOption('cascade');
    await add.getByLabel('New field name').fill('tags');
    await add.getByLabel('Type').selectOption('array');
    await add.getByRole('button', { name: 'Add field' }).click();
    expect((JSON.parse(await schemaText(page)) as Collection['schema']).properties).toEqual({
      title: { type: 'string', maxLength: 100 },
      author: { type: 'string', 'x-relation': { collection: 'authors', onDelete: 'cascade' } },
      tags: { type: 'array', items: { type: 'string' } },
    });

    await page.getByLabel('Rule list').selectOption('public');
    await page.getByLabel('Rule view').selectOption('public');
    await page.getByLabel('New index').fill('author, createdAt');
    await page.getByRole('button', { name: 'Add index' }).click();
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('heading', { name: 'Collection books' }).waitFor();
    expect(page.url()).toMatch(/#\/collections\/books$/);

    const saved = (await h.api<{ collection: Collection }>('GET', '/api/collections/books')).body.collection;
    expect(saved.schema.properties['author']).toEqual({ type: 'string', 'x-relation': { collection: 'authors', onDelete: 'cascade' } });
    expect(saved.schema.required).toEqual(['title']);
    expect(saved.rules).toMatchObject({ list: 'public', view: 'public', update: 'owner' });
    expect(saved.indexes).toEqual([['author', 'createdAt']]);
  });

  it('follows raw JSON edits in the field editor, keeps unknown keywords, and shows a syntax error as one types', { timeout: 30_000 }, async () => {
    const schema = JSON.parse(await schemaText(page)) as Collection['schema'];
    schema.properties['pages'] = { type: 'integer', minimum: 1, multipleOf: 1 };
    schema.properties['title'] = { ...schema.properties['title'], pattern: '^[A-Z]' };
    await page.locator('#schema-json').fill(JSON.stringify(schema, null, 2));
    await field(page, 'pages').waitFor();
    expect(await field(page, 'pages').getByLabel('Type').inputValue()).toBe('integer');
    expect(await field(page, 'pages').getByLabel('Minimum').inputValue()).toBe('1');

    // An edit in the field editor keeps what it does not show (pattern, multipleOf).
    await field(page, 'pages').getByLabel('Maximum').fill('5000');
    const after = JSON.parse(await schemaText(page)) as Collection['schema'];
    expect(after.properties['pages']).toEqual({ type: 'integer', minimum: 1, multipleOf: 1, maximum: 5000 });
    expect(after.properties['title']).toMatchObject({ pattern: '^[A-Z]', maxLength: 100 });

    await page.locator('#schema-json').focus();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(',');
    const error = page.getByTestId('json-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/line \d+, column \d+/);
    expect(await page.locator('#schema-json').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.tok-error').count()).toBeGreaterThan(0);
    await page.keyboard.press('Backspace');
    await error.waitFor({ state: 'detached' });
    await field(page, 'pages').waitFor();
  });

  it('previews a schema change that existing records do not fit, linking each failing record; applies only after a passing preview', { timeout: 60_000 }, async () => {
    const fits = (await h.api<{ id: string }>('POST', '/api/collections/books/records', { title: 'Short', author: authors[0] })).body.id;
    const long = (await h.api<{ id: string }>('POST', '/api/collections/books/records', { title: 'A much longer title', author: authors[1] })).body.id;
    expect(fits).toBeTruthy();
    const apply = page.getByRole('button', { name: 'Apply' });
    expect(await apply.isDisabled()).toBe(true);

    await field(page, 'title').getByLabel('Max length').fill('5');
    await page.getByRole('button', { name: 'Preview change' }).click();
    const report = page.getByTestId('preview-report');
    await report.getByText(/1 record would not fit/).waitFor();
    const link = report.getByRole('link', { name: `Record ${long}` });
    expect(await link.getAttribute('href')).toBe(`#/collections/books/records?open=${long}`);
    expect(await report.textContent()).toMatch(/\/title/);
    expect(await report.getByRole('link').count()).toBe(1);
    expect(await apply.isDisabled()).toBe(true);

    await field(page, 'title').getByLabel('Max length').fill('200');
    expect(await apply.isDisabled()).toBe(true);
    await page.getByText('The definition changed since the preview').waitFor();
    await page.getByRole('button', { name: 'Preview change' }).click();
    await report.getByText(/Preview passed/).waitFor();
    expect(await apply.isDisabled()).toBe(false);
    // Nothing was saved by the previews.
    expect((await h.api<{ collection: Collection }>('GET', '/api/collections/books')).body.collection.schemaVersion).toBe(1);
    await apply.click();
    await page.getByRole('status').filter({ hasText: 'Applied' }).waitFor();
    const saved = (await h.api<{ collection: Collection }>('GET', '/api/collections/books')).body.collection;
    expect(saved.schemaVersion).toBe(2);
    expect(saved.schema.properties['title']).toEqual({ type: 'string', maxLength: 200, pattern: '^[A-Z]' });
    expect(saved.schema.properties['pages']).toEqual({ type: 'integer', minimum: 1, multipleOf: 1, maximum: 5000 });
  });

  it('previews rules as another user and as anonymous, before they are saved', { timeout: 60_000 }, async () => {
    const mine = (await h.api<{ accessToken: string }>('POST', '/api/auth/login', READER)).body.accessToken;
    const own = (await h.api<{ id: string }>('POST', '/api/collections/books/records', { title: 'Mine' }, mine)).body.id;
    await page.getByLabel('Rule list').selectOption('owner');
    await page.getByLabel('Rule view').selectOption('owner');
    const panel = page.getByRole('region', { name: 'Try as user…' });
    await panel.getByLabel('As').selectOption(READER.username);
    await panel.getByRole('button', { name: 'Preview access' }).click();
    const list = page.getByTestId('access-list');
    await list.getByRole('link', { name: own }).waitFor();
    expect(await list.getByRole('link').count()).toBe(1);
    expect(await list.getByRole('link', { name: own }).getAttribute('href')).toBe(`#/collections/books/records?open=${own}`);

    await panel.getByLabel('As').selectOption('');
    await panel.getByRole('button', { name: 'Preview access' }).click();
    await page.getByTestId('access-preview').getByText('As anonymous').waitFor();
    await list.getByText(/No access/).waitFor();

    // An expression: the reader sees the records titled "Short".
    await page.getByLabel('Rule list').selectOption('public');
    await page.getByLabel('Rule view').selectOption('expression');
    await page.getByLabel('Expression of the view rule').fill('{"title": "Short"}');
    await panel.getByLabel('As').selectOption(READER.username);
    await panel.getByRole('button', { name: 'Preview access' }).click();
    await page.getByTestId('access-preview').getByText(`As ${READER.username}`).waitFor();
    await expect.poll(() => list.getByRole('link').count()).toBe(1);
    expect(await list.textContent()).toMatch(/title: Short/);
    // The saved rules are untouched.
    expect((await h.api<{ collection: Collection }>('GET', '/api/collections/books')).body.collection.rules).toMatchObject({ list: 'public', view: 'public' });
  });

  it('shows the server’s validation errors at the rule and at the field', { timeout: 30_000 }, async () => {
    await page.getByLabel('Expression of the view rule').fill('{"owner": "@auth.nope"}');
    const schema = JSON.parse(await schemaText(page)) as Collection['schema'];
    schema.properties['pages'] = { ...schema.properties['pages'], type: 'integr' };
    await page.locator('#schema-json').fill(JSON.stringify(schema, null, 2));
    await page.getByRole('button', { name: 'Preview change' }).click();
    await page.locator('[data-rule="view"]').getByRole('alert').waitFor();
    expect(await page.locator('[data-rule="view"]').getByRole('alert').first().textContent()).toMatch(/@auth/);
    await field(page, 'pages').getByRole('alert').waitFor();
    expect(await field(page, 'pages').getByRole('alert').textContent()).toMatch(/type/);
    expect(await page.getByRole('button', { name: 'Apply' }).isDisabled()).toBe(true);
    // Back to a valid definition.
    await page.getByLabel('Rule view').selectOption('public');
    await field(page, 'pages').getByLabel('Type').selectOption('integer');
    await page.getByRole('button', { name: 'Preview change' }).click();
    await page.getByTestId('preview-report').getByText(/Preview passed/).waitFor();
    await page.context().close();
  });

  it('reaches the main actions with Tab and Enter', { timeout: 60_000 }, async () => {
    const p = await h.open({ hash: '#/collections/+new' });
    await signIn(p);
    await p.getByRole('heading', { name: 'New collection' }).waitFor();
    expect(await tabTo(p, /^Name/)).toBe(true);
    await p.keyboard.type('notes');
    expect(await tabTo(p, /^New field name$/)).toBe(true);
    await p.keyboard.type('text');
    await p.keyboard.press('Enter');
    await field(p, 'text').waitFor();
    expect(await tabTo(p, /^Create collection$/)).toBe(true);
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { name: 'Collection notes' }).waitFor();

    expect(await tabTo(p, /^Max length$/)).toBe(true);
    await p.keyboard.type('10');
    expect(await tabTo(p, /^Preview change$/, 300)).toBe(true);
    await p.keyboard.press('Enter');
    await p.getByTestId('preview-report').getByText(/Preview passed/).waitFor();
    expect(await tabTo(p, /^Apply$/, 3)).toBe(true);
    await p.keyboard.press('Enter');
    await p.getByRole('status').filter({ hasText: 'Applied' }).waitFor();
    expect((await h.api<{ collection: Collection }>('GET', '/api/collections/notes')).body.collection.schema.properties['text']).toEqual({ type: 'string', maxLength: 10 });
    await p.context().close();
  });

  it('deletes a collection only after its name is typed, and says why the server refuses one', { timeout: 30_000 }, async () => {
    const p = await h.open({ hash: '#/collections/authors' });
    await signIn(p);
    await p.getByRole('heading', { name: 'Collection authors' }).waitFor();
    await p.getByRole('button', { name: 'Delete collection…' }).click();
    const confirm = p.getByRole('button', { name: 'Delete authors' });
    expect(await confirm.isDisabled()).toBe(true);
    await p.getByLabel('Type authors to confirm').fill('author');
    expect(await confirm.isDisabled()).toBe(true);
    await p.getByLabel('Type authors to confirm').fill('authors');
    await confirm.click();
    const refusal = p.getByRole('alert').filter({ hasText: 'Not deleted' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/relations in "books"/);
    expect((await h.api('GET', '/api/collections/authors')).status).toBe(200);

    await p.goto(`${h.url}/_/#/collections/notes`);
    await p.getByRole('heading', { name: 'Collection notes' }).waitFor();
    await p.getByRole('button', { name: 'Delete collection…' }).click();
    await p.getByLabel('Type notes to confirm').fill('notes');
    await p.getByRole('button', { name: 'Delete notes' }).click();
    await p.getByRole('heading', { name: 'Collections', exact: true }).waitFor();
    expect((await h.api('GET', '/api/collections/notes')).status).toBe(404);
    await p.context().close();
  });

  for (const width of [375, 1440]) {
    it(`has no serious or critical accessibility violation and no page overflow at ${width} px`, { timeout: 60_000 }, async () => {
      const p = await h.open({ width, hash: '#/collections/+new' });
      await signIn(p);
      await p.getByRole('heading', { name: 'New collection' }).waitFor();
      const add = p.getByRole('group', { name: 'Add a field', exact: true });
      for (const [name, kind] of [['title', 'text'], ['count', 'integer'], ['author', 'relation'], ['address', 'object']] as const) {
        await add.getByLabel('New field name').fill(name);
        await add.getByLabel('Type').selectOption(kind);
        await add.getByRole('button', { name: 'Add field' }).click();
      }
      await p.getByLabel('Rule view').selectOption('expression');
      await p.locator('#schema-json').focus();
      await p.keyboard.press('Control+End');
      await p.keyboard.type('x');
      await p.getByTestId('json-error').waitFor();
      const check = async (where: string): Promise<void> => {
        expect({ where, violations: await seriousViolations(p) }).toEqual({ where, violations: [] });
        const overflow = await p.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        expect({ where, overflow }).toEqual({ where, overflow: 0 });
      };
      await check('new collection');

      await p.goto(`${h.url}/_/#/collections/books`);
      await p.getByRole('heading', { name: 'Collection books' }).waitFor();
      await field(p, 'title').getByLabel('Max length').fill('3');
      await p.getByRole('button', { name: 'Preview change' }).click();
      await p.getByTestId('preview-report').getByRole('link').first().waitFor();
      const panel = p.getByRole('region', { name: 'Try as user…' });
      await panel.getByRole('button', { name: 'Preview access' }).click();
      await p.getByTestId('access-preview').waitFor();
      await p.getByRole('button', { name: 'Delete collection…' }).click();
      await check('books, with a failing preview and an access preview');
      await p.context().close();
      expect(h.problems.filter((x) => !/40[0149]|409/.test(x))).toEqual([]);
    });
  }

  it('loads the editor as a chunk of its own, apart from the first load', () => {
    const html = readFileSync(join(DIST, 'index.html'), 'utf8');
    const entry = new Set([...html.matchAll(/(?:src|href)="\/_\/assets\/([^"]+\.js)"/g)].map((m) => m[1]!));
    const editor = readdirSync(join(DIST, 'assets')).filter((f) => /^editor-.*\.(js|css)$/.test(f));
    expect(editor.some((f) => f.endsWith('.js'))).toBe(true);
    for (const f of editor) expect(entry.has(f)).toBe(false);
    const sizes = editor.map((f) => `${f}: ${readFileSync(join(DIST, 'assets', f)).length} B, ${gzipSync(readFileSync(join(DIST, 'assets', f)), { level: 9 }).length} B gzipped`);
    console.log(`collections editor (lazy): ${sizes.join('; ')}`);
  });
});
