/**
 * The last admin can be neither demoted, disabled nor deleted, also when the
 * only two admins take each other away at the same moment: exactly one of
 * the two changes goes through, the other is refused, and an admin remains.
 * (User changes run READ COMMITTED, one admin-removing change at a time, so
 * that a user's deletion sees every reference committed before it.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { createAdmin, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';

const ROUNDS = 8;

describe.each(STORES)('two admins removing each other on $name', (backend) => {
  const skip = backend.skipReason !== null;
  let t: TestSigil;
  beforeAll(async () => {
    if (!skip) t = await startTestSigilOn(backend.name);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.skipIf(skip)(`${ROUNDS} rounds of demote, disable and delete at once: one wins, one is refused, an admin remains`, async () => {
    let survivor: Account = await createAdmin(t);
    const changes = [
      (target: string) => ({ method: 'PATCH' as const, url: `/api/users/${target}`, body: { role: 'user' } }),
      (target: string) => ({ method: 'PATCH' as const, url: `/api/users/${target}`, body: { disabled: true } }),
      (target: string) => ({ method: 'DELETE' as const, url: `/api/users/${target}` }),
    ];
    for (let round = 0; round < ROUNDS; round++) {
      const other = await createAdmin(t);
      const [x, y] = [survivor, other];
      const change = changes[round % changes.length]!;
      const answers = await Promise.all([
        t.request({ ...change(y.username), token: x.accessToken }),
        t.request({ ...change(x.username), token: y.accessToken }),
      ]);
      const won = answers.map((a) => a.statusCode < 300);
      // The loser was refused as the last admin (409), or, when the winner had already committed, no longer is an admin (403) or a user (401).
      expect(won.filter(Boolean), answers.map((a) => `${a.statusCode} ${a.body}`).join(' | ')).toHaveLength(1);
      expect([401, 403, 409]).toContain(answers[won.indexOf(false)]!.statusCode);
      expect(await t.sigil.store.users.countActiveAdmins()).toBe(1);
      survivor = won[0] ? x : y;
      // The survivor is the one whose change went through (the other's token no longer works as an admin's).
      expect((await t.request({ method: 'GET', url: '/api/users', token: survivor.accessToken })).statusCode).toBe(200);
    }
  });
});
