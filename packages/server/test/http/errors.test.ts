import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, register, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

describe('HTTP errors have the one error shape', () => {
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil();
  });
  afterAll(() => t.close());

  it('unknown routes are 404 not_found', async () => {
    expectError(await t.request({ method: 'GET', url: '/api/nope' }), 404, 'not_found');
    expectError(await t.request({ method: 'DELETE', url: '/api/auth/login' }), 404, 'not_found');
  });

  it('non-JSON bodies are 415 unsupported_media_type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const res = await t.request({ method: 'POST', url: '/api/auth/login', body: 'username=a&password=b', headers: { 'content-type': type } });
      expectError(res, 415, 'unsupported_media_type');
    }
  });

  it('bodies over 1 MiB are 413 payload_too_large', async () => {
    const body = JSON.stringify({ username: 'someone', password: 'x'.repeat(1024 * 1024) });
    const res = await t.request({ method: 'POST', url: '/api/auth/register', body, headers: { 'content-type': 'application/json' } });
    expectError(res, 413, 'payload_too_large');
  });

  it('malformed JSON is 400 bad_request without echoing the body', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/api/auth/login',
      body: '{"username":"a","password":"hunter2-secret"',
      headers: { 'content-type': 'application/json' },
    });
    expectError(res, 400, 'bad_request');
    expect(res.body).not.toContain('hunter2');
  });

  it('prototype poisoning is refused', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/api/auth/register',
      body: '{"username":"proto_user","password":"long enough","__proto__":{"role":"admin"}}',
      headers: { 'content-type': 'application/json' },
    });
    expectError(res, 400, 'bad_request');
    expect(await t.sigil.store.users.findUserByUsername('proto_user')).toBeNull();
  });

  it('schema violations are 400 validation_failed with details', async () => {
    const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username: 'x', password: 5 } });
    expectError(res, 400, 'validation_failed');
    const details = res.json<{ error: { details: { path: string; message: string }[] } }>().error.details;
    expect(details.length).toBeGreaterThan(0);
    expect(typeof details[0]?.path).toBe('string');
    expect(typeof details[0]?.message).toBe('string');
  });

  it('an internal error is 500 internal with a generic message and no stack', async () => {
    const account = await register(t);
    const original = t.sigil.store.sessions.findSessionIdentity.bind(t.sigil.store.sessions);
    (t.sigil.store.sessions as { findSessionIdentity: unknown }).findSessionIdentity = () => Promise.reject(new Error('boom: SELECT secret FROM x'));
    try {
      const res = await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken });
      expectError(res, 500, 'internal');
      expect(res.body).not.toContain('boom');
      expect(res.body).not.toContain('at ');
    } finally {
      (t.sigil.store.sessions as { findSessionIdentity: unknown }).findSessionIdentity = original;
    }
    expect(t.logs.join('')).toContain('boom');
  });

  it('health is 503 unavailable when the database does not answer', async () => {
    const original = t.sigil.store.ping.bind(t.sigil.store);
    (t.sigil.store as { ping: unknown }).ping = () => Promise.reject(new Error('connection refused'));
    try {
      expectError(await t.request({ method: 'GET', url: '/api/health' }), 503, 'unavailable');
    } finally {
      (t.sigil.store as { ping: unknown }).ping = original;
    }
    expect((await t.request({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
  });
});
