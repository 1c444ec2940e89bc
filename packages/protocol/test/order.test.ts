import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareSortValues, compareStrings, sortRank, SORT_RANK } from '../src/order.js';

describe('the shared sort order', () => {
  it('ranks missing = null < false < true < numbers < strings < arrays < objects', () => {
    // Array#sort puts undefined last without asking the comparator: null stands for missing here.
    const ordered = [null, false, true, -5, 0, 2.5, '', 'B', 'a', 'é', '\uffff', '😀', [1], { a: 1 }];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareSortValues).map((v) => sortRank(v))).toEqual(ordered.map((v) => sortRank(v)));
    expect([...ordered].reverse().sort(compareSortValues)).toEqual(ordered);
    expect(sortRank(null)).toBe(SORT_RANK.null);
    expect(compareSortValues(null, undefined)).toBe(0);
    expect(compareSortValues(undefined, false)).toBe(-1);
    expect(compareSortValues([1, 2], [])).toBe(0);
    expect(compareSortValues({ a: 1 }, { b: 2 })).toBe(0);
  });

  it('compares strings by code point, not by UTF-16 unit', () => {
    expect(compareStrings('\uffff', '😀')).toBe(-1);
    expect('\uffff' < '😀').toBe(false); // what a naive comparison would get wrong
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const byPoints = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        expect(compareStrings(a, b)).toBe(byPoints);
      }),
    );
  });

  it('is a total order: antisymmetric and transitive on random values', () => {
    const value = fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), fc.double({ noNaN: true }), fc.string(), fc.array(fc.integer()), fc.object());
    fc.assert(
      fc.property(value, value, value, (a, b, c) => {
        expect(Math.sign(compareSortValues(a, b))).toBe(-Math.sign(compareSortValues(b, a)) || 0);
        if (compareSortValues(a, b) <= 0 && compareSortValues(b, c) <= 0) expect(compareSortValues(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
