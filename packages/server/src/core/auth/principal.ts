import type { Role, UserDto } from '@sigil/protocol';
import { AppError } from '../errors.js';

/**
 * Who is making a request, as established from a verified access token and a
 * live session. `role` comes from the database, not from the token, so a role
 * change takes effect on the next request.
 */
export interface Principal {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  readonly sessionId: string;
  /** The user as read with the session, for answers like `/api/auth/me` that need no second query. */
  readonly user: UserDto;
  /** When the access token stops being valid (ms since the epoch). */
  readonly expiresAt: number;
}

export const isAdmin = (principal: Principal | null): boolean => principal?.role === 'admin';

/** Throws unless an admin calls: 401 without one ("Sign in as an admin to <action>."), 403 for anyone else ("Only admins may <action>."). */
export function requireAdmin(principal: Principal | null, action: string): asserts principal is Principal {
  if (principal === null) throw new AppError('unauthorized', `Sign in as an admin to ${action}.`);
  if (principal.role !== 'admin') throw new AppError('forbidden', `Only admins may ${action}.`);
}
