import { AppError } from './errors.js';

/** Cursors are opaque to clients: base64url of a JSON value, so their format can change without breaking anyone. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Throws `bad_request` for anything that is not a cursor this server made. */
export function decodeCursor(cursor: unknown): string {
  if (typeof cursor === 'string' && cursor.length <= 512 && /^[A-Za-z0-9_-]+$/.test(cursor)) {
    try {
      const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (typeof value === 'string' && value.length > 0 && value.length <= 128) return value;
    } catch {
      // fall through to the error below
    }
  }
  throw new AppError('bad_request', 'Invalid cursor.', { details: [{ path: '/after', message: 'is not a cursor from this API' }] });
}
