import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import type { RecordRow } from '../record.js';
import { cursorPositionOf, decodeRecordCursor, encodeRecordCursor, MAX_CURSOR_LENGTH, sortFingerprint } from './cursor.js';
import { parseSort } from './sort.js';

const record: RecordRow = {
  id: 'r1', owner: null, version: 3, createdAt: '2026-01-02T03:04:05.678Z', updatedAt: '2026-01-02T03:04:05.678Z',
  data: { title: "It's 😀", priority: 2.5, done: false, tags: ['a'], address: { city: 'Oslo' }, nothing: null },
};

const DEFAULT = parseSort(undefined);

function expectInvalidCursor(text: string, sort = DEFAULT): void {
  try {
    decodeRecordCursor(text, sort);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('bad_request');
    expect((error as AppError).message).toBe('Invalid cursor.');
    expect((error as AppError).details).toEqual([{ path: '/after', message: expect.any(String) as string }]);
    return;
  }
  throw new Error(`decoded: ${text}`);
}

/** A cursor with the right fingerprint but a hand-made position. */
const forged = (position: unknown, sort = DEFAULT): string =>
  Buffer.from(JSON.stringify({ v: 1, s: sortFingerprint(sort), p: position })).toString('base64url');

describe('record cursors', () => {
  it('hold the normalized sort values of a row', () => {
    expect(cursorPositionOf(record, parseSort('title,-priority,done,tags,address,missing,nothing'))).toEqual(["It's 😀", 2.5, false, [], {}, null, null, 'r1']);
    expect(cursorPositionOf(record, parseSort('owner,version,createdAt'))).toEqual([null, 3, '2026-01-02T03:04:05.678Z', 'r1']);
  });

  it('round-trip through an opaque base64url string', () => {
    for (const text of [undefined, '-title', 'address.city,-createdAt', 'owner,version,tags']) {
      const sort = parseSort(text);
      const position = cursorPositionOf(record, sort);
      const cursor = encodeRecordCursor(position, sort);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeRecordCursor(cursor, sort)).toEqual(position);
    }
  });

  it('are refused under another sort', () => {
    const cursor = encodeRecordCursor(cursorPositionOf(record, DEFAULT), DEFAULT);
    expectInvalidCursor(cursor, parseSort('-createdAt'));
    expectInvalidCursor(cursor, parseSort('createdAt,title'));
  });

  it.each([
    [''], ['!!!!'], ['a b'], ['e30'], ['bnVsbA'], ['W10'], [Buffer.from('not json').toString('base64url')],
    ['x'.repeat(MAX_CURSOR_LENGTH + 1)], [`${encodeRecordCursor(['2026-01-02T03:04:05.678Z', 'r1'], DEFAULT)}=`],
  ])('rejects garbage %#', (text) => expectInvalidCursor(text));

  it('rejects wrong versions, extra fields, wrong arity and wrong types', () => {
    const good = ['2026-01-02T03:04:05.678Z', 'r1'];
    const encode = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url');
    expectInvalidCursor(encode({ v: 2, s: sortFingerprint(DEFAULT), p: good }));
    expectInvalidCursor(encode({ v: 1, s: sortFingerprint(DEFAULT), p: good, x: 1 }));
    expectInvalidCursor(encode({ s: sortFingerprint(DEFAULT), p: good }));
    expectInvalidCursor(forged(['2026-01-02T03:04:05.678Z']));
    expectInvalidCursor(forged([...good, 'x']));
    expectInvalidCursor(forged('r1'));
    // createdAt must be a canonical timestamp: PostgreSQL casts it to timestamptz.
    for (const createdAt of ['2026-01-02', '2026-02-30T00:00:00.000Z', "'; DROP TABLE x; --", 5, null]) {
      expectInvalidCursor(forged([createdAt, 'r1']));
    }
    expectInvalidCursor(forged(['2026-01-02T03:04:05.678Z', 7]));
    expectInvalidCursor(forged(['2026-01-02T03:04:05.678Z', '']));
    const version = parseSort('version');
    expectInvalidCursor(forged([1.5, 'r1'], version), version);
    expectInvalidCursor(forged(['1', 'r1'], version), version);
    expectInvalidCursor(forged([2 ** 60, 'r1'], version), version);
    const title = parseSort('title');
    expectInvalidCursor(forged([[1], 'r1'], title), title);
    expectInvalidCursor(forged([{ a: 1 }, 'r1'], title), title);
    expectInvalidCursor(forged(['a\u0000', 'r1'], title), title);
    expectInvalidCursor(forged(['\ud800', 'r1'], title), title);
    expect(decodeRecordCursor(forged([{}, 'r1'], title), title)).toEqual([{}, 'r1']);
    expect(decodeRecordCursor(forged([null, 'r1'], title), title)).toEqual([null, 'r1']);
  });

  it('SQL in a cursor value is just a value', () => {
    const title = parseSort('title');
    const evil = "x' OR 1=1; --";
    expect(decodeRecordCursor(forged([evil, 'r1'], title), title)).toEqual([evil, 'r1']);
  });

  it('refuses to make a cursor that would be too long (sorting on a huge string)', () => {
    const title = parseSort('title');
    const huge = { ...record, data: { title: 'x'.repeat(MAX_CURSOR_LENGTH) } };
    expect(() => encodeRecordCursor(cursorPositionOf(huge, title), title)).toThrow(expect.objectContaining({ code: 'bad_request' }) as Error);
  });
});
