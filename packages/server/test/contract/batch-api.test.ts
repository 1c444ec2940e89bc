import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';

const ORDER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { total: { type: 'integer', minimum: 0 }, status: { type: 'string' } },
};
const LINE_SCHEMA = {
  type: 'object',
  required: ['order'],
  additionalProperties: false,
  properties: { order: { type: 'string' }, qty: { type: 'integer', minimum: 1 } },
};

type Operation = Record<string, unknown>;
interface BatchError { error: { code: string; message: string; details: { index?: number; path: string; message: string }[] } }

describe.each(STORES)('batch API on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  let alice: Account;
  let bob: Account;
  let counter = 0;
  const unique = (prefix: string): string => `${prefix}_${++counter}`;

  async function createCollection(name: string, schema: object, rules: Record<string, string> = {}): Promise<void> {
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema, rules } });
    expect(res.statusCode, res.body).toBe(201);
  }

  async function create(name: string, body: object, token: string): Promise<Record<string, unknown>> {
    const res = await t.request({ method: 'POST', url: `/api/collections/${name}/records`, token, body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  const batch = (operations: unknown, token?: string) => t.request({ method: 'POST', url: '/api/batch', token, body: { operations } });
  const read = (name: string, id: string, token = admin.accessToken) => t.request({ method: 'GET', url: `/api/collections/${name}/records/${id}`, token });

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name);
    admin = await createAdmin(t);
    alice = await register(t, 'alice');
    bob = await register(t, 'bob');
    await createCollection('orders', ORDER_SCHEMA);
    await createCollection('lines', LINE_SCHEMA);
    await createCollection('notes', ORDER_SCHEMA, { list: 'owner', view: 'owner', update: 'owner', delete: 'owner' });
    await createCollection('secrets', ORDER_SCHEMA, { list: 'admin', view: 'admin', create: 'admin', update: 'admin', delete: 'admin' });
    await createCollection('catalog', ORDER_SCHEMA, { create: 'admin', update: 'admin', delete: 'admin' });
    await createCollection('wall', ORDER_SCHEMA, { list: 'public', view: 'public' });
    await createCollection('board', ORDER_SCHEMA, { list: 'public', view: 'public', create: 'public', update: 'public', delete: 'public' });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe.skipIf(backend.skipReason !== null)('applying', () => {
    it('applies create, update, replace and delete across collections and answers each result', async () => {
      const o0 = await create('orders', { total: 1 }, alice.accessToken);
      await t.request({ method: 'PATCH', url: `/api/collections/orders/records/${o0['id'] as string}`, token: alice.accessToken, body: { total: 2 } });
      const l0 = await create('lines', { order: 'x', qty: 1 }, alice.accessToken);
      const l1 = await create('lines', { order: 'x', qty: 1 }, alice.accessToken);
      const o1 = unique('o');
      const res = await batch([
        { op: 'create', collection: 'orders', record: { id: o1, total: 3 } },
        { op: 'update', collection: 'orders', id: o0['id'], patch: { status: 'paid' }, ifMatch: '"2"' },
        { op: 'replace', collection: 'lines', id: l1['id'], record: { order: o1, qty: 2 } },
        { op: 'delete', collection: 'lines', id: l0['id'] },
      ], alice.accessToken);
      expect(res.statusCode, res.body).toBe(200);
      const { results } = res.json<{ results: { status: number; record?: Record<string, unknown> }[] }>();
      expect(results.map((r) => r.status)).toEqual([201, 200, 200, 204]);
      expect(results[0]!.record).toMatchObject({ id: o1, total: 3, owner: alice.id, version: 1 });
      expect(results[1]!.record).toMatchObject({ id: o0['id'], total: 2, status: 'paid', version: 3 });
      expect(results[2]!.record).toMatchObject({ id: l1['id'], order: o1, qty: 2, version: 2 });
      expect(results[3]).toEqual({ status: 204 });
      expect((await read('orders', o1)).json()).toMatchObject({ total: 3 });
      expect((await read('orders', o0['id'] as string)).json()).toMatchObject({ status: 'paid', version: 3 });
      expect((await read('lines', l1['id'] as string)).json()).toMatchObject({ order: o1, qty: 2 });
      expectError(await read('lines', l0['id'] as string), 404, 'not_found');
    });

    it('later operations see earlier ones: create, then update and delete of the same id', async () => {
      const id = unique('seen');
      const res = await batch([
        { op: 'create', collection: 'orders', record: { id, total: 1 } },
        { op: 'update', collection: 'orders', id, patch: { total: 2 }, ifMatch: '"1"' },
        { op: 'replace', collection: 'orders', id, record: { total: 5 }, ifMatch: '"2"' },
        { op: 'create', collection: 'lines', record: { id: `${id}_l`, order: id } },
        { op: 'delete', collection: 'lines', id: `${id}_l`, ifMatch: '"1"' },
      ], alice.accessToken);
      expect(res.statusCode, res.body).toBe(200);
      expect((await read('orders', id)).json()).toMatchObject({ total: 5, version: 3 });
      expectError(await read('lines', `${id}_l`), 404, 'not_found');
    });

    it('writes its changes contiguously to the change log, the last one marked as the end of the transaction', async () => {
      const before = await t.sigil.store.changes.latestSeq();
      const id = unique('log');
      const res = await batch([
        { op: 'create', collection: 'orders', record: { id, total: 1 } },
        { op: 'create', collection: 'lines', record: { order: id } },
        { op: 'update', collection: 'orders', id, patch: { total: 2 } },
      ], alice.accessToken);
      expect(res.statusCode, res.body).toBe(200);
      const changes = await t.sigil.store.changes.readChanges(before, 10);
      expect(changes.map((c) => [c.seq - before, c.collection, c.op, c.txEnd])).toEqual([
        [1, 'orders', 'create', false], [2, 'lines', 'create', false], [3, 'orders', 'update', true],
      ]);
      // A single write is a transaction of its own: its change ends it.
      await create('orders', { total: 9 }, alice.accessToken);
      expect((await t.sigil.store.changes.readChanges(before + 3, 10)).map((c) => c.txEnd)).toEqual([true]);
    });

    it('follows each collection\'s rules: anonymous on a public collection, admin everywhere', async () => {
      const anonymous = await batch([{ op: 'create', collection: 'board', record: { total: 1 } }]);
      expect(anonymous.statusCode, anonymous.body).toBe(200);
      expect(anonymous.json<{ results: { record: { owner: unknown } }[] }>().results[0]!.record.owner).toBeNull();
      const byAdmin = await batch([{ op: 'create', collection: 'secrets', record: { total: 1 } }, { op: 'create', collection: 'catalog', record: { total: 1 } }], admin.accessToken);
      expect(byAdmin.statusCode, byAdmin.body).toBe(200);
    });
  });

  describe.skipIf(backend.skipReason !== null)('all or nothing', () => {
    /**
     * Each failure at operation 2, after two operations that wrote (a create
     * and an update): the answer is the failing operation's error as alone,
     * with its index, and nothing of operations 0 and 1 remains, neither in
     * the records nor in the change log.
     */
    const failures: [string, (ids: { mine: string; bobs: string; cat: string; theirs: string }) => Operation, number, string, string | undefined][] = [
      ['validation', () => ({ op: 'create', collection: 'orders', record: { total: -1 } }), 400, 'validation_failed', undefined],
      ['a bad client id', () => ({ op: 'create', collection: 'orders', record: { id: 'has space' } }), 400, 'validation_failed', undefined],
      ['a malformed patch', ({ mine }) => ({ op: 'update', collection: 'orders', id: mine, patch: [1] }), 400, 'validation_failed', undefined],
      ['a hidden collection', () => ({ op: 'create', collection: 'secrets', record: { total: 1 } }), 404, 'not_found', undefined],
      ['a missing collection', () => ({ op: 'delete', collection: 'nope', id: 'x' }), 404, 'not_found', undefined],
      ['a hidden record', ({ bobs }) => ({ op: 'update', collection: 'notes', id: bobs, patch: { total: 1 } }), 404, 'not_found', undefined],
      ['a missing record', () => ({ op: 'delete', collection: 'orders', id: 'no-such-record' }), 404, 'not_found', undefined],
      ['the create rule', () => ({ op: 'create', collection: 'catalog', record: { total: 1 } }), 403, 'forbidden', undefined],
      ['the update rule', ({ cat }) => ({ op: 'update', collection: 'catalog', id: cat, patch: { total: 1 } }), 403, 'forbidden', undefined],
      ['the owner rule', ({ theirs }) => ({ op: 'delete', collection: 'orders', id: theirs }), 403, 'forbidden', undefined],
      ['If-Match', ({ mine }) => ({ op: 'replace', collection: 'orders', id: mine, record: { total: 1 }, ifMatch: '"1"' }), 412, 'precondition_failed', undefined],
      ['a taken client id', ({ mine }) => ({ op: 'create', collection: 'orders', record: { id: mine } }), 409, 'conflict', undefined],
      ['a client id created earlier in the batch', () => ({ op: 'create', collection: 'lines', record: { id: 'FIRST', order: 'x' } }), 409, 'conflict', undefined],
      ['anonymous', () => ({ op: 'create', collection: 'wall', record: {} }), 401, 'unauthorized', 'anonymous'],
      ['anonymous on a hidden collection', () => ({ op: 'create', collection: 'orders', record: {} }), 404, 'not_found', 'anonymous'],
    ];

    it.each(failures)('a failure at operation 2 (%s) is its own error with its index and leaves nothing', async (_kind, failing, status, code, who) => {
      const mine = (await create('orders', { total: 1 }, alice.accessToken))['id'] as string;
      await t.request({ method: 'PATCH', url: `/api/collections/orders/records/${mine}`, token: alice.accessToken, body: { total: 2 } });
      const bobs = (await create('notes', { total: 1 }, bob.accessToken))['id'] as string;
      const cat = (await create('catalog', { total: 1 }, admin.accessToken))['id'] as string;
      const theirs = (await create('orders', { total: 1 }, bob.accessToken))['id'] as string;
      // Public collection for the anonymous case, so operations 0 and 1 succeed for them too.
      const target = who === 'anonymous' ? 'board' : 'lines';
      const first = unique('first');
      const boardRecord = who === 'anonymous' ? (await create('board', { total: 1 }, alice.accessToken))['id'] as string : null;
      const operation = failing({ mine, bobs, cat, theirs });
      if (JSON.stringify(operation).includes('FIRST')) (operation['record'] as Record<string, unknown>)['id'] = first;
      const token = who === 'anonymous' ? undefined : alice.accessToken;
      const operations: Operation[] = [
        target === 'board' ? { op: 'create', collection: 'board', record: { id: first, total: 1 } } : { op: 'create', collection: 'lines', record: { id: first, order: mine } },
        target === 'board' ? { op: 'update', collection: 'board', id: boardRecord, patch: { total: 7 } } : { op: 'update', collection: 'orders', id: mine, patch: { total: 7 } },
        operation,
        { op: 'create', collection: 'orders', record: { total: 1 } },
      ];
      const seq = await t.sigil.store.changes.latestSeq();
      const res = await batch(operations, token);
      expectError(res, status, code);
      const body = res.json<BatchError>();
      expect(body.error.details[0]).toMatchObject({ index: 2, path: '/operations/2' });

      // The same operation alone fails the same way (a conflict with operation 0 needs operation 0).
      if (!JSON.stringify(operation).includes(first)) {
        const alone = await batch([operation], token);
        expect([alone.statusCode, alone.json<BatchError>().error.code]).toEqual([status, code]);
      }

      expect(await t.sigil.store.changes.latestSeq()).toBe(seq);
      expectError(await read(target, first), 404, 'not_found');
      if (target === 'lines') expect((await read('orders', mine)).json()).toMatchObject({ total: 2, version: 2 });
      else expect((await read('board', boardRecord!)).json()).toMatchObject({ total: 1, version: 1 });
    });

    it('keeps the details of the failing operation after its index', async () => {
      const res = await batch([{ op: 'create', collection: 'orders', record: { total: 1 } }, { op: 'create', collection: 'lines', record: { qty: 0 } }], alice.accessToken);
      expectError(res, 400, 'validation_failed');
      const [first, ...rest] = res.json<BatchError>().error.details;
      expect(first).toMatchObject({ index: 1, path: '/operations/1' });
      expect(rest.length).toBeGreaterThan(0);
      expect(rest.every((d) => d.index === undefined && typeof d.path === 'string')).toBe(true);
    });

    it('a failing batch rolls back only itself: single writes committed with it all stay', async () => {
      const seq = await t.sigil.store.changes.latestSeq();
      const doomed = unique('doomed');
      const failing = batch([
        { op: 'create', collection: 'orders', record: { id: doomed, total: 1 } },
        { op: 'create', collection: 'lines', record: { id: `${doomed}_l`, order: doomed } },
        { op: 'create', collection: 'orders', record: { id: doomed } },
      ], alice.accessToken);
      const singles = Array.from({ length: 8 }, (_, i) => t.request({ method: 'POST', url: '/api/collections/orders/records', token: bob.accessToken, body: { total: i } }));
      const [res, ...answers] = await Promise.all([failing, ...singles]);
      expectError(res, 409, 'conflict');
      expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(201));
      expectError(await read('orders', doomed), 404, 'not_found');
      expectError(await read('lines', `${doomed}_l`), 404, 'not_found');
      const changes = await t.sigil.store.changes.readChanges(seq, 100);
      expect(changes.map((c) => c.seq)).toEqual(Array.from({ length: 8 }, (_, i) => seq + 1 + i));
      expect(changes.every((c) => c.txEnd && c.recordId !== doomed)).toBe(true);
    });
  });

  describe.skipIf(backend.skipReason !== null)('concurrency', () => {
    it('8 writers of batches and single patches, each on its own record, with creates in between: every write applied once, seq gap-free', async () => {
      const own = await Promise.all(Array.from({ length: 8 }, async () => (await create('board', { total: 0 }, alice.accessToken))['id'] as string));
      const seq = await t.sigil.store.changes.latestSeq();
      const answers = await Promise.all(own.map(async (id, w) => {
        const statuses: number[] = [];
        for (let round = 0; round < 10; round++) {
          const res = round % 2 === 0
            ? await batch([{ op: 'create', collection: 'board', record: { total: w } }, { op: 'update', collection: 'board', id, patch: { status: `r${round}` }, ifMatch: `"${round + 1}"` }], alice.accessToken)
            : await t.request({ method: 'PATCH', url: `/api/collections/board/records/${id}`, token: alice.accessToken, body: { status: `r${round}` }, headers: { 'if-match': `"${round + 1}"` } });
          statuses.push(res.statusCode);
        }
        return statuses;
      }));
      expect(answers.flat().filter((s) => s !== 200)).toEqual([]);
      for (const id of own) expect((await read('board', id)).json()).toMatchObject({ version: 11, status: 'r9' });
      const changes = await t.sigil.store.changes.readChanges(seq, 1000);
      expect(changes).toHaveLength(8 * (5 * 2 + 5));
      expect(changes.map((c) => c.seq)).toEqual(changes.map((_, i) => seq + 1 + i));
      // Each batch's two changes are contiguous, the second ending the transaction.
      for (const [i, c] of changes.entries()) if (!c.txEnd) expect([c.op, changes[i + 1]!.op, changes[i + 1]!.txEnd]).toEqual(['create', 'update', true]);
    });
  });

  describe.skipIf(backend.skipReason !== null)('malformed batches', () => {
    it.each<[string, unknown, string, number | undefined]>([
      ['no operations', {}, 'bad_request', undefined],
      ['operations not an array', { operations: { op: 'create' } }, 'bad_request', undefined],
      ['no operation at all', { operations: [] }, 'bad_request', undefined],
      ['an unknown member', { operations: [{ op: 'delete', collection: 'orders', id: 'x' }], atomic: false }, 'bad_request', undefined],
      ['an operation that is not an object', { operations: [{ op: 'delete', collection: 'orders', id: 'x' }, 'delete'] }, 'bad_request', 1],
      ['an unknown op', { operations: [{ op: 'upsert', collection: 'orders', record: {} }] }, 'bad_request', 0],
      ['no collection', { operations: [{ op: 'create', record: {} }] }, 'bad_request', 0],
      ['no record', { operations: [{ op: 'create', collection: 'orders' }] }, 'bad_request', 0],
      ['no id', { operations: [{ op: 'create', collection: 'orders', record: {} }, { op: 'delete', collection: 'orders' }] }, 'bad_request', 1],
      ['no patch', { operations: [{ op: 'update', collection: 'orders', id: 'x' }] }, 'bad_request', 0],
      ['an unknown field', { operations: [{ op: 'delete', collection: 'orders', id: 'x', record: {} }] }, 'bad_request', 0],
      ['a non-string ifMatch', { operations: [{ op: 'delete', collection: 'orders', id: 'x', ifMatch: 2 }] }, 'bad_request', 0],
    ])('%s is a 400 %s', async (_name, body, code, index) => {
      const seq = await t.sigil.store.changes.latestSeq();
      const res = await t.request({ method: 'POST', url: '/api/batch', token: alice.accessToken, body });
      expectError(res, 400, code);
      expect(res.json<BatchError>().error.details[0]?.index).toBe(index);
      expect(await t.sigil.store.changes.latestSeq()).toBe(seq);
    });

    it('a body that is not an object is a 400', async () => {
      const res = await t.request({ method: 'POST', url: '/api/batch', token: alice.accessToken, body: '[1]', headers: { 'content-type': 'application/json' } });
      expect(res.statusCode, res.body).toBe(400);
      expect(['bad_request', 'validation_failed']).toContain(res.json<BatchError>().error.code);
    });

    it('takes 100 operations, refuses 101 and applies none of them', async () => {
      const ops = (n: number, prefix: string): Operation[] => Array.from({ length: n }, (_, i) => ({ op: 'create', collection: 'orders', record: { id: `${prefix}_${i}`, total: i } }));
      const seq = await t.sigil.store.changes.latestSeq();
      const over = await batch(ops(101, unique('over')), alice.accessToken);
      expectError(over, 400, 'bad_request');
      expect(await t.sigil.store.changes.latestSeq()).toBe(seq);
      const full = await batch(ops(100, unique('full')), alice.accessToken);
      expect(full.statusCode, full.body).toBe(200);
      expect(full.json<{ results: unknown[] }>().results).toHaveLength(100);
      expect(await t.sigil.store.changes.latestSeq()).toBe(seq + 100);
    });

    it('a body over 1 MiB is a 413 and applies nothing', async () => {
      const seq = await t.sigil.store.changes.latestSeq();
      const res = await batch([{ op: 'create', collection: 'orders', record: { status: 'x'.repeat(1024 * 1024) } }], alice.accessToken);
      expectError(res, 413, 'payload_too_large');
      expect(await t.sigil.store.changes.latestSeq()).toBe(seq);
    });
  });
});
