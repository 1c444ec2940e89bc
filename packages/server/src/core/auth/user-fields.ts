import type { UserDto } from '@sigil/protocol';
import { AppError } from '../errors.js';
import type { UserRow } from '../storage/store.js';

const USERNAME_RE = /^[a-z0-9_.-]{3,32}$/;
// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is the mail server's job.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Usernames are case-insensitive: stored and compared lower-cased. */
export function normalizeUsername(value: unknown, path = '/username'): string {
  if (typeof value !== 'string' || !USERNAME_RE.test(value.toLowerCase())) {
    throw new AppError('validation_failed', 'Invalid username.', {
      details: [{ path, message: 'must be 3–32 characters of a-z, 0-9, _ . -' }],
    });
  }
  return value.toLowerCase();
}

/** `undefined` and `null` mean no email. */
export function normalizeEmail(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 254 || !EMAIL_RE.test(value)) {
    throw new AppError('validation_failed', 'Invalid email.', {
      details: [{ path: '/email', message: 'must be an email address of at most 254 characters' }],
    });
  }
  return value;
}

/** The public shape of a user: everything but the password hash. */
export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    role: row.role,
    disabled: row.disabled,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
