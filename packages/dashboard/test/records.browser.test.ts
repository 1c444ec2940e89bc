import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BROWSER, seriousViolations, signIn, startHarness, type Harness } from './harness.js';

interface Rec { id: string; version: number; title: string; pages?: number; rating?: number; genre?: string; author?: string; [k: string]: unknown }

const AUTHORS = { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 40 }, born: { type: 'integer' } } };
const BOOKS = {
  type: 'object',
  required: ['title'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 60 },
    genre: { type: 'string', enum: ['fiction', 'science', 'history'] },
    pages: { type: 'integer', minimum: 1 },
    rating: { type: 'number', minimum: 0, maximum: 5 },
    published: { type: 'boolean' },
    releasedAt: { type: 'string', format: 'date-time' },
    tags: { type: 'array', items: { type: 'string' } },
    details: { type: 'object', properties: { isbn: { type: 'string' }, language: { type: 'string' } } },
    author: { type: 'string', 'x-relation': { collection: 'authors', onDelete: 'setNull' } },
    reviewer: { type: 'string', 'x-relation': { collection: 'users', onDelete: 'setNull' } },
  },
};
const GENRES = ['fiction', 'science', 'history'] as const;

describe.skipIf(NO_BROWSER)('the dashboard: records browser', () => {
  let h: Harness;
  let page: Page;
  const authors: Record<string, string> = {};
  let adminId = '';

  const create = async (record: Record<string, unknown>): Promise<Rec> => {
    const res = await h.api<Rec>('POST', '/api/collections/books/records', record);
    expect(res.status).toBe(201);
    return res.body;
  };
  const get = async (id: string): Promise<{ status: number; body: Rec }> => h.api<Rec>('GET', `/api/collections/books/records/${id}`);
  const rowIds = async (): Promise<string[]> => page.evaluate<string[]>(`[...document.querySelectorAll('tbody tr[data-id]')].map((r) => r.getAttribute('data-id'))`);
  const column = async (n: number): Promise<string[]> => page.locator(`tbody tr td:nth-child(${n})`).allTextContents();
  /** Columns by default: id, title, genre, pages, rating, published, releasedAt, tags, details, author, reviewer, updatedAt. */
  const PAGES_COL = 4;
  const TITLE_COL = 2;
  const AUTHOR_COL = 10;

  beforeAll(async () => {
    h = await startHarness();
    adminId = (await h.api<{ user: { id: string } }>('GET', '/api/auth/me')).body.user.id;
    expect((await h.api('POST', '/api/collections', { name: 'authors', schema: AUTHORS })).status).toBe(201);
    expect((await h.api('POST', '/api/collections', { name: 'books', schema: BOOKS })).status).toBe(201);
    for (const name of ['Ursula Le Guin', 'Octavia Butler', 'Terry Pratchett']) {
      const res = await h.api<Rec>('POST', '/api/collections/authors/records', { name });
      authors[name] = res.body.id;
    }
    const ops = Array.from({ length: 70 }, (_, i) => ({
      op: 'create',
      collection: 'books',
      record: {
        title: `Book ${String(i + 1).padStart(3, '0')}`,
        genre: GENRES[i % 3],
        pages: (i + 1) * 10,
        rating: (i % 5) + 0.5,
        published: i % 2 === 0,
        tags: i % 7 === 0 ? ['classic', 'paper'] : ['paper'],
        author: Object.values(authors)[i % 3],
        ...(i % 10 === 0 ? { reviewer: adminId } : {}),
      },
    }));
    expect((await h.api('POST', '/api/batch', { operations: ops })).status).toBe(200);
    page = await h.open({ hash: '#/collections/books/records' });
    await signIn(page);
    await page.getByRole('heading', { name: 'books' }).waitFor();
  }, 60_000);
  afterAll(async () => {
    await page?.context().close();
    await h?.close();
  });

  it('shows columns from the schema, newest first, relations by their readable field', { timeout: 30_000 }, async () => {
    await expect.poll(() => page.locator('tbody tr').count()).toBe(50);
    const headers = await page.locator('thead th').allTextContents();
    expect(headers.map((t) => t.replace(/[▲▼]/g, '').trim())).toEqual(['id', 'title', 'genre', 'pages', 'rating', 'published', 'releasedAt', 'tags', 'details', 'author', 'reviewer', 'updatedAt', 'Actions']);
    const newest = (await h.api<{ items: Rec[] }>('GET', '/api/collections/books/records?sort=-createdAt&limit=50')).body.items;
    expect(await rowIds()).toEqual(newest.map((r) => r.id));
    expect((await column(TITLE_COL))[0]).toBe(newest[0]!.title);
    expect(await page.locator('th[aria-sort]').count()).toBe(0); // -createdAt is not a shown column
    // author expanded to the author's name; reviewer (a user) to the username
    const nameOf = Object.fromEntries(Object.entries(authors).map(([n, id]) => [id, n]));
    expect(await column(AUTHOR_COL)).toEqual(newest.map((r) => nameOf[r.author!]));
    expect(await page.locator('tr[data-id]').filter({ hasText: 'Book 061' }).locator('td').nth(10).textContent()).toBe('root_admin');
    // system columns are available
    await page.locator('summary', { hasText: 'Columns' }).click();
    await page.getByRole('checkbox', { name: 'version (system)' }).check();
    await expect.poll(async () => (await page.locator('thead th').allTextContents()).some((t) => t.includes('version'))).toBe(true);
    await page.getByRole('checkbox', { name: 'version (system)' }).uncheck();
    await page.locator('summary', { hasText: 'Columns' }).click();
  });

  it('sorts by clicking a header, ascending then descending (aria-sort)', { timeout: 30_000 }, async () => {
    const header = page.locator('thead th').nth(PAGES_COL - 1);
    await header.getByRole('button', { name: 'pages' }).click();
    await expect.poll(() => header.getAttribute('aria-sort')).toBe('ascending');
    await expect.poll(async () => (await column(PAGES_COL)).slice(0, 3)).toEqual(['10', '20', '30']);
    await header.getByRole('button').click();
    await expect.poll(() => header.getAttribute('aria-sort')).toBe('descending');
    await expect.poll(async () => (await column(PAGES_COL)).slice(0, 2)).toEqual(['700', '690']);
    expect(decodeURIComponent(await page.evaluate<string>('location.hash'))).toContain('sort=-pages');
  });

  it('filters with the builder (and/or) and the raw box; shows the server refusing a filter in words; a reload keeps the view', { timeout: 40_000 }, async () => {
    const builder = page.getByRole('form', { name: 'Filter builder' });
    await builder.getByRole('button', { name: 'Add condition' }).click();
    await builder.getByLabel('Condition 1 field').selectOption('genre');
    await builder.getByLabel('Condition 1 value').fill('science');
    await builder.getByRole('button', { name: 'Add condition' }).click();
    await builder.getByLabel('Condition 2 field').selectOption('pages');
    await builder.getByLabel('Condition 2 operator').selectOption('$gte');
    await builder.getByLabel('Condition 2 value').fill('500');
    await builder.getByRole('button', { name: 'Apply filter' }).click();
    // science: i % 3 = 1 → pages 20, 50, …; ≥ 500: 500, 530, …, 680 (7), sorted -pages
    await expect.poll(() => column(PAGES_COL)).toEqual(['680', '650', '620', '590', '560', '530', '500']);
    expect(JSON.parse(await page.getByLabel('Raw filter (JSON)').inputValue())).toEqual({ $and: [{ genre: { $eq: 'science' } }, { pages: { $gte: 500 } }] });

    await builder.getByLabel('Match').selectOption('or');
    await builder.getByRole('button', { name: 'Apply filter' }).click();
    // science (23) or pages ≥ 500 (21, 7 of them science) = 37
    await expect.poll(async () => (await rowIds()).length).toBe(37);

    // a number field given text: refused here, in words, before anything is sent
    await builder.getByLabel('Condition 2 value').fill('lots');
    await builder.getByRole('button', { name: 'Apply filter' }).click();
    await builder.getByRole('alert').filter({ hasText: 'pages takes a number, not “lots”' }).waitFor();

    const raw = page.getByLabel('Raw filter (JSON)');
    await raw.fill('{"pages": {"$gt": true}}');
    await page.getByRole('button', { name: 'Apply raw filter' }).click();
    const refused = page.getByRole('alert').filter({ hasText: 'The records could not be listed' });
    await refused.waitFor();
    expect(await refused.textContent()).toContain('$gt takes a number or a string');
    expect(await refused.textContent()).toContain('invalid_filter');
    expect(await page.locator('tbody tr').count()).toBe(0); // no stale rows passing for the refused filter's answer

    await raw.fill('{"pages": {"$gt": ');
    await page.getByRole('button', { name: 'Apply raw filter' }).click();
    await page.getByRole('alert').filter({ hasText: 'The filter is not JSON' }).waitFor();

    await raw.fill('{"$or": [{"genre": "history"}, {"tags": {"$contains": "classic"}}]}');
    await page.getByRole('button', { name: 'Apply raw filter' }).click();
    // history: i % 3 = 2 (23); classic: i % 7 = 0 (10), 3 of them history (i = 14, 35, 56) → 30
    await expect.poll(async () => (await rowIds()).length).toBe(30);
    await expect.poll(() => refused.count()).toBe(0);
    // the builder shows the raw filter as rows
    expect(await builder.getByLabel('Condition 2 value').inputValue()).toBe('classic');
    expect(await builder.getByLabel('Condition 2 operator').inputValue()).toBe('$contains');
    expect(await builder.getByLabel('Match').inputValue()).toBe('or');

    const before = await rowIds();
    await page.reload();
    await expect.poll(rowIds).toEqual(before);
    expect(await page.locator('thead th[aria-sort="descending"]').textContent()).toContain('pages');
    expect(JSON.parse(await page.getByLabel('Raw filter (JSON)').inputValue())).toEqual({ $or: [{ genre: 'history' }, { tags: { $contains: 'classic' } }] });

    await page.getByRole('button', { name: 'Clear filter' }).click();
    await expect.poll(async () => (await rowIds()).length).toBe(50);
  });

  it('pages by keyset: page 2 stays put while others write, a reload lands on it, previous goes back', { timeout: 40_000 }, async () => {
    await page.locator('thead th').nth(PAGES_COL - 1).getByRole('button').click(); // pages ascending
    await expect.poll(async () => (await column(PAGES_COL)).slice(0, 1)).toEqual(['10']);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('Page 2: 20 records').waitFor();
    await expect.poll(async () => (await column(PAGES_COL)).slice(0, 1)).toEqual(['510']);
    const page2 = await rowIds();

    // writes before the page (would shift an offset page), after it and inside it
    const first = (await h.api<{ items: Rec[] }>('GET', '/api/collections/books/records?sort=pages&limit=1')).body.items[0]!;
    expect(first.pages).toBe(10);
    expect((await h.api('DELETE', `/api/collections/books/records/${first.id}`)).status).toBe(204);
    const early = await create({ title: 'Early', pages: 1 });
    await create({ title: 'Earlier', pages: 2 });
    const inside = await create({ title: 'Inside', pages: 555 });
    await page.locator(`tr[data-id="${inside.id}"]`).waitFor();
    const now = await rowIds();
    expect(now.filter((id) => id !== inside.id)).toEqual(page2);
    expect((await column(PAGES_COL)).slice(0, 6)).toEqual(['510', '520', '530', '540', '550', '555']);

    expect(decodeURIComponent(await page.evaluate<string>('location.hash'))).toMatch(/after=\[\[500,"/);
    await page.reload();
    await expect.poll(rowIds).toEqual(now);
    await page.getByText('Page 2: 21 records').waitFor();

    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('Page 1: 50 records').waitFor();
    await expect.poll(async () => (await column(PAGES_COL)).slice(0, 3)).toEqual(['1', '2', '20']);
    expect((await rowIds())[0]).toBe(early.id);
  });

  it('highlights a row that changes, live; rows appear and disappear as others write', { timeout: 30_000 }, async () => {
    const id = (await rowIds())[3]!;
    const row = page.locator(`tr[data-id="${id}"]`);
    expect(await row.getAttribute('class')).toBeNull();
    const before = (await get(id)).body;
    expect((await h.api('PATCH', `/api/collections/books/records/${id}`, { title: 'Changed elsewhere' })).status).toBe(200);
    await expect.poll(() => row.getAttribute('class')).toContain('rec-changed');
    expect(await row.locator('td').nth(TITLE_COL - 1).textContent()).toBe('Changed elsewhere');
    expect(await row.getAttribute('data-version')).toBe(String(before.version + 1));
    await expect.poll(() => row.getAttribute('class'), { timeout: 5000 }).toBeNull(); // the highlight is brief

    const appeared = await create({ title: 'Appears', pages: 3 });
    await page.locator(`tr[data-id="${appeared.id}"]`).waitFor();
    await h.api('DELETE', `/api/collections/books/records/${appeared.id}`);
    await page.locator(`tr[data-id="${appeared.id}"]`).waitFor({ state: 'detached' });
  });

  it('creates through the form: the server refuses at the field, then it is created with a relation picked from a searchable list', { timeout: 40_000 }, async () => {
    await page.getByRole('button', { name: 'New record' }).click();
    const editor = page.getByRole('region', { name: 'New books record' });
    await editor.waitFor();
    await editor.getByLabel('title').fill('A Wizard of Earthsea');
    await editor.getByLabel('pages').fill('0');
    await editor.getByLabel('genre').selectOption('fiction');
    await editor.getByLabel('rating').fill('4.5');
    await editor.getByLabel('published').check();
    await editor.getByLabel('releasedAt').fill('1968-11-01T12:30:00.000');
    await editor.getByRole('button', { name: 'Add tags item' }).click();
    await editor.getByLabel('tags item 1').fill('classic');
    await editor.getByLabel('isbn').fill('978-0-553-38304-8');
    await editor.getByRole('button', { name: 'Create record' }).click();

    const error = editor.locator('[data-error-for="/pages"]');
    await error.waitFor();
    expect(await error.textContent()).toBe('must be >= 1');
    expect(await editor.getByLabel('pages').getAttribute('aria-invalid')).toBe('true');
    expect(await editor.getByRole('alert').textContent()).toContain('validation_failed');

    await editor.getByLabel('pages').fill('183');
    await editor.getByRole('button', { name: 'Choose from authors for author' }).click();
    await editor.getByRole('searchbox', { name: 'Search authors by name' }).fill('Le G');
    const options = editor.getByRole('list', { name: 'authors records' });
    await expect.poll(async () => (await options.getByRole('button').allTextContents()).map((t) => t.split(' ').slice(0, 3).join(' '))).toEqual(['Ursula Le Guin']);
    await options.getByRole('button').first().click();
    await editor.locator('.rec-chip', { hasText: 'Ursula Le Guin' }).waitFor();
    await editor.getByRole('button', { name: 'Choose from users for reviewer' }).click();
    await editor.getByRole('searchbox', { name: 'Search users by username' }).fill('root');
    await editor.getByRole('list', { name: 'users records' }).getByRole('button', { name: /root_admin/ }).click();
    await editor.getByRole('button', { name: 'Create record' }).click();

    const status = page.getByRole('status').filter({ hasText: /^Created / });
    await status.waitFor();
    const id = /Created (\S+)\./.exec((await status.textContent())!)![1]!;
    const saved = (await get(id)).body;
    expect(saved).toMatchObject({ title: 'A Wizard of Earthsea', pages: 183, genre: 'fiction', rating: 4.5, published: true, releasedAt: '1968-11-01T12:30:00.000Z', tags: ['classic'], details: { isbn: '978-0-553-38304-8' }, author: authors['Ursula Le Guin'], reviewer: adminId });
    const row = page.locator(`tr[data-id="${id}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(AUTHOR_COL - 1).textContent()).toBe('Ursula Le Guin');
    expect(await row.locator('td').nth(AUTHOR_COL).textContent()).toBe('root_admin');
  });

  it('resolves edit conflicts (opened by ?open=<id>): keep theirs, edit again, overwrite with mine', { timeout: 60_000 }, async () => {
    const target = await create({ title: 'Conflicted', pages: 222, rating: 1, author: authors['Octavia Butler'] });
    const open = async (): Promise<ReturnType<Page['getByRole']>> => {
      await page.goto(`${h.url}/_/#/collections/books/records?sort=pages&open=${target.id}`);
      const editor = page.getByRole('region', { name: `Edit ${target.id}` });
      await editor.getByLabel('title').waitFor();
      return editor;
    };
    let editor = await open();
    expect(await editor.getByLabel('title').inputValue()).toBe('Conflicted');
    expect(await editor.locator('.rec-chip', { hasText: 'Octavia Butler' }).count()).toBe(1); // the relation by its readable field
    let version = (await get(target.id)).body.version;
    await editor.getByText(`Editing version ${version}`).waitFor();

    // 1. someone saves between open and save: keep theirs
    await editor.getByLabel('title').fill('Mine 1');
    expect((await h.api('PATCH', `/api/collections/books/records/${target.id}`, { rating: 4 })).status).toBe(200);
    await editor.getByRole('button', { name: 'Save' }).click();
    const conflict = page.getByRole('region', { name: `Conflict: ${target.id} changed on the server` });
    await conflict.waitFor();
    expect(await conflict.getByRole('alert').textContent()).toContain(`saved version ${version + 1} after you opened version ${version}`);
    const differing = await conflict.locator('tr.rec-differs th').allTextContents();
    expect(differing.map((t) => t.replace(' differs', ''))).toEqual(['title', 'rating']);
    expect(await conflict.locator('tr[data-field="title"] td').allTextContents()).toEqual(['Mine 1', 'Conflicted']);
    expect(await conflict.locator('tr[data-field="rating"] td').allTextContents()).toEqual(['1', '4']);
    await conflict.getByRole('button', { name: 'Keep theirs' }).click();
    await page.getByRole('status').filter({ hasText: `Kept the server's version ${version + 1}` }).waitFor();
    expect((await get(target.id)).body).toMatchObject({ title: 'Conflicted', rating: 4, version: version + 1 });

    // 2. edit again on top of theirs, then save with their version
    editor = await open();
    version = (await get(target.id)).body.version;
    await editor.getByLabel('title').fill('Mine 2');
    expect((await h.api('PATCH', `/api/collections/books/records/${target.id}`, { pages: 333 })).status).toBe(200);
    await editor.getByRole('button', { name: 'Save' }).click();
    await conflict.getByRole('button', { name: 'Edit again' }).click();
    await editor.getByText(`Editing version ${version + 1}`).waitFor();
    expect(await editor.getByLabel('title').inputValue()).toBe('Mine 2');
    await editor.getByLabel('pages').fill('333');
    await editor.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: `Saved ${target.id} (version ${version + 2})` }).waitFor();
    expect((await get(target.id)).body).toMatchObject({ title: 'Mine 2', pages: 333, rating: 4 });

    // 3. overwrite with mine (If-Match: their version)
    editor = await open();
    version = (await get(target.id)).body.version;
    await editor.getByLabel('rating').fill('2.5');
    expect((await h.api('PATCH', `/api/collections/books/records/${target.id}`, { title: 'Theirs 3' })).status).toBe(200);
    await editor.getByRole('button', { name: 'Save' }).click();
    await conflict.waitFor();
    expect(await conflict.locator('tr[data-field="title"] td').allTextContents()).toEqual(['Mine 2', 'Theirs 3']);
    await conflict.getByRole('button', { name: 'Overwrite with mine' }).click();
    await page.getByRole('status').filter({ hasText: `Saved ${target.id} (version ${version + 2})` }).waitFor();
    expect((await get(target.id)).body).toMatchObject({ title: 'Mine 2', rating: 2.5, version: version + 2 });
  });

  it('deletes only after confirming (Escape cancels)', { timeout: 30_000 }, async () => {
    const doomed = await create({ title: 'Doomed', pages: 4 });
    const row = page.locator(`tr[data-id="${doomed.id}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: `Delete ${doomed.id}` }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `Delete ${doomed.id}?` });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await get(doomed.id)).status).toBe(200);
    await row.getByRole('button', { name: `Delete ${doomed.id}` }).click();
    await dialog.getByRole('button', { name: 'Delete record' }).click();
    await page.getByRole('status').filter({ hasText: `Deleted ${doomed.id}.` }).waitFor();
    await row.waitFor({ state: 'detached' });
    expect((await get(doomed.id)).status).toBe(404);
  });

  it('reaches every control by keyboard', { timeout: 30_000 }, async () => {
    await page.goto(`${h.url}/_/#/collections/books/records?sort=pages`);
    await page.locator('tbody tr').first().waitFor();
    const reached = new Set<string>();
    await page.locator('body').focus();
    for (let i = 0; i < 120; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate<string>(`(() => {
        const el = document.activeElement;
        return el ? el.tagName.toLowerCase() + ':' + (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40) : '';
      })()`));
    }
    for (const expected of ['button:New record', 'summary:Columns', 'button:Add condition', 'button:Apply filter', 'textarea:', 'button:Apply raw filter', 'button:Next page', 'button:title', 'button:pages ▲', 'a:Edit']) {
      expect([...reached].some((r) => r.startsWith(expected)), `${expected} in ${[...reached].join(' | ')}`).toBe(true);
    }
  });

  for (const width of [375, 1440]) {
    it(`has no serious or critical accessibility violation at ${width} px, and no horizontal page overflow`, { timeout: 60_000 }, async () => {
      const p = await h.open({ width, hash: `#/collections/books/records?new=1` });
      await signIn(p);
      await p.getByRole('region', { name: 'New books record' }).waitFor();
      await p.locator('tbody tr').first().waitFor();
      await p.getByRole('button', { name: 'Add condition' }).click();
      await p.getByRole('button', { name: 'Choose from authors for author' }).click();
      await p.getByRole('list', { name: 'authors records' }).waitFor();
      expect(await seriousViolations(p)).toEqual([]);
      const overflow = await p.evaluate(`[...document.querySelectorAll('body *')].filter((e) => !e.closest('.table-wrap') && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)`);
      expect(overflow).toEqual([]);
      expect(await p.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBe(0);
      await p.context().close();
    });
  }

  it('logged no page error or CSP violation', () => {
    expect(h.problems.filter((p) => !/the server responded with a status of (400|404|409|412)/.test(p))).toEqual([]);
  });
});
