import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { FILTER_LIMITS, parseFilter } from './filter.js';
import type { FilterNode } from './query-types.js';

const data = (...path: string[]) => ({ kind: 'data', path }) as const;
const system = (name: 'id' | 'owner' | 'version' | 'createdAt' | 'updatedAt') => ({ kind: 'system', name }) as const;

/** The `invalid_filter` error `text` produces (fails the test if it parses). */
function rejection(text: string): AppError {
  try {
    parseFilter(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error(`parsed: ${text.slice(0, 200)}`);
}

function expectInvalid(text: string, path?: string | RegExp): void {
  const error = rejection(text);
  expect(error.code).toBe('invalid_filter');
  expect(error.status).toBe(400);
  expect(error.details).toHaveLength(1);
  if (path !== undefined) expect(error.details![0]!.path).toEqual(typeof path === 'string' ? path : expect.stringMatching(path));
}

describe('parseFilter: grammar', () => {
  it('no filter: undefined, empty text and {}', () => {
    expect(parseFilter(undefined)).toBeNull();
    expect(parseFilter('')).toBeNull();
    expect(parseFilter('{}')).toBeNull();
  });

  it('a scalar is equality; several keys are AND', () => {
    expect(parseFilter('{"done": false}')).toEqual({ op: 'eq', field: data('done'), value: false });
    expect(parseFilter('{"done": false, "title": null}')).toEqual({
      op: 'and', children: [{ op: 'eq', field: data('done'), value: false }, { op: 'eq', field: data('title'), value: null }],
    });
  });

  it('parses the SPEC example', () => {
    const filter = parseFilter('{"done": false, "priority": {"$gte": 2}, "$or": [{"tags": {"$contains": "urgent"}}, {"owner": "u_1"}]}');
    expect(filter).toEqual({
      op: 'and',
      children: [
        { op: 'eq', field: data('done'), value: false },
        { op: 'gte', field: data('priority'), value: 2 },
        { op: 'or', children: [{ op: 'contains', field: data('tags'), value: 'urgent' }, { op: 'eq', field: system('owner'), value: 'u_1' }] },
      ],
    } satisfies FilterNode);
  });

  it('parses every operator', () => {
    const f = (ops: string) => parseFilter(`{"a.b": ${ops}}`);
    expect(f('{"$eq": 1}')).toEqual({ op: 'eq', field: data('a', 'b'), value: 1 });
    expect(f('{"$ne": "x"}')).toEqual({ op: 'ne', field: data('a', 'b'), value: 'x' });
    expect(f('{"$gt": 1, "$lte": "z"}')).toEqual({ op: 'and', children: [{ op: 'gt', field: data('a', 'b'), value: 1 }, { op: 'lte', field: data('a', 'b'), value: 'z' }] });
    expect(f('{"$in": [1, "1", true, null]}')).toEqual({ op: 'in', field: data('a', 'b'), values: [1, '1', true, null] });
    expect(f('{"$nin": []}')).toEqual({ op: 'nin', field: data('a', 'b'), values: [] });
    expect(f('{"$exists": false}')).toEqual({ op: 'exists', field: data('a', 'b'), value: false });
    expect(f('{"$contains": 3}')).toEqual({ op: 'contains', field: data('a', 'b'), value: 3 });
    expect(f('{"$startsWith": "ab"}')).toEqual({ op: 'startsWith', field: data('a', 'b'), value: 'ab' });
    expect(parseFilter('{"$not": {"a": 1}}')).toEqual({ op: 'not', child: { op: 'eq', field: data('a'), value: 1 } });
    expect(parseFilter('{"$and": [{"a": 1}, {}]}')).toEqual({ op: 'and', children: [{ op: 'eq', field: data('a'), value: 1 }, { op: 'and', children: [] }] });
  });

  it('system fields map to system refs and check their operand types', () => {
    expect(parseFilter('{"version": {"$gt": 2}}')).toEqual({ op: 'gt', field: system('version'), value: 2 });
    expect(parseFilter('{"createdAt": {"$gte": "2026-01-01"}}')).toEqual({ op: 'gte', field: system('createdAt'), value: '2026-01-01' });
    expect(parseFilter('{"owner": null}')).toEqual({ op: 'eq', field: system('owner'), value: null });
    expect(parseFilter('{"id": {"$in": ["a", "b"]}}')).toEqual({ op: 'in', field: system('id'), values: ['a', 'b'] });
    expectInvalid('{"version": "x"}', '/filter/version');
    expectInvalid('{"version": {"$gt": "1"}}', '/filter/version/$gt');
    expectInvalid('{"version": {"$contains": 1}}', '/filter/version/$contains');
    expectInvalid('{"version": {"$startsWith": "1"}}', '/filter/version/$startsWith');
    expectInvalid('{"id": 5}', '/filter/id');
    expectInvalid('{"id": null}', '/filter/id');
    expectInvalid('{"createdAt": {"$lt": 5}}', '/filter/createdAt/$lt');
    expectInvalid('{"owner": {"$in": ["u", 1]}}', '/filter/owner/$in/1');
    expectInvalid('{"owner": {"$contains": null}}', '/filter/owner/$contains');
    expectInvalid('{"owner.name": "x"}', '/filter/owner.name');
  });
});

describe('parseFilter: hostile input is invalid_filter, never anything else', () => {
  it('malformed JSON and non-objects', () => {
    for (const text of ['{', '{"a":}', "{'a': 1}", 'nul', '{"a": 1} x', ' ', '\u0000']) expectInvalid(text, '/filter');
    for (const text of ['null', '[]', '[{"a":1}]', '1', '"a"', 'true']) expectInvalid(text, '/filter');
  });

  it('unknown operators, and field operators used as logical ones', () => {
    expectInvalid('{"a": {"$where": "sleep(1)"}}', '/filter/a/$where');
    expectInvalid('{"a": {"$regex": ".*"}}', '/filter/a/$regex');
    expectInvalid('{"$where": "1=1"}', '/filter/$where');
    expectInvalid('{"$eq": 1}', '/filter/$eq');
    expectInvalid('{"a": {"$gt": 1, "b": 2}}', '/filter/a/b');
    expectInvalid('{"a": {}}', '/filter/a');
  });

  it('wrong operand types', () => {
    expectInvalid('{"a": [1, 2]}', '/filter/a');
    expectInvalid('{"a": {"b": 1}}', '/filter/a/b');
    expectInvalid('{"a": {"$eq": [1]}}', '/filter/a/$eq');
    expectInvalid('{"a": {"$eq": {"$gt": 1}}}', '/filter/a/$eq');
    expectInvalid('{"a": {"$gt": null}}', '/filter/a/$gt');
    expectInvalid('{"a": {"$gt": true}}', '/filter/a/$gt');
    expectInvalid('{"a": {"$in": 1}}', '/filter/a/$in');
    expectInvalid('{"a": {"$in": [[1]]}}', '/filter/a/$in/0');
    expectInvalid('{"a": {"$exists": 1}}', '/filter/a/$exists');
    expectInvalid('{"a": {"$contains": [1]}}', '/filter/a/$contains');
    expectInvalid('{"a": {"$startsWith": 1}}', '/filter/a/$startsWith');
    expectInvalid('{"a": 1e400}', '/filter/a');
    expectInvalid('{"$and": []}', '/filter/$and');
    expectInvalid('{"$or": {}}', '/filter/$or');
    expectInvalid('{"$or": [1]}', '/filter/$or/0');
    expectInvalid('{"$not": [{"a": 1}]}', '/filter/$not');
  });

  it('strings that cannot be stored: NUL and lone surrogates', () => {
    expectInvalid('{"a": "x\\u0000y"}', '/filter/a');
    expectInvalid('{"a": {"$in": ["\\ud800"]}}', '/filter/a/$in/0');
    expect(parseFilter('{"a": "\\ud83d\\ude00"}')).toEqual({ op: 'eq', field: data('a'), value: '😀' });
  });

  it.each([
    ['a"b'], ["a'b"], ['a;b'], ['a b'], ['a.'], ['.a'], ['a..b'], ['1a'], ['a-b'], ['a[0]'], ['a$'], ['é'],
    ["x') OR 1=1 --"], ['data->>0'], ['a.b.c.d.e.f.g.h.i'], ['__proto__'], ['a.constructor'], ['prototype.x'],
  ])('field path %j', (path) => {
    expectInvalid(JSON.stringify({ [path]: 1 }), /^\/filter\//);
  });

  it('__proto__ and constructor as keys anywhere', () => {
    expectInvalid('{"__proto__": {"a": 1}}', '/filter/__proto__');
    expectInvalid('{"a": {"__proto__": 1}}', '/filter/a/__proto__');
    expectInvalid('{"a": {"constructor": 1}}', '/filter/a/constructor');
    expectInvalid('{"$or": [{"constructor": 1}]}', '/filter/$or/0/constructor');
    expect(({} as Record<string, unknown>)['a']).toBeUndefined(); // nothing polluted
  });

  it('SQL injection strings as values are just strings', () => {
    const evil = "'; DROP TABLE c_tasks; --";
    expect(parseFilter(JSON.stringify({ title: evil }))).toEqual({ op: 'eq', field: data('title'), value: evil });
    expect(parseFilter(JSON.stringify({ title: { $in: [evil, '" OR ""="'] } }))).toEqual({ op: 'in', field: data('title'), values: [evil, '" OR ""="'] });
  });

  it('escapes JSON-Pointer tokens in paths and bounds their length', () => {
    expectInvalid('{"a/b~c": 1}', '/filter/a~1b~0c');
    const error = rejection(JSON.stringify({ [`${'x'.repeat(500)}!`]: 1 }));
    expect(error.details![0]!.path.length).toBeLessThan(100);
  });
});

describe('parseFilter: limits', () => {
  it('2,000-deep nesting fails fast without recursing', () => {
    const deep = `${'{"$not":'.repeat(2000)}{"a":1}${'}'.repeat(2000)}`;
    const arrays = `{"a":{"$in":${'['.repeat(2000)}${']'.repeat(2000)}}}`;
    const started = performance.now();
    expectInvalid(deep, '/filter');
    expectInvalid(arrays, '/filter');
    expect(rejection('['.repeat(10_000)).message).toMatch(/levels deep/); // not even valid JSON: depth is checked before parsing
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('allows 16 levels, not 17', () => {
    const nest = (n: number) => `${'{"$not":'.repeat(n - 1)}{"a":1}${'}'.repeat(n - 1)}`;
    expect(parseFilter(nest(FILTER_LIMITS.maxDepth))).not.toBeNull();
    expectInvalid(nest(FILTER_LIMITS.maxDepth + 1), '/filter');
    // Brackets inside strings do not count.
    expect(parseFilter(JSON.stringify({ a: '{[{[{[{[{[{[{[{[{[{[' }))).not.toBeNull();
  });

  it('$in: 1,000 values are fine; 100,000 are invalid_filter', () => {
    const values = (n: number) => JSON.stringify({ a: { $in: Array.from({ length: n }, (_, i) => i) } });
    expect(parseFilter(values(1000))).toMatchObject({ op: 'in' });
    expectInvalid(values(1001), '/filter/a/$in');
    // 100,000 numbers exceed the text limit before anything else.
    expectInvalid(values(100_000), '/filter');
  });

  it('text over 16 KiB (counted in UTF-8 bytes)', () => {
    expectInvalid(JSON.stringify({ a: 'x'.repeat(FILTER_LIMITS.maxBytes) }), '/filter');
    expectInvalid(JSON.stringify({ a: 'é'.repeat(FILTER_LIMITS.maxBytes / 2) }), '/filter');
    expect(parseFilter(JSON.stringify({ a: 'x'.repeat(FILTER_LIMITS.maxBytes - 20) }))).not.toBeNull();
  });

  it('at most 200 conditions', () => {
    const conditions = (n: number) => JSON.stringify({ $and: Array.from({ length: n }, (_, i) => ({ [`f${i}`]: i })) });
    expect(parseFilter(conditions(200))).toMatchObject({ op: 'and' });
    expectInvalid(conditions(201), /^\/filter\/\$and\/200\//);
  });
});
