import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../collections/collection.js';
import type { RecordRow } from '../record.js';
import { compareRecords, matchesFilter } from './evaluate.js';
import { parseFilter } from './filter.js';
import { compareSortValues, compareStrings, type FieldValue } from './order.js';
import { parseSort } from './sort.js';

const row = (data: JsonObject, overrides: Partial<RecordRow> = {}): RecordRow => ({
  id: 'r1', owner: 'u1', version: 2, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z', data, ...overrides,
});

const matches = (filter: string, data: JsonObject, overrides?: Partial<RecordRow>): boolean => matchesFilter(parseFilter(filter), row(data, overrides));

describe('matchesFilter', () => {
  it('null matches everything', () => {
    expect(matchesFilter(null, row({}))).toBe(true);
  });

  it.each([
    // [filter, data, expected]
    ['{"a": 1}', { a: 1 }, true],
    ['{"a": 1}', { a: 1.0 }, true],
    ['{"a": 1}', { a: '1' }, false],
    ['{"a": 1}', { a: true }, false],
    ['{"a": true}', { a: 1 }, false],
    ['{"a": "x"}', { a: ['x'] }, false],
    ['{"a": null}', { a: null }, true],
    ['{"a": null}', {}, true],
    ['{"a": null}', { a: 0 }, false],
    ['{"a": {"$ne": null}}', {}, false],
    ['{"a": {"$ne": null}}', { a: null }, false],
    ['{"a": {"$ne": null}}', { a: false }, true],
    ['{"a": {"$ne": 1}}', {}, true],
    ['{"a": {"$ne": 1}}', { a: '1' }, true],
    ['{"a": {"$ne": 1}}', { a: 1 }, false],
    ['{"a": {"$exists": true}}', { a: null }, true],
    ['{"a": {"$exists": true}}', {}, false],
    ['{"a": {"$exists": false}}', {}, true],
    ['{"a": {"$in": [1, null]}}', {}, true],
    ['{"a": {"$in": [1, "2"]}}', { a: 2 }, false],
    ['{"a": {"$in": []}}', { a: 2 }, false],
    ['{"a": {"$nin": [1]}}', {}, true],
    ['{"a": {"$nin": [1, null]}}', {}, false],
    ['{"a": {"$gt": 1}}', { a: 2 }, true],
    ['{"a": {"$gt": 1}}', { a: '2' }, false],
    ['{"a": {"$gt": 1}}', { a: true }, false],
    ['{"a": {"$gt": 1}}', {}, false],
    ['{"a": {"$lte": "b"}}', { a: 'b' }, true],
    ['{"a": {"$lt": "b"}}', { a: 1 }, false],
    ['{"a": {"$gt": "\\uffff"}}', { a: '😀' }, true], // code point order, not UTF-16
    ['{"a": {"$gt": "Z"}}', { a: 'a' }, true], // case-sensitive, byte order
    ['{"a": {"$gte": 1, "$lt": 3}}', { a: 3 }, false],
    ['{"a": {"$contains": "ell"}}', { a: 'hello' }, true],
    ['{"a": {"$contains": "ELL"}}', { a: 'hello' }, false],
    ['{"a": {"$contains": ""}}', { a: '' }, true],
    ['{"a": {"$contains": "x"}}', { a: ['x', 'y'] }, true],
    ['{"a": {"$contains": "x"}}', { a: ['xy'] }, false],
    ['{"a": {"$contains": 1}}', { a: ['1', true] }, false],
    ['{"a": {"$contains": 1}}', { a: [1.0] }, true],
    ['{"a": {"$contains": null}}', { a: [null] }, true],
    ['{"a": {"$contains": 1}}', { a: 1 }, false],
    ['{"a": {"$contains": "x"}}', { a: { x: 1 } }, false],
    ['{"a": {"$contains": "x"}}', { a: [['x']] }, false],
    ['{"a": {"$startsWith": "he"}}', { a: 'hello' }, true],
    ['{"a": {"$startsWith": ""}}', { a: '' }, true],
    ['{"a": {"$startsWith": "1"}}', { a: 12 }, false],
    ['{"a": {"$startsWith": "x"}}', { a: ['x'] }, false],
    ['{"a.b": 1}', { a: { b: 1 } }, true],
    ['{"a.b": null}', { a: [{ b: 1 }] }, true], // a path does not reach into arrays
    ['{"a.b": null}', { a: 'text' }, true],
    ['{"toString": null}', {}, true], // only own properties: nothing from Object.prototype
    ['{"hasOwnProperty": {"$exists": true}}', {}, false],
    ['{"title": "\'; DROP TABLE x; --"}', { title: "'; DROP TABLE x; --" }, true],
    ['{"$not": {"a": 1}}', {}, true],
    ['{"$or": [{"a": 1}, {"b": 1}]}', { b: 1 }, true],
    ['{"$and": [{"a": 1}, {"b": 1}]}', { b: 1 }, false],
    ['{"a": 1, "b": 1}', { a: 1, b: 2 }, false],
  ] as const)('%s on %j → %s', (filter, data, expected) => {
    expect(matches(filter, data as JsonObject)).toBe(expected);
  });

  it('system fields', () => {
    expect(matches('{"owner": null}', {}, { owner: null })).toBe(true);
    expect(matches('{"owner": {"$exists": true}}', {}, { owner: null })).toBe(true);
    expect(matches('{"owner": {"$gt": ""}}', {}, { owner: null })).toBe(false);
    expect(matches('{"version": {"$gte": 2}}', {})).toBe(true);
    expect(matches('{"createdAt": {"$lt": "2026-01-01T00:00:00.001Z"}}', {})).toBe(true);
    expect(matches('{"createdAt": {"$startsWith": "2026-01"}}', {})).toBe(true);
    expect(matches('{"id": {"$in": ["r0", "r1"]}}', {})).toBe(true);
  });
});

describe('value order', () => {
  it('compares strings by code point', () => {
    const words = ['😀', '\uffff', 'b', 'B', 'a', '', 'é', 'ab', '\ue000'];
    expect([...words].sort(compareStrings)).toEqual(['', 'B', 'a', 'ab', 'b', 'é', '\ue000', '\uffff', '😀']);
    expect(compareStrings('a😀', 'a\uffff')).toBe(1);
  });

  it('orders types: missing = null < false < true < numbers < strings < arrays < objects', () => {
    // Boxed: Array.prototype.sort never hands `undefined` to a comparator.
    const values = ([{ b: 1 }, ['z'], 'a', '', 10, -1, true, false, null, undefined, [], {}] as FieldValue[]).map((v) => ({ v }));
    const sorted = values.sort((x, y) => compareSortValues(x.v, y.v)).map((x) => x.v);
    expect(sorted.slice(0, 2)).toEqual([null, undefined]);
    expect(sorted.slice(2)).toEqual([false, true, -1, 10, '', 'a', ['z'], [], { b: 1 }, {}]);
    expect(compareSortValues(['a'], ['b'])).toBe(0); // containers tie
    expect(compareSortValues(null, undefined)).toBe(0);
  });
});

describe('compareRecords', () => {
  it('sorts by keys and directions, ties broken by id', () => {
    const rows = [
      row({ p: 2 }, { id: 'a' }), row({ p: 'x' }, { id: 'b' }), row({}, { id: 'c' }), row({ p: 2 }, { id: 'd' }), row({ p: true }, { id: 'e' }),
    ];
    const ids = (sort: string) => [...rows].sort((x, y) => compareRecords(x, y, parseSort(sort))).map((r) => r.id);
    expect(ids('p')).toEqual(['c', 'e', 'a', 'd', 'b']);
    expect(ids('-p')).toEqual(['b', 'd', 'a', 'e', 'c']);
    expect(ids('-p,id')).toEqual(['b', 'a', 'd', 'e', 'c']);
  });

  it('sorts null owners first', () => {
    const rows = [row({}, { id: 'a', owner: 'u' }), row({}, { id: 'b', owner: null })];
    expect([...rows].sort((x, y) => compareRecords(x, y, parseSort('owner'))).map((r) => r.id)).toEqual(['b', 'a']);
  });
});
