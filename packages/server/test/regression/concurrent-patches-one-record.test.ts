/**
 * Concurrent PATCHes of one record without If-Match are each applied to the
 * latest version (SPEC §4.3: no update is lost). On PostgreSQL they used to
 * race on the compare-and-set and run out of retries: about four in ten of 8
 * concurrent PATCHes answered 503. A change of a record now holds the row
 * from its read to its commit, so concurrent changes queue instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { createAdmin, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';

describe.each(STORES)('concurrent PATCHes of one record on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;

  beforeAll(async () => {
    if (backend.skipReason) return;
    t = await startTestSigilOn(backend.name);
    admin = await createAdmin(t);
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'counters', schema: { type: 'object' } } });
    expect(res.statusCode).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.skipIf(backend.skipReason !== null)('8 writers × 5 rounds: every PATCH is applied, none is refused', async () => {
    for (let round = 0; round < 5; round++) {
      const created = await t.request({ method: 'POST', url: '/api/collections/counters/records', token: admin.accessToken, body: {} });
      const url = `/api/collections/counters/records/${created.json<{ id: string }>().id}`;
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        t.request({ method: 'PATCH', url, token: admin.accessToken, body: { [`w${i}`]: true } })));
      expect(answers.map((a) => a.statusCode)).toEqual(Array.from({ length: 8 }, () => 200));
      const final = (await t.request({ method: 'GET', url, token: admin.accessToken })).json<Record<string, unknown>>();
      expect(final['version']).toBe(9);
      for (let i = 0; i < 8; i++) expect(final[`w${i}`]).toBe(true);
    }
  });
});
