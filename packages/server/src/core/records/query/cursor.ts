/**
 * Keyset cursors for record lists. A cursor holds the last row's sort values
 * (normalized by `toSortValue`) and a fingerprint of the sort it was made
 * for, base64url-encoded so clients treat it as opaque.
 *
 * The fingerprint is not a secret MAC: a hand-made cursor can only start a
 * page at an arbitrary position, which a filter can do anyway. It exists so a
 * cursor from one sort is refused under another instead of paging wrongly.
 * Every value is type-checked on the way in, because the adapters bind them
 * as SQL parameters (a non-timestamp against PostgreSQL's timestamptz would
 * be a 500, not a 400).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { RecordRow } from '../record.js';
import { fieldValue, isCanonicalTimestamp, isStorableString, toSortValue, type SortValue } from './order.js';
import type { CursorPosition, SortKey } from './query-types.js';
import { formatSort } from './sort.js';

/**
 * Longest cursor accepted (and produced). Cursors carry sort values
 * verbatim, so sorting on a long string field makes long cursors; 8 KiB
 * still fits within every server's URL limit (Node's is 16 KiB of headers).
 */
export const MAX_CURSOR_LENGTH = 8 * 1024;

const CURSOR_VERSION = 1;
const BASE64URL_RE = /^[A-Za-z0-9_-]+$/;

/** The normalized sort values of `record` (the last row of a page). */
export function cursorPositionOf(record: RecordRow, sort: readonly SortKey[]): CursorPosition {
  return sort.map((key) => toSortValue(fieldValue(record, key.field)));
}

/**
 * Throws `bad_request` (path `/sort`) when the row's sort values are too
 * long to fit in a cursor: paging on would otherwise repeat or skip rows.
 */
export function encodeRecordCursor(position: CursorPosition, sort: readonly SortKey[]): string {
  const text = Buffer.from(JSON.stringify({ v: CURSOR_VERSION, s: sortFingerprint(sort), p: position }), 'utf8').toString('base64url');
  if (text.length > MAX_CURSOR_LENGTH) {
    throw new AppError('bad_request', 'The sort values of this page are too long to page through; sort on a shorter field.', {
      details: [{ path: '/sort', message: `a cursor would exceed ${MAX_CURSOR_LENGTH} characters` }],
    });
  }
  return text;
}

/** Throws `bad_request` (path `/after`) for anything that is not a cursor we made for this sort. */
export function decodeRecordCursor(text: string, sort: readonly SortKey[]): CursorPosition {
  if (text.length > MAX_CURSOR_LENGTH || !BASE64URL_RE.test(text)) invalid('is not a cursor from this API');
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    invalid('is not a cursor from this API');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) invalid('is not a cursor from this API');
  const { v, s, p } = payload as Record<string, unknown>;
  if (v !== CURSOR_VERSION || Object.keys(payload).length !== 3) invalid('is not a cursor from this API');
  if (s !== sortFingerprint(sort)) invalid('was made for a different sort');
  if (!Array.isArray(p) || p.length !== sort.length) invalid('is not a cursor from this API');
  return sort.map((key, i) => {
    const value: unknown = p[i];
    if (!validSortValue(key, value)) invalid('is not a cursor from this API');
    return value;
  });
}

/** A short fingerprint of the canonical sort text. */
export function sortFingerprint(sort: readonly SortKey[]): string {
  return createHash('sha256').update(formatSort(sort)).digest('base64url').slice(0, 11);
}

function validSortValue(key: SortKey, value: unknown): value is SortValue {
  if (typeof value === 'string' && !isStorableString(value)) return false;
  if (key.field.kind === 'system') {
    switch (key.field.name) {
      case 'id':
        return typeof value === 'string' && value !== '';
      case 'owner':
        return typeof value === 'string' || value === null;
      case 'version':
        return Number.isSafeInteger(value);
      case 'createdAt':
      case 'updatedAt':
        return typeof value === 'string' && isCanonicalTimestamp(value);
    }
  }
  if (typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  // Containers travel as an empty one of their kind: only their rank matters.
  if (typeof value !== 'object') return false;
  return value === null || (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0);
}

function invalid(message: string): never {
  throw new AppError('bad_request', 'Invalid cursor.', { details: [{ path: '/after', message }] });
}
