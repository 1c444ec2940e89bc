import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';

interface Part {
  allowed: boolean;
  items: { id: string }[];
  hasMore: boolean;
}
interface Preview {
  user: { username: string } | null;
  list: Part;
  view: Part;
}

type Rules = Record<string, unknown>;

const SAVED: Rules = { list: 'admin', view: 'admin', create: 'authenticated', update: 'owner', delete: 'owner' };

/** Each keyword for list and view, an expression, and list and view differing. */
const CASES: [string, Rules][] = [
  ['public', { list: 'public', view: 'public' }],
  ['authenticated', { list: 'authenticated', view: 'authenticated' }],
  ['owner', { list: 'owner', view: 'owner' }],
  ['admin', { list: 'admin', view: 'admin' }],
  ['an expression', { list: 'public', view: { $or: [{ published: true }, { owner: '@auth.id' }] } }],
  ['list admin, view authenticated', { list: 'admin', view: 'authenticated' }],
  ['a list expression without variables', { list: { published: false }, view: 'public' }],
];

describe.each(STORES)('POST /api/admin/access-preview on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  let alice: Account;
  let bob: Account;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await startTestSigilOn(backend.name);
    admin = await createAdmin(t);
    alice = await register(t);
    bob = await register(t);
    const created = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'notes', schema: { type: 'object', properties: { text: { type: 'string' }, published: { type: 'boolean' } } }, rules: SAVED } });
    expect(created.statusCode, created.body).toBe(201);
    for (const [who, published] of [[alice, true], [alice, false], [bob, false], [admin, true]] as const) {
      const res = await t.request({ method: 'POST', url: '/api/collections/notes/records', token: who.accessToken, body: { text: who.username, published } });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json<{ id: string }>().id);
    }
  });
  afterAll(async () => t?.close());

  const preview = async (body: Record<string, unknown>, token = admin.accessToken) => t.request({ method: 'POST', url: '/api/admin/access-preview', token, body });
  const previewOk = async (body: Record<string, unknown>): Promise<Preview> => {
    const res = await preview(body);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    return res.json();
  };
  const savedRules = async (): Promise<unknown> => (await t.request({ method: 'GET', url: '/api/collections/notes', token: admin.accessToken })).json<{ collection: { rules: unknown } }>().collection.rules;

  /** What `who` really gets: their list (null for 404) and the records they may GET by id. */
  const real = async (who: Account | null): Promise<{ list: string[] | null; view: string[] }> => {
    const token = who?.accessToken;
    const res = await t.request({ method: 'GET', url: '/api/collections/notes/records', ...(token ? { token } : {}) });
    expect([200, 404], res.body).toContain(res.statusCode);
    const list = res.statusCode === 200 ? res.json<{ items: { id: string }[] }>().items.map((r) => r.id) : null;
    const view: string[] = [];
    for (const id of ids) {
      const one = await t.request({ method: 'GET', url: `/api/collections/notes/records/${id}`, ...(token ? { token } : {}) });
      expect([200, 404], one.body).toContain(one.statusCode);
      if (one.statusCode === 200) view.push(id);
    }
    return { list, view };
  };

  it.each(CASES)('agrees with what each user really reads once the rules are saved: %s', async (_label, rules) => {
    const users: [string, Account | null][] = [['anonymous', null], ['alice', alice], ['bob', bob], ['admin', admin]];
    const previews = new Map<string, Preview>();
    for (const [label, who] of users) previews.set(label, await previewOk({ collection: 'notes', rules, user: who?.username ?? null }));
    // Nothing was stored.
    expect(await savedRules()).toEqual(SAVED);

    const saved = await t.request({ method: 'PUT', url: '/api/collections/notes', token: admin.accessToken, body: { rules: { ...SAVED, ...rules } } });
    expect(saved.statusCode, saved.body).toBe(200);
    try {
      for (const [label, who] of users) {
        const p = previews.get(label)!;
        const r = await real(who);
        expect({ label, user: p.user?.username ?? null }).toEqual({ label, user: who?.username ?? null });
        expect({ label, allowed: p.list.allowed, items: p.list.items.map((i) => i.id) }).toEqual({ label, allowed: r.list !== null, items: r.list ?? [] });
        expect({ label, view: p.view.items.map((i) => i.id).sort() }).toEqual({ label, view: [...r.view].sort() });
        expect(p.list.hasMore).toBe(false);
      }
    } finally {
      await t.request({ method: 'PUT', url: '/api/collections/notes', token: admin.accessToken, body: { rules: SAVED } });
    }
  });

  it('tells apart the cases that matter: the saved rules give users nothing, the proposed owner rule their own records', async () => {
    const asAlice = await previewOk({ collection: 'notes', user: alice.username });
    expect(asAlice.list).toEqual({ allowed: false, items: [], hasMore: false });
    const owner = await previewOk({ collection: 'notes', rules: { list: 'owner', view: 'owner' }, user: alice.username });
    expect(owner.list.items.map((i) => i.id)).toEqual(ids.slice(0, 2));
    expect(owner.list.items[0]).toMatchObject({ id: ids[0], owner: alice.id, text: alice.username, published: true, version: 1 });
  });

  it('pages: limit bounds the items and hasMore says more are visible', async () => {
    const p = await previewOk({ collection: 'notes', rules: { list: 'public', view: 'public' }, user: null, limit: 3 });
    expect(p.list.items.map((i) => i.id)).toEqual(ids.slice(0, 3));
    expect(p.list.hasMore).toBe(true);
    expect(p.view.hasMore).toBe(true);
    expectError(await preview({ collection: 'notes', user: null, limit: 101 }), 400, 'validation_failed');
    expectError(await preview({ collection: 'notes', user: null, limit: 0 }), 400, 'validation_failed');
  });

  it('is for admins only: 401 without a token, 403 for a user', async () => {
    expectError(await t.request({ method: 'POST', url: '/api/admin/access-preview', body: { collection: 'notes', user: null } }), 401, 'unauthorized');
    expectError(await preview({ collection: 'notes', user: alice.username }, alice.accessToken), 403, 'forbidden');
  });

  it('checks the rules as a PUT would: 400 with details at the rule', async () => {
    const details = (res: Awaited<ReturnType<typeof preview>>) => res.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path);
    for (const [rules, at] of [[{ list: 'everyone' }, /^\/rules\/list$/], [{ view: { owner: '@auth.nope' } }, /^\/rules\/view/], [{ update: {} }, /^\/rules\/update/]] as const) {
      const bad = await preview({ collection: 'notes', rules, user: null });
      expectError(bad, 400, 'validation_failed');
      const put = await t.request({ method: 'PUT', url: '/api/collections/notes?dryRun=true', token: admin.accessToken, body: { rules } });
      expect(details(bad)).toEqual(details(put));
      expect(details(bad)[0]).toMatch(at);
    }
    expectError(await preview({ collection: 'notes', rules: { sometimes: 'public' }, user: null }), 400, 'validation_failed');
    expect(await savedRules()).toEqual(SAVED);
  });

  it('refuses an unknown user, a missing collection and a malformed body', async () => {
    const res = await preview({ collection: 'notes', user: 'nobody_here' });
    expectError(res, 400, 'validation_failed');
    expect(res.json<{ error: { details: { path: string }[] } }>().error.details[0]!.path).toBe('/user');
    expectError(await preview({ collection: 'nope', user: null }), 404, 'not_found');
    expect((await preview({ collection: 'notes' })).statusCode).toBe(400);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await t.request({ method: 'GET', url: '/api/openapi.json', token: admin.accessToken })).json<{ paths: Record<string, { post?: { operationId: string } }> }>();
    expect(doc.paths['/api/admin/access-preview']?.post?.operationId).toBe('getAccessPreview');
  });
});
