/**
 * SPEC §4.5 and §4.7: one read permission for every path. For random rules
 * (keywords and expressions) and random
 * records, every caller's list, GET by id, live subscription and replayed
 * subscription agree with each other and with the model: a record is listed
 * or delivered only where both `list` and `view` allow it, and read by id
 * where `view` does; a collection the caller may not read at all answers
 * exactly like one that does not exist.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuleExpression, RuleValue } from '../../src/core/collections/collection.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, register, startTestSigilOn, uniqueName, type Account, type TestSigil } from '../helpers/test-sigil.js';
import { openSocket, wsUrl, type Message, type TestSocket } from '../helpers/ws-client.js';

/** The four keywords and expressions (SPEC §4.7): one like `owner`, one on the data, one mixing both. */
const MINE: RuleExpression = { owner: '@auth.id' };
const FROM_TWO: RuleExpression = { n: { $gte: 2 } };
const FIRST_OR_MINE: RuleExpression = { $or: [{ n: 0 }, { owner: '@auth.id' }] };
const RULES: readonly RuleValue[] = ['public', 'authenticated', 'owner', 'admin', MINE, FROM_TWO, FIRST_OR_MINE];
type Caller = 'anonymous' | 'u1' | 'u2' | 'admin';
const CALLERS: readonly Caller[] = ['anonymous', 'u1', 'u2', 'admin'];
type Owner = 'anonymous' | 'u1' | 'u2';

/** The model: may `caller` pass `rule` for record number `n`, created by `owner`? */
function passes(rule: RuleValue, caller: Caller, owner: Owner, n: number): boolean {
  if (caller === 'admin') return true;
  const own = caller !== 'anonymous' && caller === owner;
  if (rule === MINE) return own;
  if (rule === FROM_TWO) return n >= 2;
  if (rule === FIRST_OR_MINE) return n === 0 || own;
  switch (rule) {
    case 'public':
      return true;
    case 'authenticated':
      return caller !== 'anonymous';
    case 'owner':
      return caller !== 'anonymous' && caller === owner;
    case 'admin':
      return false;
    default:
      throw new Error(`no model for ${JSON.stringify(rule)}`);
  }
}

/** Whether `rule` lets `caller` at some record (`owner`: their own); a caller with none for list or view may read nothing. */
function mayReadAny(rule: RuleValue, caller: Caller): boolean {
  // Expressions: nothing only where every condition needs a caller (anonymous, MINE).
  if (typeof rule === 'object') return caller !== 'anonymous' || rule !== MINE;
  return caller === 'admin' || rule === 'public' || (rule !== 'admin' && caller !== 'anonymous');
}

describe.each(STORES)('read permission on $name', (backend) => {
  let t: TestSigil;
  const accounts = new Map<Caller, Account>();
  const sockets = new Map<Caller, TestSocket>();

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name, { listen: true });
    accounts.set('admin', await createAdmin(t));
    accounts.set('u1', await register(t, uniqueName('rp1')));
    accounts.set('u2', await register(t, uniqueName('rp2')));
    for (const caller of CALLERS) {
      const s = await openSocket(wsUrl(t.url!));
      const account = accounts.get(caller);
      if (account) {
        s.send({ type: 'auth', token: account.accessToken });
        await s.next((m) => m.type === 'authed');
      }
      sockets.set(caller, s);
    }
  });
  afterAll(async () => {
    for (const s of sockets.values()) s.close();
    await t?.close();
  });

  const token = (caller: Caller | Owner): string | undefined => accounts.get(caller)?.accessToken;

  async function subscribe(s: TestSocket, id: string, collection: string, since?: number): Promise<Message> {
    s.send({ type: 'subscribe', id, collection, ...(since === undefined ? {} : { since }) });
    return s.next((m) => (m.type === 'subscribed' || m.type === 'error') && m['id'] === id);
  }

  it.skipIf(backend.skipReason !== null)('list, GET by id and subscriptions (live and replayed) see exactly the records the model allows', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...RULES),
        fc.constantFrom(...RULES),
        fc.array(fc.constantFrom<Owner>('anonymous', 'u1', 'u2'), { minLength: 0, maxLength: 6 }),
        async (list, view, owners) => {
          run += 1;
          const name = `rp_${run}`;
          const created = await t.request({
            method: 'POST', url: '/api/collections', token: token('admin'),
            body: { name, schema: { type: 'object', properties: { n: { type: 'integer' } } }, rules: { list, view, create: 'public' } },
          });
          expect(created.statusCode, created.body).toBe(201);
          const before = (await t.request({ method: 'GET', url: `/api/collections/${name}/records`, token: token('admin') })).json<{ seq: number }>().seq;

          const subscribed = new Map<Caller, boolean>();
          for (const caller of CALLERS) {
            const s = sockets.get(caller)!;
            const live = await subscribe(s, `live_${run}`, name);
            const replayed = await subscribe(s, `replay_${run}`, name, before);
            // A collection the caller may list nothing of is not found, over WebSocket as over HTTP.
            const readable = mayReadAny(list, caller) && mayReadAny(view, caller);
            expect(live.type, JSON.stringify(live)).toBe(readable ? 'subscribed' : 'error');
            expect(replayed.type).toBe(live.type);
            if (!readable) expect(live).toEqual({ type: 'error', id: `live_${run}`, code: 'not_found', message: `No collection "${name}".` });
            subscribed.set(caller, readable);
          }

          const ids: { id: string; owner: Owner; n: number }[] = [];
          for (const [n, owner] of owners.entries()) {
            const res = await t.request({ method: 'POST', url: `/api/collections/${name}/records`, token: token(owner), body: { n } });
            expect(res.statusCode, res.body).toBe(201);
            ids.push({ id: res.json<{ id: string }>().id, owner, n });
          }
          // The admin sees every change; once it has the last one, every subscriber has been dispatched it.
          if (ids.length > 0) {
            const admin = sockets.get('admin')!;
            await admin.collect((m) => m.type === 'change' && m['sub'] === `live_${run}`, ids.length);
            await admin.collect((m) => m.type === 'change' && m['sub'] === `replay_${run}`, ids.length);
          }
          await new Promise((resolve) => setTimeout(resolve, 60));

          for (const caller of CALLERS) {
            const expectedView = ids.filter((r) => passes(view, caller, r.owner, r.n)).map((r) => r.id).sort();
            const expectedList = ids.filter((r) => passes(view, caller, r.owner, r.n) && passes(list, caller, r.owner, r.n)).map((r) => r.id).sort();

            const listed = await t.request({ method: 'GET', url: `/api/collections/${name}/records?limit=200`, token: token(caller) });
            const listedIds = listed.statusCode === 200 ? listed.json<{ items: { id: string }[] }>().items.map((r) => r.id).sort() : [];
            if (listed.statusCode !== 200) expect(listed.json()).toEqual({ error: { code: 'not_found', message: `No collection "${name}".` } });
            expect(listed.statusCode === 200, `${caller} ${JSON.stringify(list)}/${JSON.stringify(view)} list`).toBe(subscribed.get(caller));

            const got: string[] = [];
            for (const { id } of ids) {
              const res = await t.request({ method: 'GET', url: `/api/collections/${name}/records/${id}`, token: token(caller) });
              expect([200, 404]).toContain(res.statusCode);
              if (res.statusCode === 200) got.push(id);
            }

            const s = sockets.get(caller)!;
            const delivered = (sub: string): string[] =>
              s.messages.filter((m) => m.type === 'change' && m['sub'] === sub).map((m) => (m['record'] as { id: string }).id).sort();

            const label = `${caller} with list: ${JSON.stringify(list)}, view: ${JSON.stringify(view)}, owners ${owners.join(',')}`;
            expect(got.sort(), `${label}: GET`).toEqual(expectedView);
            expect(listedIds, `${label}: list`).toEqual(expectedList);
            expect(delivered(`live_${run}`), `${label}: live`).toEqual(expectedList);
            expect(delivered(`replay_${run}`), `${label}: replay`).toEqual(expectedList);
          }
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);
});
