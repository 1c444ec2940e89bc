import type { Principal } from '../auth/principal.js';
import type { RuleValue } from '../collections/collection.js';
import { AppError } from '../errors.js';

/**
 * Whether `principal` satisfies `rule` for a record owned by `owner`
 * (`undefined`: no particular record yet, as for create and list). Admins
 * always may.
 */
export function allows(rule: RuleValue, principal: Principal | null, owner?: string | null): boolean {
  if (principal?.role === 'admin') return true;
  switch (rule) {
    case 'public':
      return true;
    case 'authenticated':
      return principal !== null;
    case 'owner':
      return principal !== null && (owner === undefined || owner === principal.userId);
    case 'admin':
      return false;
  }
}

/** The refusal for an operation the caller may not perform: 401 without a token, else 403. */
export function refusal(principal: Principal | null, what: string): AppError {
  return principal === null ? new AppError('unauthorized', `Sign in to ${what}.`) : new AppError('forbidden', `You may not ${what}.`);
}
