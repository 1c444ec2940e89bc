import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, expectError, register, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';

// RFC 7396 registers application/merge-patch+json for exactly what PATCH on a record does.
describe('PATCH takes application/merge-patch+json', () => {
  let t: TestSigil;
  let alice: Account;
  let id: string;
  const url = '/api/collections/notes/records';

  beforeAll(async () => {
    t = await startTestSigil();
    const admin = await createAdmin(t);
    alice = await register(t);
    const schema = { type: 'object', properties: { title: { type: 'string' }, tags: { type: 'array' } } };
    expect((await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'notes', schema } })).statusCode).toBe(201);
    const created = await t.request({ method: 'POST', url, token: alice.accessToken, body: { title: 'a', tags: ['x'] } });
    id = created.json<{ id: string }>().id;
  });
  afterAll(() => t.close());

  it('applies a merge patch sent with its own media type, with or without a charset', async () => {
    for (const type of ['application/merge-patch+json', 'application/merge-patch+json; charset=utf-8', 'Application/Merge-Patch+JSON']) {
      const res = await t.request({ method: 'PATCH', url: `${url}/${id}`, token: alice.accessToken, body: '{"title":"b","tags":null}', headers: { 'content-type': type } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<Record<string, unknown>>()).toMatchObject({ title: 'b' });
      expect(res.json<Record<string, unknown>>()).not.toHaveProperty('tags');
    }
  });

  it('still takes application/json, and treats a merge-patch body like any JSON body', async () => {
    const res = await t.request({ method: 'PATCH', url: `${url}/${id}`, token: alice.accessToken, body: { title: 'c' } });
    expect(res.statusCode, res.body).toBe(200);
    const headers = { 'content-type': 'application/merge-patch+json' };
    expectError(await t.request({ method: 'PATCH', url: `${url}/${id}`, token: alice.accessToken, body: '{"title":', headers }), 400, 'bad_request');
    expectError(await t.request({ method: 'PATCH', url: `${url}/${id}`, token: alice.accessToken, body: '{"__proto__":{"x":1}}', headers }), 400, 'bad_request');
    expectError(await t.request({ method: 'PATCH', url: `${url}/${id}`, token: alice.accessToken, body: '{"title":"\\u0000"}', headers }), 400, 'validation_failed');
  });

  it('is 415 on other methods and other routes, and other types stay 415 on PATCH', async () => {
    const headers = { 'content-type': 'application/merge-patch+json' };
    expectError(await t.request({ method: 'POST', url, token: alice.accessToken, body: '{"title":"d"}', headers }), 415, 'unsupported_media_type');
    expectError(await t.request({ method: 'PUT', url: `${url}/${id}`, token: alice.accessToken, body: '{"title":"d"}', headers }), 415, 'unsupported_media_type');
    expectError(await t.request({ method: 'PATCH', url: `/api/users/${alice.username}`, token: alice.accessToken, body: '{"email":null}', headers }), 415, 'unsupported_media_type');
    const json = { 'content-type': 'application/json-patch+json' };
    expectError(await t.request({ method: 'PATCH', url: `${url}/${id}`, token: alice.accessToken, body: '[]', headers: json }), 415, 'unsupported_media_type');
    expectError(await t.request({ method: 'PATCH', url: `${url}/${id}`, token: alice.accessToken, body: 'title=e', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  });
});
