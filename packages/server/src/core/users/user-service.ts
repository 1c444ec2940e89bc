import type { Page, Role, UserDto, UserUpdate } from '@sigil/protocol';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { AuthThrottle } from '../auth/auth-throttle.js';
import type { EmailVerifications } from '../auth/email-verification.js';
import type { RequestOrigin } from '../auth/auth-service.js';
import type { IdentityCache } from '../auth/identity-cache.js';
import type { PasswordHasher } from '../auth/password.js';
import { validatePassword } from '../auth/password.js';
import type { Principal } from '../auth/principal.js';
import { normalizeEmail, normalizeUsername, toUserDto } from '../auth/user-fields.js';
import type { RelationIntegrity } from '../records/relation-integrity.js';
import type { Store, UserChanges, UserRow } from '../storage/store.js';
import { decodeCursor, encodeCursor } from '../cursor.js';

export interface UserServiceOptions {
  readonly store: Store;
  readonly passwords: PasswordHasher;
  readonly clock: Clock;
  /** Budgets for password checks (`currentPassword`), shared with login. Without it (CLI), no limit. */
  readonly throttle?: AuthThrottle;
  /** Cleared after every change to a user or their sessions. */
  readonly identities: IdentityCache;
  /** Told after a user's role, status, sessions or existence changed, so live connections can be re-checked. */
  readonly onUserChanged?: (userId: string) => void;
  /** What deleting a user does to records whose relations name them (restrict, cascade, setNull). */
  readonly relations: RelationIntegrity;
  /** Called after a change-log entry commits (deleting a user can cascade to records). */
  readonly onCommitted?: () => void;
  /** A user's own address change waits for the link mailed to the new address; without it (CLI) addresses change directly. */
  readonly emailVerifications?: EmailVerifications;
}

export interface UserPatch {
  readonly email?: unknown;
  readonly password?: unknown;
  readonly currentPassword?: unknown;
  readonly role?: unknown;
  readonly disabled?: unknown;
  /** Admins only: set with or without an address change. */
  readonly emailVerified?: unknown;
}

export type UserService = ReturnType<typeof createUserService>;

/** The users API's rules: self versus admin, and the last admin is protected. */
export function createUserService(opts: UserServiceOptions) {
  const { store, passwords, clock } = opts;
  const iso = (): string => new Date(clock.now()).toISOString();

  /** Self or admin may see a user; anyone else is refused before any lookup, so names cannot be probed. */
  async function loadVisible(principal: Principal, username: string): Promise<UserRow> {
    const name = typeof username === 'string' ? username.toLowerCase() : '';
    if (principal.role !== 'admin' && name !== principal.username) {
      throw new AppError('forbidden', 'You may only access your own account.');
    }
    const user = await store.users.findUserByUsername(name);
    if (!user) throw new AppError('not_found', 'No such user.');
    return user;
  }

  async function revokeSessions(userId: string, exceptSessionId?: string): Promise<void> {
    await store.sessions.revokeUserSessions(userId, iso(), exceptSessionId);
    opts.identities.invalidate();
  }

  /** Creates an admin (CLI and start-up bootstrap). */
  async function createAdmin(usernameInput: string, passwordInput: string): Promise<UserDto> {
    const username = normalizeUsername(usernameInput);
    const password = validatePassword(passwordInput);
    const passwordHash = await passwords.hash(password);
    const row = await store.users.insertUser({ id: newId(clock.now()), username, email: null, passwordHash, role: 'admin', createdAt: iso() });
    return toUserDto(row);
  }

  return {
    async list(principal: Principal, query: { limit?: unknown; after?: unknown; search?: unknown }): Promise<Page<UserDto>> {
      if (principal.role !== 'admin') throw new AppError('forbidden', 'Only admins may list users.');
      const limit = parseLimit(query.limit);
      const afterId = query.after === undefined || query.after === '' ? undefined : decodeCursor(query.after);
      const search = typeof query.search === 'string' ? query.search.trim().toLowerCase() : '';
      const rows = await store.users.listUsers({ limit: limit + 1, afterId, search: search === '' ? undefined : search });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map(toUserDto), nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
    },

    async get(principal: Principal, username: string): Promise<UserDto> {
      return toUserDto(await loadVisible(principal, username));
    },

    async update(principal: Principal, username: string, patch: UserPatch, origin: RequestOrigin): Promise<UserUpdate> {
      const target = await loadVisible(principal, username);
      const self = target.id === principal.userId;
      const admin = principal.role === 'admin';
      const changes: { -readonly [K in keyof UserChanges]: UserChanges[K] } = { updatedAt: iso() };

      if (!admin && (patch.role !== undefined || patch.disabled !== undefined)) {
        throw new AppError('forbidden', 'Only admins may change roles or disable accounts.');
      }
      let pendingEmail: string | undefined;
      if (patch.email !== undefined) {
        const email = normalizeEmail(patch.email);
        // Your own new address takes effect once you follow the link mailed to it; admins set
        // addresses directly, and clearing one needs no proof (docs/auth.md#email-verification).
        if (!admin && email !== null && email !== target.email && opts.emailVerifications?.available === true) pendingEmail = email;
        else if (email !== target.email) {
          changes.email = email;
          changes.emailVerified = false;
        }
      }
      if (patch.emailVerified !== undefined) {
        if (!admin) throw new AppError('forbidden', 'Only admins may set emailVerified; follow the link mailed to you instead.');
        if (typeof patch.emailVerified !== 'boolean') {
          throw new AppError('validation_failed', 'Invalid emailVerified flag.', { details: [{ path: '/emailVerified', message: 'must be boolean' }] });
        }
        changes.emailVerified = patch.emailVerified;
      }
      if (patch.password !== undefined) {
        const password = validatePassword(patch.password);
        // Changing your own password proves you know the current one, admin or not.
        if (self) {
          const current = typeof patch.currentPassword === 'string' ? patch.currentPassword : null;
          if (current === null) throw new AppError('invalid_credentials', 'currentPassword is wrong or missing.');
          // A password check like a login: the same budgets, so this is no back door for guessing.
          opts.throttle?.admit(target.username, origin.address);
          if (!(await passwords.verify(target.passwordHash, current))) {
            opts.throttle?.failed(target.username);
            throw new AppError('invalid_credentials', 'currentPassword is wrong or missing.');
          }
          opts.throttle?.succeeded(target.username, origin.address);
        }
        changes.passwordHash = await passwords.hash(password);
      }
      if (patch.role !== undefined) {
        if (patch.role !== 'user' && patch.role !== 'admin') {
          throw new AppError('validation_failed', 'Invalid role.', { details: [{ path: '/role', message: 'must be "user" or "admin"' }] });
        }
        changes.role = patch.role satisfies Role;
      }
      if (patch.disabled !== undefined) {
        if (typeof patch.disabled !== 'boolean') {
          throw new AppError('validation_failed', 'Invalid disabled flag.', { details: [{ path: '/disabled', message: 'must be boolean' }] });
        }
        changes.disabled = patch.disabled;
      }

      // Before anything changes: over the mail budgets, nothing does.
      if (pendingEmail !== undefined) await opts.emailVerifications!.requestChange(target, pendingEmail);

      const mayLoseAdmin = changes.role === 'user' || changes.disabled === true;
      const losesAdmin = target.role === 'admin' && !target.disabled && mayLoseAdmin;
      // READ COMMITTED, and changes that may take away an admin one at a time
      // (lockAdminChanges), each statement seeing what the previous one left:
      // two admins demoting each other cannot both succeed.
      const updated = await store.transaction(async (tx) => {
        if (mayLoseAdmin) await tx.users.lockAdminChanges();
        // Only a pending address: the user is as they were.
        const row = Object.keys(changes).length === 1 ? await tx.users.findUserById(target.id) : await tx.users.updateUser(target.id, changes);
        if (!row) throw new AppError('not_found', 'No such user.');
        // A new password, or a new address, ends every reset link sent before it.
        if (changes.passwordHash !== undefined || changes.email !== undefined) await tx.passwordResets.endUserPasswordResets(target.id, changes.updatedAt);
        // A new address ends every verification link sent before it.
        if (changes.email !== undefined) await tx.emailVerifications.endUserEmailVerifications(target.id, changes.updatedAt);
        // A login challenge proves the old password: it ends with it.
        if (changes.passwordHash !== undefined) await tx.twoFactor.endUserTwoFactorChallenges(target.id, changes.updatedAt);
        if (losesAdmin && (await tx.users.countActiveAdmins()) === 0) {
          throw new AppError('conflict', 'The last admin cannot be demoted or disabled.');
        }
        return row;
      }, { isolation: 'read committed' });

      opts.identities.invalidate();
      if (changes.disabled === true) await revokeSessions(target.id);
      else if (changes.passwordHash !== undefined) await revokeSessions(target.id, self ? principal.sessionId : undefined);
      opts.onUserChanged?.(target.id);
      return { user: toUserDto(updated), ...(pendingEmail === undefined ? {} : { pendingEmail }) };
    },

    async remove(principal: Principal, username: string): Promise<void> {
      const target = await loadVisible(principal, username);
      // READ COMMITTED, as for a demotion (above); and a delete's cascades and
      // set-nulls then see, statement by statement, the references committed
      // up to the moment the user's row is deleted (and locked).
      const logged = await store.transaction(async (tx) => {
        await tx.users.lockAdminChanges();
        await tx.sessions.revokeUserSessions(target.id, iso());
        if (!(await tx.users.deleteUser(target.id))) throw new AppError('not_found', 'No such user.');
        if (target.role === 'admin' && !target.disabled && (await tx.users.countActiveAdmins()) === 0) {
          throw new AppError('conflict', 'The last admin cannot be deleted.');
        }
        return opts.relations.afterUserDelete(target.id, principal, tx);
      }, { isolation: 'read committed' });
      if (logged) opts.onCommitted?.();
      opts.identities.invalidate();
      opts.onUserChanged?.(target.id);
    },

    createAdmin,

    /** Creates the configured admin when no admin exists yet (SIGIL_ADMIN_USERNAME / SIGIL_ADMIN_PASSWORD). */
    async ensureBootstrapAdmin(admin: { readonly username: string; readonly password: string }): Promise<UserDto | null> {
      if ((await store.users.countActiveAdmins()) > 0) return null;
      const existing = await store.users.findUserByUsername(admin.username);
      if (existing) {
        throw new AppError('conflict', `SIGIL_ADMIN_USERNAME "${admin.username}" is taken by a non-admin user; choose another name or promote it with the CLI.`);
      }
      return createAdmin(admin.username, admin.password);
    },
  };
}

function parseLimit(value: unknown): number {
  if (value === undefined || value === '') return 50;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 200) {
    throw new AppError('bad_request', 'limit must be an integer from 1 to 200.', { details: [{ path: '/limit', message: 'must be 1–200' }] });
  }
  return n;
}
