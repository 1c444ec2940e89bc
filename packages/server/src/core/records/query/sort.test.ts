import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { formatSort, parseSort, SORT_LIMITS } from './sort.js';

const sorted = (text: string | undefined) => formatSort(parseSort(text));

function expectBadSort(text: string): void {
  try {
    parseSort(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('bad_request');
    expect((error as AppError).details).toEqual([{ path: '/sort', message: expect.any(String) as string }]);
    return;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseSort', () => {
  it('defaults to createdAt,id', () => {
    expect(sorted(undefined)).toBe('createdAt,id');
    expect(sorted('')).toBe('createdAt,id');
    expect(sorted('  ')).toBe('createdAt,id');
  });

  it('parses system and dotted data fields with directions', () => {
    expect(parseSort('-priority,address.city')).toEqual([
      { field: { kind: 'data', path: ['priority'] }, direction: 'desc' },
      { field: { kind: 'data', path: ['address', 'city'] }, direction: 'asc' },
      { field: { kind: 'system', name: 'id' }, direction: 'asc' },
    ]);
    expect(sorted(' -updatedAt , version ')).toBe('-updatedAt,version,id');
  });

  it('appends id in the direction of the last key', () => {
    expect(sorted('-createdAt')).toBe('-createdAt,-id');
    expect(sorted('title,-createdAt')).toBe('title,-createdAt,-id');
    expect(sorted('-title,createdAt')).toBe('-title,createdAt,id');
  });

  it('keeps an explicit id and drops keys after it (ids are unique)', () => {
    expect(sorted('-id')).toBe('-id');
    expect(sorted('title,id')).toBe('title,id');
    expect(sorted('id,title')).toBe('id');
  });

  it(`allows ${SORT_LIMITS.maxKeys} keys, not more`, () => {
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`).join(',');
    expect(parseSort(keys(SORT_LIMITS.maxKeys))).toHaveLength(SORT_LIMITS.maxKeys + 1);
    expectBadSort(keys(SORT_LIMITS.maxKeys + 1));
  });

  it.each([
    ['title,title'], ['title,-title'], ['a,,b'], [','], ['-'], ['--title'], ['+title'], ['a b'], ['a;DROP TABLE x'],
    ["a'"], ['a"'], ['a.'], ['a..b'], ['1a'], ['a.b.c.d.e.f.g.h.i'], ['__proto__'], ['a.constructor'], ['owner.name'],
    ['created_at'.replace('_', '-')], ['x'.repeat(2000)],
  ])('rejects %j with bad_request at /sort', (text) => expectBadSort(text));
});
