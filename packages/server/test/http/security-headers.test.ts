import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { register, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

describe('security headers', () => {
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil();
  });
  afterAll(() => t.close());

  function expectApiHeaders(res: LightMyRequestResponse): void {
    expect(res.headers['x-content-type-options'], res.body).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  }

  it('are on every API answer: success, error, unknown route, unauthenticated', async () => {
    const account = await register(t);
    for (const res of [
      await t.request({ method: 'GET', url: '/api/health' }),
      await t.request({ method: 'GET', url: '/api/nope' }),
      await t.request({ method: 'GET', url: '/api/auth/me' }),
      await t.request({ method: 'GET', url: '/api/auth/me', token: account.accessToken }),
      await t.request({ method: 'GET', url: '/api/collections', token: account.accessToken }),
      await t.request({ method: 'GET', url: '/api/openapi.json' }),
      await t.request({ method: 'POST', url: '/api/auth/login', body: 'x', headers: { 'content-type': 'application/json' } }),
    ]) {
      expectApiHeaders(res);
    }
  });

  it('answers carrying tokens or user data are not stored by caches', async () => {
    const account = await register(t);
    const login = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: account.username, password: account.password } });
    expect(login.statusCode).toBe(200);
    expect(login.headers['cache-control']).toBe('no-store');
    const me = await t.request({ method: 'GET', url: `/api/users/${account.username}`, token: account.accessToken });
    expect(me.statusCode).toBe(200);
    expect(me.headers['cache-control']).toBe('no-store');
  });

  it('the demo page keeps its own policy, which lets its script run', async () => {
    const res = await t.request({ method: 'GET', url: '/demo/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'sha256-[^']+'/);
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
