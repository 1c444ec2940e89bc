import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';

const TASKS_SCHEMA = {
  type: 'object',
  required: ['title'],
  additionalProperties: false,
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    done: { type: 'boolean' },
    priority: { type: 'integer', minimum: 0, maximum: 5 },
    tags: { type: 'array', items: { type: 'string' } },
    meta: { type: 'object' },
  },
};

describe.each(STORES)('records API on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  let alice: Account;
  let bob: Account;
  let disposeDb: () => Promise<void> = async () => undefined;

  async function createCollection(name: string, rules: Record<string, string> = {}, schema: object = TASKS_SCHEMA): Promise<void> {
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema, rules, indexes: [['priority']] } });
    expect(res.statusCode, res.body).toBe(201);
  }

  async function create(name: string, body: object, token?: string): Promise<Record<string, unknown>> {
    const res = await t.request({ method: 'POST', url: `/api/collections/${name}/records`, token, body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  beforeAll(async () => {
    if (backend.skipReason) return;
    const db = await createTestDatabaseUrl(backend.name);
    disposeDb = db.dispose;
    t = await startTestSigil({ databaseUrl: db.url });
    admin = await createAdmin(t);
    alice = await register(t, 'alice');
    bob = await register(t, 'bob');
    await createCollection('tasks');
    await createCollection('notes', { list: 'owner', view: 'owner', update: 'owner', delete: 'owner' });
    await createCollection('board', { list: 'public', view: 'public', create: 'public' });
    await createCollection('secrets', { list: 'admin', view: 'admin', create: 'admin', update: 'admin', delete: 'admin' });
  });
  afterAll(async () => {
    await t?.close();
    await disposeDb();
  });

  describe.skipIf(backend.skipReason !== null)('CRUD', () => {
    it('creates a flat record with server-set system fields, ignoring system fields in the body', async () => {
      const before = Date.now();
      const res = await t.request({
        method: 'POST',
        url: '/api/collections/tasks/records',
        token: alice.accessToken,
        body: { title: 'write tests', done: false, owner: bob.id, version: 99, createdAt: '2000-01-01T00:00:00.000Z' },
      });
      expect(res.statusCode, res.body).toBe(201);
      const record = res.json<Record<string, unknown>>();
      expect(Object.keys(record).sort()).toEqual(['createdAt', 'done', 'id', 'owner', 'title', 'updatedAt', 'version']);
      expect(record).toMatchObject({ title: 'write tests', done: false, owner: alice.id, version: 1 });
      expect(Date.parse(record['createdAt'] as string)).toBeGreaterThanOrEqual(before - 1000);
      expect(record['id']).toMatch(/^[0-9A-Z]{26}$/);
      expect(res.headers['etag']).toBe('"1"');
    });

    it('server ids are time-sortable', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await create('tasks', { title: `t${i}` }, alice.accessToken))['id'] as string);
      const sorted = [...ids].sort();
      // Within one millisecond the random part decides; across milliseconds time does.
      expect(sorted[0]! <= ids[4]!).toBe(true);
    });

    it('accepts a client id once, then 409; refuses malformed ids', async () => {
      await create('tasks', { id: 'my-id_1', title: 'mine' }, alice.accessToken);
      expectError(await t.request({ method: 'POST', url: '/api/collections/tasks/records', token: alice.accessToken, body: { id: 'my-id_1', title: 'again' } }), 409, 'conflict');
      for (const id of ['has space', 'a/b', '', 'x'.repeat(65), 5]) {
        expectError(await t.request({ method: 'POST', url: '/api/collections/tasks/records', token: alice.accessToken, body: { id, title: 'x' } }), 400, 'validation_failed');
      }
    });

    it('validates every write against the schema and changes nothing on failure', async () => {
      const bad = [{}, { title: '' }, { title: 5 }, { title: 'x', priority: 9 }, { title: 'x', unknown: 1 }, { title: 'x', tags: [1] }];
      for (const body of bad) {
        const res = await t.request({ method: 'POST', url: '/api/collections/tasks/records', token: alice.accessToken, body });
        expectError(res, 400, 'validation_failed');
        expect(res.json<{ error: { details: unknown[] } }>().error.details.length).toBeGreaterThan(0);
      }
      const record = await create('tasks', { title: 'valid', priority: 1 }, alice.accessToken);
      const url = `/api/collections/tasks/records/${record['id'] as string}`;
      expectError(await t.request({ method: 'PATCH', url, token: alice.accessToken, body: { priority: 'high' } }), 400, 'validation_failed');
      expectError(await t.request({ method: 'PATCH', url, token: alice.accessToken, body: { title: null } }), 400, 'validation_failed');
      expectError(await t.request({ method: 'PUT', url, token: alice.accessToken, body: { priority: 2 } }), 400, 'validation_failed');
      const after = await t.request({ method: 'GET', url, token: alice.accessToken });
      expect(after.json()).toMatchObject({ title: 'valid', priority: 1, version: 1 });
    });

    it('PATCH is a JSON merge patch; PUT replaces the user fields; version grows by one each time', async () => {
      const record = await create('tasks', { title: 'merge me', done: false, meta: { a: 1, b: 2 } }, alice.accessToken);
      const url = `/api/collections/tasks/records/${record['id'] as string}`;
      const patched = await t.request({ method: 'PATCH', url, token: alice.accessToken, body: { done: true, meta: { a: null, c: 3 } } });
      expect(patched.statusCode, patched.body).toBe(200);
      expect(patched.json()).toMatchObject({ title: 'merge me', done: true, meta: { b: 2, c: 3 }, version: 2 });
      expect(patched.headers['etag']).toBe('"2"');
      const replaced = await t.request({ method: 'PUT', url, token: alice.accessToken, body: { title: 'replaced', id: 'ignored' } });
      expect(replaced.statusCode, replaced.body).toBe(200);
      const body = replaced.json<Record<string, unknown>>();
      expect(body).toMatchObject({ id: record['id'], title: 'replaced', version: 3, owner: alice.id, createdAt: record['createdAt'] });
      expect(body['done']).toBeUndefined();
      expect(Date.parse(body['updatedAt'] as string)).toBeGreaterThanOrEqual(Date.parse(record['updatedAt'] as string));
    });

    it('ETag and If-Match: a stale version is 412 and changes nothing', async () => {
      const record = await create('tasks', { title: 'etag' }, alice.accessToken);
      const url = `/api/collections/tasks/records/${record['id'] as string}`;
      const get = await t.request({ method: 'GET', url, token: alice.accessToken });
      expect(get.headers['etag']).toBe('"1"');
      expect((await t.request({ method: 'GET', url, token: alice.accessToken, headers: { 'if-none-match': '"1"' } })).statusCode).toBe(304);
      expect((await t.request({ method: 'PATCH', url, token: alice.accessToken, body: { done: true }, headers: { 'if-match': '"1"' } })).statusCode).toBe(200);
      expectError(await t.request({ method: 'PATCH', url, token: alice.accessToken, body: { done: false }, headers: { 'if-match': '"1"' } }), 412, 'precondition_failed');
      expectError(await t.request({ method: 'PUT', url, token: alice.accessToken, body: { title: 'x' }, headers: { 'if-match': '"1"' } }), 412, 'precondition_failed');
      expectError(await t.request({ method: 'DELETE', url, token: alice.accessToken, headers: { 'if-match': '"7"' } }), 412, 'precondition_failed');
      expect((await t.request({ method: 'GET', url, token: alice.accessToken })).json()).toMatchObject({ done: true, version: 2 });
      expect((await t.request({ method: 'DELETE', url, token: alice.accessToken, headers: { 'if-match': '"2"' } })).statusCode).toBe(204);
      expectError(await t.request({ method: 'GET', url, token: alice.accessToken }), 404, 'not_found');
    });

    it('hostile bodies: prototype keys, over 1 MiB, wrong content type, deep nesting, SQL in values', async () => {
      const url = '/api/collections/tasks/records';
      const proto = await t.request({ method: 'POST', url, token: alice.accessToken, body: '{"title":"x","__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } });
      expectError(proto, 400, 'bad_request');
      const ctor = await t.request({ method: 'POST', url, token: alice.accessToken, body: '{"title":"x","constructor":{"prototype":{"admin":true}}}', headers: { 'content-type': 'application/json' } });
      expectError(ctor, 400, 'bad_request');
      const huge = JSON.stringify({ title: 'x'.repeat(1024 * 1024) });
      expectError(await t.request({ method: 'POST', url, token: alice.accessToken, body: huge, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
      expectError(await t.request({ method: 'POST', url, token: alice.accessToken, body: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
      const deep = `{"title":"x","meta":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
      expectError(await t.request({ method: 'POST', url, token: alice.accessToken, body: deep, headers: { 'content-type': 'application/json' } }), 400, 'validation_failed');
      const sql = "'; DROP TABLE users; --";
      const stored = await create('tasks', { title: sql }, alice.accessToken);
      expect(stored['title']).toBe(sql);
      const found = await t.request({ method: 'GET', url: `${url}?filter=${encodeURIComponent(JSON.stringify({ title: sql }))}`, token: alice.accessToken });
      expect(found.json<{ items: { id: string }[] }>().items.map((r) => r.id)).toEqual([stored['id']]);
      expect(await t.sigil.store.users.countUsers()).toBeGreaterThan(0);
      expect((await t.request({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
    });

    it('unknown collections and records are 404', async () => {
      expectError(await t.request({ method: 'GET', url: '/api/collections/nope/records', token: alice.accessToken }), 404, 'not_found');
      expectError(await t.request({ method: 'GET', url: '/api/collections/tasks/records/does-not-exist', token: alice.accessToken }), 404, 'not_found');
      expectError(await t.request({ method: 'PATCH', url: '/api/collections/tasks/records/does-not-exist', token: alice.accessToken, body: {} }), 404, 'not_found');
    });
  });

  describe.skipIf(backend.skipReason !== null)('access rules', () => {
    it('default rules: authenticated read and create, owner update and delete', async () => {
      const record = await create('tasks', { title: 'alice owns this' }, alice.accessToken);
      const url = `/api/collections/tasks/records/${record['id'] as string}`;
      // Anonymous callers may read nothing of it: to them it does not exist (SPEC §4.5).
      expectError(await t.request({ method: 'GET', url }), 404, 'not_found');
      expectError(await t.request({ method: 'POST', url: '/api/collections/tasks/records', body: { title: 'anon' } }), 404, 'not_found');
      expect((await t.request({ method: 'GET', url, token: bob.accessToken })).statusCode).toBe(200);
      expectError(await t.request({ method: 'PATCH', url, token: bob.accessToken, body: { done: true } }), 403, 'forbidden');
      expectError(await t.request({ method: 'DELETE', url, token: bob.accessToken }), 403, 'forbidden');
      expect((await t.request({ method: 'PATCH', url, token: admin.accessToken, body: { done: true } })).statusCode).toBe(200);
      expect((await t.request({ method: 'GET', url, token: alice.accessToken })).json()).toMatchObject({ done: true, version: 2 });
    });

    it('owner rules: others get 404 for records they cannot view, and lists show only their own', async () => {
      const mine = await create('notes', { title: 'alice note' }, alice.accessToken);
      await create('notes', { title: 'bob note' }, bob.accessToken);
      const url = `/api/collections/notes/records/${mine['id'] as string}`;
      expectError(await t.request({ method: 'GET', url, token: bob.accessToken }), 404, 'not_found');
      expectError(await t.request({ method: 'PATCH', url, token: bob.accessToken, body: { title: 'hijack' } }), 404, 'not_found');
      expectError(await t.request({ method: 'DELETE', url, token: bob.accessToken }), 404, 'not_found');
      const list = (await t.request({ method: 'GET', url: '/api/collections/notes/records', token: bob.accessToken })).json<{ items: { owner: string }[] }>();
      expect(list.items.length).toBeGreaterThan(0);
      expect(list.items.every((r) => r.owner === bob.id)).toBe(true);
      const all = (await t.request({ method: 'GET', url: '/api/collections/notes/records', token: admin.accessToken })).json<{ items: unknown[] }>();
      expect(all.items.length).toBeGreaterThan(list.items.length);
      // An explicit filter cannot widen it.
      const sneaky = await t.request({ method: 'GET', url: `/api/collections/notes/records?filter=${encodeURIComponent(JSON.stringify({ owner: alice.id }))}`, token: bob.accessToken });
      expect(sneaky.json<{ items: unknown[] }>().items).toEqual([]);
    });

    it('public rules need no token; anonymous records have no owner', async () => {
      const res = await t.request({ method: 'POST', url: '/api/collections/board/records', body: { title: 'hello world' } });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json<{ owner: unknown }>().owner).toBeNull();
      expect((await t.request({ method: 'GET', url: '/api/collections/board/records' })).statusCode).toBe(200);
      // update is still the default `owner`: nobody but an admin may change an ownerless record.
      const url = `/api/collections/board/records/${res.json<{ id: string }>().id}`;
      expectError(await t.request({ method: 'PATCH', url, body: { title: 'x' } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'PATCH', url, token: alice.accessToken, body: { title: 'x' } }), 403, 'forbidden');
    });

    it('admin rules: to users and anonymous callers the collection does not exist; admins pass', async () => {
      const missing = await t.request({ method: 'GET', url: '/api/collections/nosuch/records', token: alice.accessToken });
      expectError(missing, 404, 'not_found');
      for (const token of [alice.accessToken, undefined]) {
        for (const res of [
          await t.request({ method: 'GET', url: '/api/collections/secrets/records', token }),
          await t.request({ method: 'GET', url: '/api/collections/secrets/records/some-id', token }),
          await t.request({ method: 'POST', url: '/api/collections/secrets/records', token, body: { title: 'x' } }),
          await t.request({ method: 'PATCH', url: '/api/collections/secrets/records/some-id', token, body: { title: 'x' } }),
          await t.request({ method: 'DELETE', url: '/api/collections/secrets/records/some-id', token }),
        ]) {
          expectError(res, 404, 'not_found');
          // Exactly the answer for a name that does not exist, but for the name itself.
          expect(res.body.replace('secrets', 'nosuch')).toBe(missing.body);
        }
      }
      await create('secrets', { title: 'classified' }, admin.accessToken);
      expect((await t.request({ method: 'GET', url: '/api/collections/secrets/records', token: admin.accessToken })).json<{ items: unknown[] }>().items).toHaveLength(1);
    });
  });

  describe.skipIf(backend.skipReason !== null)('lists', () => {
    it('filters, sorts and pages with stable keyset cursors while records are inserted', async () => {
      await createCollection('pages', { list: 'authenticated' });
      for (let i = 0; i < 25; i++) await create('pages', { title: `p${String(i).padStart(2, '0')}`, priority: i % 5, done: i % 2 === 0 }, alice.accessToken);
      const filter = encodeURIComponent(JSON.stringify({ done: false, priority: { $gte: 1 } }));
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 50; page++) {
        const url: string = `/api/collections/pages/records?filter=${filter}&sort=-priority,title&limit=3${after ? `&after=${after}` : ''}`;
        const res = await t.request({ method: 'GET', url, token: alice.accessToken });
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json<{ items: { title: string; priority: number; done: boolean }[]; nextCursor: string | null; seq: number }>();
        expect(typeof body.seq).toBe('number');
        for (const item of body.items) {
          expect(item.done).toBe(false);
          expect(item.priority).toBeGreaterThanOrEqual(1);
          seen.push(`${item.priority}:${item.title}`);
        }
        // Concurrent inserts that sort before the cursor must not shift later pages.
        await create('pages', { title: `late${page}`, priority: 5, done: false }, alice.accessToken);
        after = body.nextCursor;
        if (!after) break;
      }
      const expected = [...seen].sort((a, b) => Number(b.split(':')[0]) - Number(a.split(':')[0]) || a.localeCompare(b));
      expect(seen).toEqual(expected);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBe(10); // 12 odd-numbered minus the two with priority 0
    });

    it('two sorts that read the same rows still get cursors of their own (answers are cached per query)', async () => {
      await createCollection('same_rows', { list: 'authenticated' });
      for (let i = 0; i < 3; i++) await create('same_rows', { title: `s${i}`, priority: 3 }, alice.accessToken);
      const filter = encodeURIComponent(JSON.stringify({ priority: 3 }));
      // With priority fixed by the filter, both sorts read the rows in the same order (by title).
      const page = async (sort: string, after?: string) => {
        const url = `/api/collections/same_rows/records?filter=${filter}&sort=${sort}&limit=1${after ? `&after=${after}` : ''}`;
        return t.request({ method: 'GET', url, token: alice.accessToken });
      };
      const bySort = new Map<string, string>();
      for (const sort of ['-title', 'priority,-title', '-title', 'priority,-title']) {
        const res = await page(sort);
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json<{ items: { title: string }[]; nextCursor: string }>();
        expect(body.items.map((r) => r.title)).toEqual(['s2']);
        if (bySort.has(sort)) expect(body.nextCursor).toBe(bySort.get(sort));
        bySort.set(sort, body.nextCursor);
      }
      expect(bySort.get('-title')).not.toBe(bySort.get('priority,-title'));
      for (const [sort, cursor] of bySort) {
        const next = await page(sort, cursor);
        expect(next.json<{ items: { title: string }[] }>().items.map((r) => r.title)).toEqual(['s1']);
        expectError(await page(sort === '-title' ? 'priority,-title' : '-title', cursor), 400, 'bad_request');
      }
    });

    it('the default order is createdAt then id, limit defaults to 50', async () => {
      const res = await t.request({ method: 'GET', url: '/api/collections/tasks/records', token: alice.accessToken });
      const items = res.json<{ items: { createdAt: string; id: string }[] }>().items;
      expect(items.length).toBeLessThanOrEqual(50);
      const keys = items.map((r) => `${r.createdAt}|${r.id}`);
      expect(keys).toEqual([...keys].sort());
    });

    it('seq reflects the change log: a write raises it', async () => {
      const first = (await t.request({ method: 'GET', url: '/api/collections/tasks/records?limit=1', token: alice.accessToken })).json<{ seq: number }>().seq;
      await create('tasks', { title: 'bump' }, alice.accessToken);
      const second = (await t.request({ method: 'GET', url: '/api/collections/tasks/records?limit=1', token: alice.accessToken })).json<{ seq: number }>().seq;
      expect(second).toBe(first + 1);
      const changes = await t.sigil.store.changes.readChanges(first, 10);
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ seq: second, collection: 'tasks', op: 'create' });
    });

    it.each<[string, string | null]>([
      ['filter=not-json', 'invalid_filter'],
      [`filter=${encodeURIComponent('{"$where":"1"}')}`, 'invalid_filter'],
      [`filter=${encodeURIComponent('{"title\\"; DROP TABLE users; --":1}')}`, 'invalid_filter'],
      [`filter=${encodeURIComponent('{"title":{"$gt":{"nested":1}}}')}`, 'invalid_filter'],
      [`filter=${encodeURIComponent('{"__proto__":{"x":1}}')}`, 'invalid_filter'],
      [`filter=${encodeURIComponent('{"constructor":1}')}`, 'invalid_filter'],
      [`filter=${encodeURIComponent(`${'{"$not":'.repeat(2000)}{"a":1}${'}'.repeat(2000)}`)}`, 'invalid_filter'],
      [`filter=${encodeURIComponent(JSON.stringify({ priority: { $in: Array.from({ length: 100_000 }, (_, i) => i) } }))}`, 'invalid_filter'],
      [`filter=${encodeURIComponent('{"priority":{"$gte":"1; DROP TABLE x"}}')}`, null],
      ['limit=0', 'bad_request'],
      ['limit=201', 'bad_request'],
      ['limit=abc', 'bad_request'],
      ['after=garbage', 'bad_request'],
      ['sort=title;drop', 'bad_request'],
    ])('%s is a 400 %s', async (query, code) => {
      const res = await t.request({ method: 'GET', url: `/api/collections/tasks/records?${query}`, token: alice.accessToken });
      // null: a hostile-looking value that is simply compared as a string.
      if (code === null) expect(res.statusCode).toBe(200);
      else expectError(res, 400, code);
      expect((await t.request({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
    });
  });

  describe.skipIf(backend.skipReason !== null)('change log', () => {
    it('every write appends its change in the same transaction; a failed write leaves neither', async () => {
      const before = await t.sigil.store.changes.latestSeq();
      const record = await create('tasks', { title: 'logged' }, alice.accessToken);
      const url = `/api/collections/tasks/records/${record['id'] as string}`;
      await t.request({ method: 'PATCH', url, token: alice.accessToken, body: { done: true } });
      await t.request({ method: 'DELETE', url, token: alice.accessToken });
      const changes = await t.sigil.store.changes.readChanges(before, 10);
      expect(changes.map((c) => c.op)).toEqual(['create', 'update', 'delete']);
      expect(changes.map((c) => c.seq)).toEqual([before + 1, before + 2, before + 3]);
      expect(changes[1]!.record.data).toMatchObject({ title: 'logged', done: true });
      expect(changes[2]!.record.version).toBe(2);

      // A write that fails inside its transaction (duplicate id) leaves no change row.
      await create('tasks', { id: 'dup-1', title: 'one' }, alice.accessToken);
      const mid = await t.sigil.store.changes.latestSeq();
      expectError(await t.request({ method: 'POST', url: '/api/collections/tasks/records', token: alice.accessToken, body: { id: 'dup-1', title: 'two' } }), 409, 'conflict');
      expect(await t.sigil.store.changes.latestSeq()).toBe(mid);
      expect((await t.sigil.store.records.findRecord('tasks', 'dup-1'))?.data).toEqual({ title: 'one' });
    });
  });
});
