/**
 * SPEC §4.6 with §4.5: every expanded record passes its own collection's
 * `view` rule for the caller. For each rule kind (public, authenticated,
 * owner, admin, an expression) and each caller (anonymous, two users, an
 * admin), against a model: a hidden related record never appears in a GET,
 * a list, a nested path, a back-relation, nor a realtime event (replayed or
 * live); what may be seen always does, in the documented order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject, RuleValue } from '../../src/core/collections/collection.js';
import { createCollection, createRecord, relation, relations, type RecordOut } from '../helpers/relations.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, register, startTestSigilOn, uniqueName, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type Message, type TestSocket } from '../helpers/ws-client.js';

const PUBLISHED_OR_MINE: RuleValue = { $or: [{ pub: true }, { owner: '@auth.id' }] };
/** One notes collection per rule kind: `n_<kind>`. */
const KINDS: readonly { kind: string; view: RuleValue }[] = [
  { kind: 'pub', view: 'public' },
  { kind: 'auth', view: 'authenticated' },
  { kind: 'own', view: 'owner' },
  { kind: 'adm', view: 'admin' },
  { kind: 'expr', view: PUBLISHED_OR_MINE },
];
type Caller = 'anonymous' | 'u1' | 'u2' | 'admin';
const CALLERS: readonly Caller[] = ['anonymous', 'u1', 'u2', 'admin'];

interface Note { id: string; owner: 'u1' | 'u2'; pub: boolean; createdAt: string }

/** The model: may `caller` view `note` under `rule`? */
function visible(rule: RuleValue, caller: Caller, note: Note): boolean {
  if (caller === 'admin') return true;
  if (rule === PUBLISHED_OR_MINE) return note.pub || caller === note.owner;
  switch (rule) {
    case 'public':
      return true;
    case 'authenticated':
      return caller !== 'anonymous';
    case 'owner':
      return caller === note.owner;
    case 'admin':
      return false;
    default:
      throw new Error('no model');
  }
}
/** Whether the caller may read any record of the collection (else a back-relation through it is refused like a missing one). */
const readable = (rule: RuleValue, caller: Caller): boolean =>
  caller === 'admin' || rule === 'public' || rule === PUBLISHED_OR_MINE || (rule !== 'admin' && caller !== 'anonymous');

const newestFirst = (a: Note, b: Note): number => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1);

describe.each(STORES)('expand authorization on $name', (backend) => {
  const skip = backend.skipReason !== null;
  let t: TestSigil;
  const accounts = new Map<Caller, Account>();
  const notes = new Map<string, Note[]>();
  /** Per kind: an item whose single relation names each note, and one whose array names them all (in reverse). */
  const items = new Map<string, { single: RecordOut[]; many: RecordOut }>();
  let top: RecordOut;
  let middle: RecordOut;
  let leaf: RecordOut;
  const token = (caller: Caller): string | undefined => accounts.get(caller)?.accessToken;

  beforeAll(async () => {
    if (skip) return;
    t = await startTestSigilOn(backend.name, { listen: true });
    accounts.set('admin', await createAdmin(t));
    accounts.set('u1', await register(t, uniqueName('ex1')));
    accounts.set('u2', await register(t, uniqueName('ex2')));
    const admin = token('admin')!;
    const itemProps: JsonObject = { title: { type: 'string' }, parent: relation('items'), author: relation('users') };
    await createCollection(t, admin, { name: 'items', schema: { type: 'object', properties: itemProps }, rules: { list: 'public', view: 'public', create: 'public' } });
    for (const { kind, view } of KINDS) {
      await createCollection(t, admin, {
        name: `n_${kind}`,
        schema: { type: 'object', properties: { pub: { type: 'boolean' }, secret: { type: 'string' }, item: relation('items') } },
        rules: { list: 'public', view, create: 'authenticated' },
      });
      itemProps[`n_${kind}`] = relation(`n_${kind}`);
      itemProps[`m_${kind}`] = relations(`n_${kind}`);
    }
    const put = await t.request({ method: 'PUT', url: '/api/collections/items', token: admin, body: { schema: { type: 'object', properties: itemProps } } });
    expect(put.statusCode, put.body).toBe(200);

    top = await createRecord(t, undefined, 'items', { title: 'top', author: accounts.get('u1')!.id });
    middle = await createRecord(t, undefined, 'items', { title: 'middle', parent: top.id, author: accounts.get('u2')!.id });
    leaf = await createRecord(t, undefined, 'items', { title: 'leaf', parent: middle.id });
    for (const { kind } of KINDS) {
      const list: Note[] = [];
      for (const [owner, pub] of [['u1', true], ['u2', false], ['u1', false], ['u2', true]] as const) {
        const r = await createRecord(t, token(owner), `n_${kind}`, { pub, secret: `${kind} of ${owner}`, item: top.id });
        list.push({ id: r.id, owner, pub, createdAt: r.createdAt });
      }
      notes.set(kind, list);
      const single: RecordOut[] = [];
      // By the admin: a write may only name records its writer can see (an anonymous one could not name these).
      for (const n of list) single.push(await createRecord(t, admin, 'items', { title: `${kind} ${n.id}`, [`n_${kind}`]: n.id }));
      const many = await createRecord(t, admin, 'items', { title: `${kind} all`, [`m_${kind}`]: [...list].reverse().map((n) => n.id) });
      items.set(kind, { single, many });
    }
    // The nested paths end at notes: the top item names one of each kind.
    const patch: JsonObject = {};
    for (const { kind } of KINDS) patch[`n_${kind}`] = notes.get(kind)![1]!.id; // u2's unpublished note
    const patched = await t.request({ method: 'PATCH', url: `/api/collections/items/records/${top.id}`, body: patch, token: admin });
    // items' update rule is `owner` and the top item is anonymous: only an admin may change it.
    expect(patched.statusCode, patched.body).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  async function get(caller: Caller, url: string): Promise<RecordOut> {
    const res = await t.request({ method: 'GET', url, ...(token(caller) ? { token: token(caller)! } : {}) });
    expect(res.statusCode, `${caller} ${url}: ${res.body}`).toBe(200);
    return res.json<RecordOut>();
  }
  const ids = (value: unknown): string[] => (value as RecordOut[]).map((r) => r.id);

  it.skipIf(skip)('GET and lists: single and array relations show exactly the visible records, in the field\'s order', async () => {
    for (const { kind, view } of KINDS) {
      const { single, many } = items.get(kind)!;
      const list = notes.get(kind)!;
      for (const caller of CALLERS) {
        const label = `${kind} for ${caller}`;
        for (const [i, item] of single.entries()) {
          const got = await get(caller, `/api/collections/items/records/${item.id}?expand=n_${kind}`);
          const shown = visible(view, caller, list[i]!);
          if (shown) expect(got.expand![`n_${kind}`], label).toMatchObject({ id: list[i]!.id, secret: `${kind} of ${list[i]!.owner}` });
          else expect(got.expand, label).toEqual({});
        }
        const expected = [...list].reverse().filter((n) => visible(view, caller, n)).map((n) => n.id);
        const got = await get(caller, `/api/collections/items/records/${many.id}?expand=m_${kind}`);
        expect(ids(got.expand![`m_${kind}`]), label).toEqual(expected);

        const page = await get(caller, `/api/collections/items/records?limit=200&expand=n_${kind},m_${kind}`);
        for (const record of page['items'] as unknown as RecordOut[]) {
          const named = record[`n_${kind}`];
          const note = list.find((n) => n.id === named);
          if (note !== undefined && visible(view, caller, note)) expect((record.expand![`n_${kind}`] as RecordOut).id, label).toBe(note.id);
          else expect(record.expand, label).not.toHaveProperty(`n_${kind}`);
          const names = (record[`m_${kind}`] as string[] | undefined) ?? [];
          expect(ids(record.expand![`m_${kind}`]), label).toEqual(names.filter((id) => visible(view, caller, list.find((n) => n.id === id)!)));
        }
        // Nothing of a hidden note's fields anywhere in the answer.
        for (const n of list) if (!visible(view, caller, n)) expect(JSON.stringify(page)).not.toContain(`"${n.id}","createdAt"`);
      }
    }
  });

  it.skipIf(skip)('nested paths: each level is authorized with its own collection\'s rule', async () => {
    for (const { kind, view } of KINDS) {
      const note = notes.get(kind)![1]!;
      for (const caller of CALLERS) {
        const got = await get(caller, `/api/collections/items/records/${leaf.id}?expand=parent.parent.n_${kind},parent.author`);
        const parent = got.expand!['parent'] as RecordOut;
        expect(parent.id).toBe(middle.id);
        const grand = parent.expand!['parent'] as RecordOut;
        expect(grand.id).toBe(top.id);
        if (visible(view, caller, note)) expect((grand.expand![`n_${kind}`] as RecordOut).id).toBe(note.id);
        else expect(grand.expand).toEqual({});
        expect(parent.expand!['author']).toEqual({ id: accounts.get('u2')!.id, username: accounts.get('u2')!.username });
      }
    }
  });

  it.skipIf(skip)('back-relations: the visible referring records, newest first; through a hidden collection, the same 400 as a missing one', async () => {
    for (const { kind, view } of KINDS) {
      const list = notes.get(kind)!;
      for (const caller of CALLERS) {
        const url = `/api/collections/items/records/${top.id}?expand=n_${kind}_via_item`;
        const res = await t.request({ method: 'GET', url, ...(token(caller) ? { token: token(caller)! } : {}) });
        if (!readable(view, caller)) {
          const missing = await t.request({ method: 'GET', url: `/api/collections/items/records/${top.id}?expand=n_none_via_item`, ...(token(caller) ? { token: token(caller)! } : {}) });
          expect(res.statusCode).toBe(400);
          expect(missing.statusCode).toBe(400);
          // Word for word the same, but for the path the caller wrote.
          expect(res.body.replaceAll(`n_${kind}_via_item`, 'PATH')).toBe(missing.body.replaceAll('n_none_via_item', 'PATH'));
          expect(res.body).not.toContain(`n_${kind}"`);
          // Nested under it, and through a field it does not have: the same again.
          const nested = await t.request({ method: 'GET', url: `/api/collections/items/records/${top.id}?expand=n_${kind}.item`, ...(token(caller) ? { token: token(caller)! } : {}) });
          expect(nested.statusCode).toBe(400);
          expect(nested.body.replaceAll(`n_${kind}.item`, 'PATH')).toBe(missing.body.replaceAll('n_none_via_item', 'PATH'));
          continue;
        }
        expect(res.statusCode, res.body).toBe(200);
        const expected = list.filter((n) => visible(view, caller, n)).sort(newestFirst).map((n) => n.id);
        expect(ids(res.json<RecordOut>().expand![`n_${kind}_via_item`]), `${kind} for ${caller}`).toEqual(expected);
        // Nested through the back-relation back to the item.
        const nested = await get(caller, `/api/collections/items/records?limit=200&expand=n_${kind}_via_item.item`);
        const listedTop = (nested['items'] as unknown as RecordOut[]).find((r) => r.id === top.id)!;
        const back = listedTop.expand![`n_${kind}_via_item`] as RecordOut[];
        expect(ids(back)).toEqual(expected);
        for (const b of back) expect((b.expand!['item'] as RecordOut).id).toBe(top.id);
      }
    }
  });

  it.skipIf(skip)('a list answered from the read cache never serves a stale expansion', async () => {
    const { single } = items.get('pub')!;
    const note = notes.get('pub')![0]!;
    const url = `/api/collections/items/records?limit=200&expand=n_pub`;
    const secretOf = (page: RecordOut): unknown => ((page['items'] as unknown as RecordOut[]).find((r) => r.id === single[0]!.id)!.expand!['n_pub'] as RecordOut)['secret'];
    expect(secretOf(await get('anonymous', url))).toBe('pub of u1');
    expect(secretOf(await get('anonymous', url))).toBe('pub of u1');
    const changed = await t.request({ method: 'PATCH', url: `/api/collections/n_pub/records/${note.id}`, token: token('u1')!, body: { secret: 'changed' } });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(secretOf(await get('anonymous', url))).toBe('changed');
    const back = await t.request({ method: 'PATCH', url: `/api/collections/n_pub/records/${note.id}`, token: token('u1')!, body: { secret: 'pub of u1' } });
    expect(back.statusCode, back.body).toBe(200);
  });

  it.skipIf(skip)('users expand to {id, username} and nothing else, for every caller', async () => {
    const u1 = accounts.get('u1')!;
    for (const caller of CALLERS) {
      const got = await get(caller, `/api/collections/items/records/${top.id}?expand=author`);
      expect(got.expand).toEqual({ author: { id: u1.id, username: u1.username } });
    }
  });

  it.skipIf(skip)('realtime: replayed and live events carry the expansion each subscriber may see', async () => {
    const sockets = new Map<Caller, TestSocket>();
    try {
      for (const caller of CALLERS) {
        const s = await openSocket(wsUrl(t.url!));
        if (token(caller)) {
          s.send({ type: 'auth', token: token(caller) });
          await s.next((m) => m.type === 'authed');
        }
        sockets.set(caller, s);
      }
      const expand = KINDS.flatMap(({ kind }) => [`n_${kind}`, `m_${kind}`]);
      const seq = (await t.request({ method: 'GET', url: '/api/collections/items/records?limit=1' })).json<{ seq: number }>().seq;
      // Replayed: an item created before subscribing with `since`; live: one created after.
      const body = (title: string): JsonObject => {
        const b: JsonObject = { title };
        for (const { kind } of KINDS) {
          b[`n_${kind}`] = notes.get(kind)![2]!.id; // u1's unpublished note
          b[`m_${kind}`] = notes.get(kind)!.map((n) => n.id);
        }
        return b;
      };
      const replayed = await createRecord(t, token('admin'), 'items', body('replayed'));
      for (const [caller, s] of sockets) {
        s.send({ type: 'subscribe', id: 'r', collection: 'items', since: seq, expand });
        s.send({ type: 'subscribe', id: 'l', collection: 'items', expand });
        await s.next((m) => m.type === 'subscribed' && m['id'] === 'r');
        const subscribed = await s.next((m) => m.type === 'subscribed' && m['id'] === 'l');
        expect(subscribed['type'], caller).toBe('subscribed');
      }
      const live = await createRecord(t, token('admin'), 'items', body('live'));
      for (const [caller, s] of sockets) {
        const events = [
          await s.next((m) => m.type === 'change' && m['sub'] === 'r' && (m['record'] as RecordOut).id === replayed.id),
          await s.next((m) => m.type === 'change' && m['sub'] === 'r' && (m['record'] as RecordOut).id === live.id),
          await s.next((m) => m.type === 'change' && m['sub'] === 'l' && (m['record'] as RecordOut).id === live.id),
        ];
        for (const event of events) {
          const record = event['record'] as RecordOut;
          for (const { kind, view } of KINDS) {
            const list = notes.get(kind)!;
            const label = `${caller} ${kind} ${String(event['sub'])}`;
            if (visible(view, caller, list[2]!)) expect((record.expand![`n_${kind}`] as RecordOut).id, label).toBe(list[2]!.id);
            else expect(record.expand, label).not.toHaveProperty(`n_${kind}`);
            expect(ids(record.expand![`m_${kind}`]), label).toEqual(list.filter((n) => visible(view, caller, n)).map((n) => n.id));
          }
        }
        for (const { kind, view } of KINDS) {
          for (const n of notes.get(kind)!) if (!visible(view, caller, n)) expect(JSON.stringify(s.messages)).not.toContain(`"id":"${n.id}","createdAt"`);
        }
      }
      // A back-relation through a collection the subscriber may not read: refused for that subscription, like a missing one.
      const anonymous = sockets.get('anonymous')!;
      anonymous.send({ type: 'subscribe', id: 'h', collection: 'items', expand: ['n_adm_via_item'] });
      anonymous.send({ type: 'subscribe', id: 'm', collection: 'items', expand: ['n_none_via_item'] });
      const hidden = await anonymous.next((m) => m.type === 'error' && m['id'] === 'h');
      const missing = await anonymous.next((m) => m.type === 'error' && m['id'] === 'm');
      expect({ ...hidden, id: 'x', message: (hidden['message'] as string).replace('n_adm_via_item', 'PATH') }).toEqual({ ...missing, id: 'x', message: (missing['message'] as string).replace('n_none_via_item', 'PATH') });
      expect(hidden['code']).toBe('bad_request');
    } finally {
      for (const s of sockets.values()) s.close();
    }
  });

  it.skipIf(skip)('realtime: back-relations on events are authorized per subscriber too, and deletes carry no expand', async () => {
    const sockets = new Map<Caller, TestSocket>();
    try {
      for (const caller of ['u1', 'u2', 'admin'] as const) {
        const s = await openSocket(wsUrl(t.url!));
        s.send({ type: 'auth', token: token(caller) });
        await s.next((m) => m.type === 'authed');
        s.send({ type: 'subscribe', id: 'b', collection: 'items', expand: ['n_own_via_item', 'n_expr_via_item'] });
        await s.next((m) => m.type === 'subscribed');
        sockets.set(caller, s);
      }
      const admin = token('admin')!;
      const res = await t.request({ method: 'PATCH', url: `/api/collections/items/records/${top.id}`, token: admin, body: { title: 'top, renamed' } });
      expect(res.statusCode, res.body).toBe(200);
      for (const [caller, s] of sockets) {
        const event: Message = await s.next((m) => m.type === 'change' && m['sub'] === 'b');
        expect(event['op']).toBe('update');
        const expandOf = (event['record'] as RecordOut).expand!;
        for (const kind of ['own', 'expr']) {
          const { view } = KINDS.find((k) => k.kind === kind)!;
          expect(ids(expandOf[`n_${kind}_via_item`]), `${caller} ${kind}`).toEqual(notes.get(kind)!.filter((n) => visible(view, caller, n)).sort(newestFirst).map((n) => n.id));
        }
      }
      const gone = await t.request({ method: 'DELETE', url: `/api/collections/items/records/${leaf.id}`, token: admin });
      expect(gone.statusCode, gone.body).toBe(204);
      for (const s of sockets.values()) {
        const event = await s.next((m) => m.type === 'change' && m['op'] === 'delete');
        expect(event['record']).not.toHaveProperty('expand');
      }
    } finally {
      for (const s of sockets.values()) s.close();
    }
  });
});
