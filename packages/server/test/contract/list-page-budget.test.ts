/**
 * List pages are bounded in bytes, not only in count (LIST_PAGE_MB): a page
 * of large records stops early with a `nextCursor`, and following the cursors
 * still yields every record exactly once, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { createAdmin, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';

interface Page {
  items: { id: string; n: number }[];
  nextCursor: string | null;
}

describe.each(STORES)('list page budget on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name, { env: { LIST_PAGE_MB: '1' } });
    admin = await createAdmin(t);
    for (const name of ['big', 'small']) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: { type: 'object', properties: { n: { type: 'integer' }, blob: { type: 'string' } } } } });
      expect(res.statusCode, res.body).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  async function all(collection: string, sort: string): Promise<{ pages: Page[]; ids: string[] }> {
    const pages: Page[] = [];
    let after: string | null = null;
    do {
      const res = await t.request({ method: 'GET', url: `/api/collections/${collection}/records?limit=200&sort=${sort}${after ? `&after=${after}` : ''}`, token: admin.accessToken });
      expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
      const page = res.json<Page>();
      pages.push(page);
      after = page.nextCursor;
    } while (after !== null && pages.length < 100);
    return { pages, ids: pages.flatMap((p) => p.items.map((r) => r.id)) };
  }

  it.skipIf(backend.skipReason !== null)('a page of large records stops after the record that passes the budget; the cursors still walk every record once', async () => {
    const blob = 'y'.repeat(300_000);
    const ids: string[] = [];
    for (let n = 0; n < 13; n++) {
      const res = await t.request({ method: 'POST', url: '/api/collections/big/records', token: admin.accessToken, body: { n, blob } });
      expect(res.statusCode).toBe(201);
      ids.push(res.json<{ id: string }>().id);
    }
    for (const sort of ['createdAt', '-n']) {
      const { pages, ids: seen } = await all('big', sort);
      // 1 MiB budget, ~300 kB each: the fourth record passes it and ends the page.
      expect(pages.map((p) => p.items.length)).toEqual([4, 4, 4, 1]);
      expect(pages.at(-1)!.nextCursor).toBeNull();
      expect(seen).toEqual(sort === '-n' ? [...ids].reverse() : ids);
    }
  });

  it.skipIf(backend.skipReason !== null)('small records fill whole pages as before', async () => {
    for (let n = 0; n < 30; n++) await t.request({ method: 'POST', url: '/api/collections/small/records', token: admin.accessToken, body: { n } });
    const res = await t.request({ method: 'GET', url: '/api/collections/small/records?limit=25', token: admin.accessToken });
    const page = res.json<Page>();
    expect(page.items).toHaveLength(25);
    expect(page.nextCursor).not.toBeNull();
  });
});
