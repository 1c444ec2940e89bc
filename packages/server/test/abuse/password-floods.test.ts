import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWASP_ARGON2_PARAMS } from '../../src/core/auth/password.js';
import { startTestSigil, type TestSigil } from '../helpers/test-sigil.js';
import { PATCH_FLOOD, runAttacker } from './attacker.js';
import { measure, sleep, timed } from './measure.js';

/**
 * Password floods against the real argon2id cost (OWASP parameters), with the
 * shipped rate limits and hashing bounds. Requests go through `inject()`, so
 * what is measured is the server's work, not sockets.
 */
describe('abuse: password-guess floods', () => {
  let t: TestSigil;
  let attackerToken: string;
  let victimLogins = 0;

  const login = (username: string, password: string, address: string) =>
    t.sigil.http.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: address, payload: { username, password } });

  /** The victim signs in from its own address, retrying on 503 as told; resolves with the total time. */
  const victimSignsIn = async (): Promise<number> => {
    const { ms } = await timed(async () => {
      for (let attempt = 0; attempt < 10; attempt++) {
        const res = await login('victim', 'victim password', `203.0.113.${(victimLogins += 1) % 250}`);
        if (res.statusCode === 200) return;
        expect(res.statusCode, res.body).toBe(503);
        await sleep(Number(res.headers['retry-after']) * 100);
      }
      throw new Error('the victim never got in');
    });
    return ms;
  };

  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  let baselineMs = 0;
  beforeAll(async () => {
    t = await startTestSigil({
      listen: true,
      argon2: OWASP_ARGON2_PARAMS,
      env: { AUTH_RATE_LIMIT_PER_ADDRESS: '20/1m', AUTH_RATE_LIMIT_PER_USERNAME: '10/1m' },
    });
    await t.sigil.users.createAdmin('victim', 'victim password');
    const attacker = await t.sigil.http.inject({ method: 'POST', url: '/api/auth/register', remoteAddress: '127.0.0.1', payload: { username: 'attacker', password: 'attacker password' } });
    attackerToken = attacker.json<{ accessToken: string }>().accessToken;
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) samples.push(await victimSignsIn());
    baselineMs = median(samples);
  }, 60_000);
  afterAll(() => t.close());

  it('one client flooding PATCH with currentPassword gets at most its budget of checks; others sign in as fast as before', async () => {
    const probe = measure('PATCH currentPassword flood (256 concurrent guesses over HTTP from one address, another process)');
    const flood = runAttacker<{ codes: number[] }>(PATCH_FLOOD, { url: t.url, username: 'attacker', token: attackerToken, count: 256 });
    const during: number[] = [];
    // Sign in while the flood lands (the attacker process takes a moment to start).
    await sleep(150);
    for (let i = 0; i < 5; i++) during.push(await victimSignsIn());
    const { codes } = await flood;
    const checked = codes.filter((c) => c === 401).length;
    probe.stop({ baselineLoginMs: Math.round(baselineMs), victimLoginMedianMs: Math.round(median(during)), victimLoginMaxMs: Math.round(Math.max(...during)), passwordChecks: checked, refused429: codes.filter((c) => c === 429).length });
    expect(checked).toBeLessThanOrEqual(10);
    expect(codes.every((c) => c === 401 || c === 429)).toBe(true);
    // Without the per-address budget the flood would queue 256 argon2 checks ahead of each login (~0.8 s here).
    expect(median(during)).toBeLessThan(baselineMs * 5 + 200);
  });

  it('a distributed burst of guesses (300 addresses at once) is refused quickly past the hashing queue; the victim still gets in', async () => {
    const probe = measure('distributed login burst (300 concurrent guesses from 300 addresses)');
    const burst = Promise.all(Array.from({ length: 300 }, (_, i) => login(`nobody${i}`, 'wrong password', `192.0.${2 + Math.floor(i / 250)}.${i % 250}`)));
    const victimMs = await victimSignsIn();
    const responses = await burst;
    const codes = responses.map((r) => r.statusCode);
    probe.stop({
      baselineLoginMs: Math.round(baselineMs),
      victimLoginMs: Math.round(victimMs),
      checked401: codes.filter((c) => c === 401).length,
      refused503: codes.filter((c) => c === 503).length,
      refused429: codes.filter((c) => c === 429).length,
    });
    expect(codes.every((c) => c === 401 || c === 503 || c === 429)).toBe(true);
    expect(codes.filter((c) => c === 503).length).toBeGreaterThan(0);
    // 2 running + 32 queued at most: the queue drains in a bounded time, the victim's retries get through.
    expect(victimMs).toBeLessThan(5000);
  });
});
