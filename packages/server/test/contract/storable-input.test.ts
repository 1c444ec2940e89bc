import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sortFingerprint } from '../../src/core/records/query/cursor.js';
import { DEFAULT_SORT } from '../../src/core/records/query/sort.js';
import { STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';

/**
 * Input that one engine could store and the other could not (PostgreSQL has
 * no NUL in text or jsonb, no lone surrogates, no year 0) is refused the same
 * way on both, with a 400 and nothing written: never a 500, and never a
 * silent change (1e400 becoming null).
 */
describe.each(STORES)('unstorable input on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  let alice: Account;
  const url = '/api/collections/things/records';

  const raw = (method: 'POST' | 'PATCH' | 'PUT', target: string, body: string, token = alice.accessToken) =>
    t.request({ method, url: target, token, body, headers: { 'content-type': 'application/json' } });

  async function count(): Promise<number> {
    const res = await t.request({ method: 'GET', url: `${url}?limit=200`, token: alice.accessToken });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: unknown[] }>().items.length;
  }

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name);
    admin = await createAdmin(t);
    alice = await register(t, 'alice');
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'things', schema: { type: 'object' } } });
    expect(res.statusCode, res.body).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe.skipIf(backend.skipReason !== null)('refused with 400, nothing written', () => {
    const BAD_BODIES: readonly [string, string, string][] = [
      ['a lone high surrogate', '{"a":"\\ud800"}', '/a'],
      ['a lone low surrogate inside a string', '{"a":"x\\udc00y"}', '/a'],
      ['a reversed surrogate pair', '{"a":"\\udc00\\ud800"}', '/a'],
      ['a NUL', '{"a":"x\\u0000y"}', '/a'],
      ['a NUL in a key', '{"a\\u0000b":1}', '/a\uFFFDb'],
      ['a lone surrogate in a nested key', '{"a":{"\\ud83d":1}}', '/a/\uFFFD'],
      ['a NUL deep in an array', '{"a":[1,[2,{"b":"\\u0000"}]]}', '/a/1/1/b'],
      ['a number beyond double range', '{"a":1e400}', '/a'],
      ['a negative number beyond double range', '{"a":[-1e999]}', '/a/0'],
    ];

    it.each(BAD_BODIES)('a record body with %s', async (_name, body, path) => {
      const before = await count();
      const res = await raw('POST', url, body);
      expectError(res, 400, 'validation_failed');
      expect(res.json<{ error: { details: { path: string }[] } }>().error.details[0]?.path).toBe(path);
      expect(await count()).toBe(before);
    });

    it.each(BAD_BODIES)('a PATCH or PUT with %s', async (_name, body) => {
      const created = await raw('POST', url, '{"a":"before"}');
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json<{ id: string }>().id;
      expectError(await raw('PATCH', `${url}/${id}`, body), 400, 'validation_failed');
      expectError(await raw('PUT', `${url}/${id}`, body), 400, 'validation_failed');
      const after = await t.request({ method: 'GET', url: `${url}/${id}`, token: alice.accessToken });
      expect(after.json<{ a: unknown; version: number }>()).toMatchObject({ a: 'before', version: 1 });
    });

    it('other bodies too: registration, login, collections', async () => {
      expectError(await raw('POST', '/api/auth/register', '{"username":"nul_mail","password":"long enough pw","email":"a\\u0000@b.co"}'), 400, 'validation_failed');
      expectError(await raw('POST', '/api/auth/login', '{"username":"alice\\u0000","password":"whatever pw"}'), 400, 'validation_failed');
      const schema = '{"name":"odd","schema":{"type":"object","description":"\\ud800"}}';
      expectError(await raw('POST', '/api/collections', schema, admin.accessToken), 400, 'validation_failed');
      expect((await t.request({ method: 'GET', url: '/api/collections/odd', token: admin.accessToken })).statusCode).toBe(404);
    });

    it('a NUL in a path or query parameter is 400 bad_request', async () => {
      expectError(await t.request({ method: 'GET', url: '/api/collections/th%00ings/records', token: alice.accessToken }), 400, 'bad_request');
      expectError(await t.request({ method: 'GET', url: '/api/collections/th%00ings', token: admin.accessToken }), 400, 'bad_request');
      expectError(await t.request({ method: 'GET', url: '/api/users/ali%00ce', token: admin.accessToken }), 400, 'bad_request');
      expectError(await t.request({ method: 'GET', url: '/api/users?after=a%00b', token: admin.accessToken }), 400, 'bad_request');
      // Sort field names: NUL, an encoded lone surrogate (not UTF-8), and a surrogate pair, which is simply not an identifier.
      for (const sort of ['a%00', '%ED%A0%80', '-%F0%9F%98%80', 'a.%00.b']) {
        expectError(await t.request({ method: 'GET', url: `${url}?sort=${sort}`, token: alice.accessToken }), 400, 'bad_request');
      }
    });

    it('a filter with a NUL, a lone surrogate or a non-finite number is invalid_filter', async () => {
      for (const filter of ['{"a":"\\u0000"}', '{"a":{"$gt":"\\ud800"}}', '{"a\\u0000":1}', '{"a":{"$in":[1e400]}}', '{"createdAt":{"$lt":"\\udfff"}}']) {
        expectError(await t.request({ method: 'GET', url: `${url}?filter=${encodeURIComponent(filter)}`, token: alice.accessToken }), 400, 'invalid_filter');
      }
    });

    it('a cursor with year 0000 is 400 bad_request', async () => {
      const cursor = (createdAt: string) =>
        Buffer.from(JSON.stringify({ v: 1, s: sortFingerprint(DEFAULT_SORT), p: [createdAt, 'x'] }), 'utf8').toString('base64url');
      // The same cursor with year 0001 is well-formed: only the impossible year is refused.
      expect((await t.request({ method: 'GET', url: `${url}?after=${cursor('0001-01-01T00:00:00.000Z')}`, token: alice.accessToken })).statusCode).toBe(200);
      expectError(await t.request({ method: 'GET', url: `${url}?after=${cursor('0000-01-01T00:00:00.000Z')}`, token: alice.accessToken }), 400, 'bad_request');
    });
  });

  describe.skipIf(backend.skipReason !== null)('accepted the same way on both engines', () => {
    it('a filter on a timestamp with year 0000 compares as text, like any non-canonical string', async () => {
      const all = await count();
      expect(all).toBeGreaterThan(0);
      const list = async (filter: object) => {
        const res = await t.request({ method: 'GET', url: `${url}?limit=200&filter=${encodeURIComponent(JSON.stringify(filter))}`, token: alice.accessToken });
        expect(res.statusCode, res.body).toBe(200);
        return res.json<{ items: unknown[] }>().items.length;
      };
      expect(await list({ createdAt: { $gte: '0000-01-01T00:00:00.000Z' } })).toBe(all);
      expect(await list({ updatedAt: { $lt: '0000-01-01T00:00:00.000Z' } })).toBe(0);
      expect(await list({ createdAt: { $gt: '0000-12-31T23:59:59.999Z', $lte: '9999-12-31T23:59:59.999Z' } })).toBe(all);
    });

    it('valid Unicode edge cases and extreme finite numbers round-trip exactly', async () => {
      const data = {
        astral: '𝄞 😀 👩‍👩‍👧',
        combining: 'e\u0301 a\u030a',
        separators: '\u2028\u2029\uFEFF',
        nonCharacters: '\uFFFE\uFFFF\u{10FFFF}',
        controls: '\u0001\u001f\u007f',
        'ключ 😀': 'a key outside ASCII',
        big: 1e308,
        tiny: 5e-324,
        negativeTiny: -5e-324,
        beyondSafe: 2 ** 53 + 2,
        fraction: 0.1 + 0.2,
        nested: [1e-7, -1.5e300, 'x\u0301'],
      };
      const created = await t.request({ method: 'POST', url, token: alice.accessToken, body: data });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json<{ id: string }>().id;
      const read = await t.request({ method: 'GET', url: `${url}/${id}`, token: alice.accessToken });
      expect(read.json<Record<string, unknown>>()).toMatchObject(data);
      // -0 is JSON "0" on the wire, so it is stored and read back as 0 on both engines.
      const minusZero = await raw('POST', url, '{"z":-0}');
      expect(minusZero.statusCode, minusZero.body).toBe(201);
      expect(Object.is(minusZero.json<{ z: number }>().z, 0)).toBe(true);
    });
  });
});
