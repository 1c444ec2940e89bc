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

  it('the demo page keeps its own policy: its script and stylesheet files, nothing inline, this origin only', async () => {
    const res = await t.request({ method: 'GET', url: '/demo/', headers: { host: 'sigil.example:8090' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws://sigil.example:8090 wss://sigil.example:8090; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
    );
    // No inline script or style: the policy would refuse them.
    expect(res.body).toContain('<script type="module" src="demo.js"></script>');
    expect(res.body).toContain('<link rel="stylesheet" href="demo.css">');
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('a Host header that is not a plain host is not echoed into the policy', async () => {
    const res = await t.request({ method: 'GET', url: '/demo/', headers: { host: "evil.example; script-src 'unsafe-inline'" } });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("connect-src 'self'; ");
    expect(csp).not.toContain('evil');
  });

  it("the demo's script and stylesheet are served with their types, and the bundle is the client's", async () => {
    const script = await t.request({ method: 'GET', url: '/demo/demo.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    // @sigil/client is bundled in (its realtime endpoint), nothing is imported from elsewhere.
    expect(script.body).toContain('/api/realtime');
    expect(script.body).not.toMatch(/^\s*import\s/m);
    const css = await t.request({ method: 'GET', url: '/demo/demo.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toContain('.pill');
    const redirect = await t.request({ method: 'GET', url: '/demo?collection=notes' });
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers['location']).toBe('/demo/?collection=notes');
  });
});
