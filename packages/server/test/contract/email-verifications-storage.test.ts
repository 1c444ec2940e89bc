/** The EmailVerificationRepository contract (migration 9), on every engine. */
import { beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { newId } from '../../src/core/ids.js';
import type { EmailVerificationPurpose, NewUser, Store } from '../../src/core/storage/store.js';
import { freshStoreEachTest, STORES } from '../helpers/stores.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const newUser = (overrides: Partial<NewUser> = {}): NewUser => ({
  id: newId(T0), username: `u${newId().slice(-10).toLowerCase()}`, email: null, passwordHash: '$argon2id$fake', role: 'user', createdAt: at(0), ...overrides,
});

describe.each(STORES)('email verification storage: $name', (factory) => {
  const skip = factory.skipReason !== null;
  let store: Store;
  let userId: string;
  freshStoreEachTest(factory, (o) => {
    store = o.store;
  });
  beforeEach(async () => {
    if (skip) return;
    userId = (await store.users.insertUser(newUser({ email: 'dora@example.com' }))).id;
  });

  const insert = (tokenHash: string, opts: { userId?: string; email?: string; purpose?: EmailVerificationPurpose; createdAt?: number; expiresAt?: number } = {}) =>
    store.emailVerifications.insertEmailVerification({
      tokenHash, userId: opts.userId ?? userId, email: opts.email ?? 'dora@example.com', purpose: opts.purpose ?? 'verify', createdAt: at(opts.createdAt ?? 0), expiresAt: at(opts.expiresAt ?? 3600),
    });

  describe.skipIf(skip)('rows', () => {
    it('consumes a live verification exactly once and returns it as it was', async () => {
      await insert('v1', { email: 'Dora@Example.com' });
      await expect(insert('v1')).rejects.toSatisfy((e: unknown) => e instanceof AppError && e.code === 'conflict');
      expect(await store.emailVerifications.consumeEmailVerification('v1', at(10)))
        .toEqual({ tokenHash: 'v1', userId, email: 'Dora@Example.com', purpose: 'verify', createdAt: at(0), expiresAt: at(3600), usedAt: null });
      expect(await store.emailVerifications.consumeEmailVerification('v1', at(11))).toBeNull();
      expect(await store.emailVerifications.consumeEmailVerification('missing', at(11))).toBeNull();
    });

    it('refuses an expired one', async () => {
      await insert('v1');
      expect(await store.emailVerifications.consumeEmailVerification('v1', at(3600))).toBeNull();
      expect(await store.emailVerifications.consumeEmailVerification('v1', at(3599))).not.toBeNull();
    });

    it('lets exactly one of concurrent uses win', async () => {
      for (let round = 0; round < 5; round++) {
        await insert(`c${round}`);
        const results = await Promise.all(Array.from({ length: 4 }, (_, i) => store.emailVerifications.consumeEmailVerification(`c${round}`, at(i))));
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      }
    });

    it('finds the newest live address change, and only changes', async () => {
      expect(await store.emailVerifications.findPendingEmailChange(userId, at(1))).toBeNull();
      await insert('verify', { purpose: 'verify', createdAt: 5 });
      expect(await store.emailVerifications.findPendingEmailChange(userId, at(6))).toBeNull();
      await insert('old', { purpose: 'change', email: 'old@example.com', createdAt: 1 });
      await insert('new', { purpose: 'change', email: 'new@example.com', createdAt: 2 });
      expect(await store.emailVerifications.findPendingEmailChange(userId, at(10))).toMatchObject({ tokenHash: 'new', email: 'new@example.com', purpose: 'change' });
      await store.emailVerifications.consumeEmailVerification('new', at(11));
      expect((await store.emailVerifications.findPendingEmailChange(userId, at(12)))?.tokenHash).toBe('old');
      expect(await store.emailVerifications.findPendingEmailChange(userId, at(3600))).toBeNull();
    });

    it('ends every unused verification of one user, and no one else\'s', async () => {
      const other = await store.users.insertUser(newUser({ username: 'fred' }));
      await insert('a');
      await insert('b', { purpose: 'change', email: 'b@example.com' });
      await insert('o', { userId: other.id });
      expect(await store.emailVerifications.endUserEmailVerifications(userId, at(30))).toBe(2);
      expect(await store.emailVerifications.consumeEmailVerification('a', at(31))).toBeNull();
      expect(await store.emailVerifications.findPendingEmailChange(userId, at(31))).toBeNull();
      expect(await store.emailVerifications.consumeEmailVerification('o', at(31))).toMatchObject({ userId: other.id });
      expect(await store.emailVerifications.endUserEmailVerifications(userId, at(40))).toBe(0);
    });

    it('deletes those expired or used before a time, and a user\'s with the user; refuses unknown users and purposes', async () => {
      await insert('expired', { expiresAt: 50 });
      await insert('used');
      await insert('live');
      await store.emailVerifications.consumeEmailVerification('used', at(40));
      expect(await store.emailVerifications.deleteStaleEmailVerifications(at(100))).toBe(2);
      await expect(insert('ghost', { userId: 'ghost' })).rejects.toThrow();
      await expect(insert('odd', { purpose: 'other' as EmailVerificationPurpose })).rejects.toThrow();
      expect(await store.users.deleteUser(userId)).toBe(true);
      expect(await store.emailVerifications.consumeEmailVerification('live', at(100))).toBeNull();
    });

    it('consumes inside a transaction, and a rollback gives it back', async () => {
      await insert('t');
      await expect(store.transaction(async (tx) => {
        expect(await tx.emailVerifications.consumeEmailVerification('t', at(10))).not.toBeNull();
        throw new Error('roll back');
      })).rejects.toThrow('roll back');
      expect(await store.emailVerifications.consumeEmailVerification('t', at(11))).not.toBeNull();
    });
  });
});
