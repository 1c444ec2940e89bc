import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../collections/collection.js';
import { AppError } from '../errors.js';
import { applyMergePatch, assertDepth } from './merge-patch.js';

describe('applyMergePatch (RFC 7396 appendix A)', () => {
  const cases: [JsonValue, JsonValue, JsonValue][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(cases)('%j + %j = %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('does not modify its inputs', () => {
    const target = { a: { b: 1 } };
    applyMergePatch(target, { a: { b: 2 } });
    expect(target).toEqual({ a: { b: 1 } });
  });

  it('refuses prototype keys', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}}') as JsonValue;
    expect(() => applyMergePatch({}, patch)).toThrow(AppError);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('assertDepth', () => {
  it('accepts up to the limit and refuses beyond it without recursion', () => {
    expect(() => assertDepth({ a: { b: 1 } }, 2)).not.toThrow();
    expect(() => assertDepth({ a: { b: { c: 1 } } }, 2)).toThrow(AppError);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => assertDepth(deep, 64)).toThrow(AppError);
  });
});
