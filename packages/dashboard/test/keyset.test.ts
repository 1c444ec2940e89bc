/**
 * The records browser pages with filters ("after the last row of the
 * previous page", src/records/keyset.ts) instead of cursors, so that each
 * page can be a live query. Here those pages are read from a real server
 * and must equal its own cursor pages, over mixed-type sort values, every
 * direction, ties and a user filter, on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SigilClient } from '../../client/src/index.js';
import { startFixture, type Fixture } from '../../client/test/helpers.js';
import { STORES } from '../../server/test/helpers/stores.js';
import { afterCondition, all, boundaryOf, parseSort, type Filter, type ValueType } from '../src/records/keyset.js';

const ANY: ValueType[] = ['null', 'boolean', 'number', 'string', 'other'];
/** The fixture's schema (title required string, done boolean, n integer, priority untyped, tags array) as the browser reads it. */
const TYPES: Record<string, ValueType[]> = { title: ['string'], done: ['null', 'boolean'], n: ['null', 'number'], priority: ANY, tags: ['null', 'other'], id: ['string'], createdAt: ['string'], updatedAt: ['string'], owner: ['null', 'string'], version: ['number'] };
const fieldOf = (name: string): { types: ValueType[] } | undefined => (TYPES[name] ? { types: TYPES[name] } : undefined);

// Arrays but no objects in `priority`: the filter language cannot tell an array from an object, so a field holding both pages by id among them (see docs/dashboard.md).
const PRIORITIES: unknown[] = [undefined, null, false, true, 3, -1.5, 3, 0, '', 'b', 'B', 'é', '😀', 'b', [1], ['x', 'y'], []];
const NS = [undefined, 1, 2, 2, -7, 0];
const DONE = [undefined, false, true];
const SORTS = ['priority', '-priority', 'n,priority', 'n,-priority', '-n,-priority', 'title,-n', '-done,title', 'done,-priority,n', 'createdAt', '-createdAt', '-version', 'tags,title'];
const LIMIT = 7;

describe.each(STORES)('keyset pages as filters equal cursor pages on $name', (backend) => {
  let f: Fixture;
  let client: SigilClient;
  beforeAll(async () => {
    if (backend.skipReason !== null) return;
    f = await startFixture(backend.name);
    client = createClient({ url: f.url });
    await client.auth.login({ username: f.admin.username, password: 'admin password 1' });
    const b = client.batch();
    for (let i = 0; i < 90; i++) {
      const record: Record<string, unknown> = { title: `t${i % 9}` };
      const [p, n, d] = [PRIORITIES[i % PRIORITIES.length], NS[i % NS.length], DONE[i % DONE.length]];
      if (p !== undefined) record['priority'] = p;
      if (n !== undefined) record['n'] = n;
      if (d !== undefined) record['done'] = d;
      if (i % 4 === 0) record['tags'] = ['a'];
      b.create('tasks', record);
    }
    await b.send();
    // a few more versions, so -version has ties and distinct values
    const some = await client.collection('tasks').list({ limit: 10 });
    for (const r of some.items) await client.collection('tasks').update(r.id, { title: `${r['title'] as string}!` });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await f?.close();
  });

  for (const filter of [{}, { done: { $ne: true } }] as Filter[]) {
    it.skipIf(backend.skipReason !== null)(`${SORTS.length} sorts, filter ${JSON.stringify(filter)}`, async () => {
      const tasks = client.collection('tasks');
      for (const sort of SORTS) {
        const byCursor: string[][] = [];
        for await (const page of tasks.pages({ filter, sort, limit: LIMIT })) if (page.items.length > 0) byCursor.push(page.items.map((r) => r.id));
        const keys = parseSort(sort);
        const byKeyset: string[][] = [];
        let boundary: readonly unknown[] | null = null;
        for (;;) {
          const page = await tasks.list({ filter: all([filter, boundary ? afterCondition(keys, boundary, fieldOf) : {}]), sort, limit: LIMIT });
          if (page.items.length === 0) break;
          byKeyset.push(page.items.map((r) => r.id));
          boundary = boundaryOf(page.items.at(-1)!, keys);
        }
        expect({ sort, pages: byKeyset }).toEqual({ sort, pages: byCursor });
      }
      expect(SORTS.length).toBeGreaterThan(0);
    });
  }
});
