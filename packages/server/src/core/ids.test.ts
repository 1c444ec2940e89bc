import { describe, expect, it } from 'vitest';
import { newId } from './ids.js';

describe('newId', () => {
  it('is a 26-character Crockford base32 ULID whose order follows time', () => {
    const early = newId(Date.UTC(2025, 0, 1));
    const late = newId(Date.UTC(2025, 0, 1, 0, 0, 0, 1));
    expect(early).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(early < late).toBe(true);
    expect(early.slice(0, 10)).toBe('01JGFJJZ00');
  });

  it('draws fresh random bits for every id, across refills of its random pool', () => {
    const now = Date.UTC(2025, 0, 1);
    const ids = Array.from({ length: 10_000 }, () => newId(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(0, 10))).size).toBe(1);
  });
});
