import type { UserDto } from '@sigil/protocol';
import { AppError } from '../errors.js';
import type { UserRow } from '../storage/store.js';

const USERNAME_RE = /^[a-z0-9_.-]{3,32}$/;
/**
 * Punctuation only between letters or digits, one at a time: otherwise
 * `root.`, `.root`, `root_` and `ro..ot` pass for `root` (or `ro.ot`) in a
 * list. Checked for new names only (register, admin create): existing users
 * keep theirs and log in as before. Documented in docs/auth.md.
 */
const PUNCTUATION_RE = /^[a-z0-9](?:[_.-]?[a-z0-9])*$/;
// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is the mail server's job.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Usernames are case-insensitive: stored and compared lower-cased. */
export function normalizeUsername(value: unknown, path = '/username'): string {
  const name = typeof value === 'string' ? value.toLowerCase() : '';
  if (!USERNAME_RE.test(name)) {
    throw new AppError('validation_failed', 'Invalid username.', {
      details: [{ path, message: 'must be 3–32 characters of a-z, 0-9, _ . -' }],
    });
  }
  if (!PUNCTUATION_RE.test(name)) {
    const rule = 'must start and end with a letter or digit, with no two punctuation characters (_ . -) in a row';
    // The rule is in the message too: the start-up admin (SIGIL_ADMIN_USERNAME) reports only the message.
    throw new AppError('validation_failed', `Invalid username "${name}": it ${rule}.`, { details: [{ path, message: rule }] });
  }
  return name;
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
    emailVerified: row.emailVerified,
    role: row.role,
    disabled: row.disabled,
    twoFactorEnabled: row.twoFactorEnabled,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
