/**
 * The storage contract of two-factor state (TwoFactorRepository in
 * core/storage/store.ts) on every backend: what must not happen twice is a
 * compare-and-set, and the user's flag follows enable and disable.
 */
import { describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import type { Store, UserRow } from '../../src/core/storage/store.js';
import { STORES, freshStoreEachTest } from '../helpers/stores.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

describe.each(STORES)('two-factor storage: $name', (factory) => {
  const skip = factory.skipReason !== null;
  let store: Store;
  let user: UserRow;

  freshStoreEachTest(factory, async (o) => {
    store = o.store;
    user = await store.users.insertUser({ id: newId(T0), username: `u${newId().slice(-10).toLowerCase()}`, email: null, passwordHash: 'h', role: 'user', createdAt: at(0) });
  });

  describe.skipIf(skip)(skip ? `SKIPPED: ${factory.skipReason}` : 'secrets', () => {
    it('keeps a pending secret, replaces it while pending, and never once enabled', async () => {
      expect(user.twoFactorEnabled).toBe(false);
      expect(await store.twoFactor.findTwoFactorSecret(user.id)).toBeNull();
      expect(await store.twoFactor.putPendingTwoFactorSecret(user.id, 'sealed-1', at(1))).toBe(true);
      expect(await store.twoFactor.putPendingTwoFactorSecret(user.id, 'sealed-2', at(2))).toBe(true);
      expect(await store.twoFactor.findTwoFactorSecret(user.id)).toEqual({ userId: user.id, secret: 'sealed-2', createdAt: at(2), enabledAt: null, lastStep: -1 });
      expect(await store.twoFactor.enableTwoFactor(user.id, 1000, at(3))).toBe(true);
      expect(await store.twoFactor.enableTwoFactor(user.id, 1001, at(4))).toBe(false);
      expect(await store.twoFactor.putPendingTwoFactorSecret(user.id, 'sealed-3', at(5))).toBe(false);
      expect(await store.twoFactor.findTwoFactorSecret(user.id)).toEqual({ userId: user.id, secret: 'sealed-2', createdAt: at(2), enabledAt: at(3), lastStep: 1000 });
      expect(await store.users.findUserById(user.id)).toMatchObject({ twoFactorEnabled: true, updatedAt: at(3) });
      await store.sessions.insertSession({ id: 's2fa', userId: user.id, createdAt: at(0), expiresAt: at(3600) });
      expect((await store.sessions.findSessionIdentity('s2fa'))?.user.twoFactorEnabled).toBe(true);
      expect((await store.users.listUsers({ limit: 10 }))[0]?.twoFactorEnabled).toBe(true);
    });

    it('does not enable without a pending secret', async () => {
      expect(await store.twoFactor.enableTwoFactor(user.id, 1, at(1))).toBe(false);
      expect((await store.users.findUserById(user.id))?.twoFactorEnabled).toBe(false);
    });

    it('accepts each time step once, and none before the last one used', async () => {
      await store.twoFactor.putPendingTwoFactorSecret(user.id, 's', at(1));
      expect(await store.twoFactor.useTwoFactorStep(user.id, 5)).toBe(false); // not enabled yet
      await store.twoFactor.enableTwoFactor(user.id, 10, at(2));
      expect(await store.twoFactor.useTwoFactorStep(user.id, 10)).toBe(false);
      expect(await store.twoFactor.useTwoFactorStep(user.id, 9)).toBe(false);
      expect(await store.twoFactor.useTwoFactorStep(user.id, 11)).toBe(true);
      expect(await store.twoFactor.useTwoFactorStep(user.id, 11)).toBe(false);
      const racers = await Promise.all([12, 12, 12, 12].map((step) => store.twoFactor.useTwoFactorStep(user.id, step)));
      expect(racers.filter(Boolean)).toHaveLength(1);
    });

    it('re-encrypts only over the ciphertext it read', async () => {
      await store.twoFactor.putPendingTwoFactorSecret(user.id, 'old', at(1));
      await store.twoFactor.replaceTwoFactorSecret(user.id, 'other', 'lost');
      expect((await store.twoFactor.findTwoFactorSecret(user.id))?.secret).toBe('old');
      await store.twoFactor.replaceTwoFactorSecret(user.id, 'old', 'new');
      expect((await store.twoFactor.findTwoFactorSecret(user.id))?.secret).toBe('new');
    });

    it('disables: secret, codes and challenges go, and the flag clears', async () => {
      await store.twoFactor.putPendingTwoFactorSecret(user.id, 's', at(1));
      await store.twoFactor.enableTwoFactor(user.id, 1, at(2));
      await store.twoFactor.replaceRecoveryCodes(user.id, ['c1', 'c2'], at(2));
      await store.twoFactor.insertTwoFactorChallenge({ tokenHash: 't1', userId: user.id, createdAt: at(3), expiresAt: at(300) });
      expect(await store.twoFactor.disableTwoFactor(user.id, at(4))).toBe(true);
      expect(await store.twoFactor.findTwoFactorSecret(user.id)).toBeNull();
      expect(await store.twoFactor.countUnusedRecoveryCodes(user.id)).toBe(0);
      expect(await store.twoFactor.findLiveTwoFactorChallenge('t1', at(5))).toBeNull();
      expect(await store.users.findUserById(user.id)).toMatchObject({ twoFactorEnabled: false, updatedAt: at(4) });
      expect(await store.twoFactor.disableTwoFactor(user.id, at(5))).toBe(false);
    });
  });

  describe.skipIf(skip)('recovery codes', () => {
    it('uses each code once, only for its user, and replacing ends the old ones', async () => {
      const other = await store.users.insertUser({ id: newId(T0 + 1), username: 'other', email: null, passwordHash: 'h', role: 'user', createdAt: at(0) });
      await store.twoFactor.replaceRecoveryCodes(user.id, ['a', 'b', 'c'], at(1));
      expect(await store.twoFactor.countUnusedRecoveryCodes(user.id)).toBe(3);
      expect(await store.twoFactor.useRecoveryCode(other.id, 'a', at(2))).toBe(false);
      const racers = await Promise.all([1, 2, 3].map(() => store.twoFactor.useRecoveryCode(user.id, 'a', at(2))));
      expect(racers.filter(Boolean)).toHaveLength(1);
      expect(await store.twoFactor.countUnusedRecoveryCodes(user.id)).toBe(2);
      await store.twoFactor.replaceRecoveryCodes(user.id, ['d'], at(3));
      expect(await store.twoFactor.useRecoveryCode(user.id, 'b', at(4))).toBe(false);
      expect(await store.twoFactor.useRecoveryCode(user.id, 'd', at(4))).toBe(true);
      // Deleting the user takes the codes along.
      await store.twoFactor.replaceRecoveryCodes(user.id, ['e'], at(5));
      await store.users.deleteUser(user.id);
      expect(await store.twoFactor.countUnusedRecoveryCodes(user.id)).toBe(0);
    });

    it('a rollback gives a used code back', async () => {
      await store.twoFactor.replaceRecoveryCodes(user.id, ['a'], at(1));
      await expect(store.transaction(async (tx) => {
        expect(await tx.twoFactor.useRecoveryCode(user.id, 'a', at(2))).toBe(true);
        throw new Error('roll back');
      })).rejects.toThrow('roll back');
      expect(await store.twoFactor.useRecoveryCode(user.id, 'a', at(3))).toBe(true);
    });
  });

  describe.skipIf(skip)('challenges', () => {
    it('finds a live challenge, consumes it once, and not after expiry', async () => {
      await store.twoFactor.insertTwoFactorChallenge({ tokenHash: 't1', userId: user.id, createdAt: at(0), expiresAt: at(300) });
      await store.twoFactor.insertTwoFactorChallenge({ tokenHash: 't2', userId: user.id, createdAt: at(0), expiresAt: at(300) });
      expect(await store.twoFactor.findLiveTwoFactorChallenge('t1', at(10))).toEqual({
        tokenHash: 't1', userId: user.id, createdAt: at(0), expiresAt: at(300), failures: 0, usedAt: null,
      });
      expect(await store.twoFactor.findLiveTwoFactorChallenge('t1', at(300))).toBeNull();
      expect(await store.twoFactor.consumeTwoFactorChallenge('t1', at(300))).toBeNull();
      const racers = await Promise.all([1, 2, 3].map(() => store.twoFactor.consumeTwoFactorChallenge('t2', at(10))));
      expect(racers.filter((r) => r === user.id)).toHaveLength(1);
      expect(await store.twoFactor.findLiveTwoFactorChallenge('t2', at(11))).toBeNull();
      expect(await store.twoFactor.findLiveTwoFactorChallenge('nope', at(11))).toBeNull();
    });

    it('counts wrong codes and ends the challenge at the limit', async () => {
      await store.twoFactor.insertTwoFactorChallenge({ tokenHash: 't', userId: user.id, createdAt: at(0), expiresAt: at(300) });
      expect(await store.twoFactor.failTwoFactorChallenge('t', 3, at(1))).toBe(1);
      expect(await store.twoFactor.failTwoFactorChallenge('t', 3, at(2))).toBe(2);
      expect((await store.twoFactor.findLiveTwoFactorChallenge('t', at(2)))?.failures).toBe(2);
      expect(await store.twoFactor.failTwoFactorChallenge('t', 3, at(3))).toBe(3);
      expect(await store.twoFactor.findLiveTwoFactorChallenge('t', at(4))).toBeNull();
      expect(await store.twoFactor.failTwoFactorChallenge('t', 3, at(4))).toBeNull();
      expect(await store.twoFactor.consumeTwoFactorChallenge('t', at(4))).toBeNull();
    });

    it("ends every open challenge of one user, and no one else's", async () => {
      const other = await store.users.insertUser({ id: newId(T0 + 1), username: 'other2', email: null, passwordHash: 'h', role: 'user', createdAt: at(0) });
      for (const [hash, userId] of [['a', user.id], ['b', user.id], ['c', other.id]] as const) {
        await store.twoFactor.insertTwoFactorChallenge({ tokenHash: hash, userId, createdAt: at(0), expiresAt: at(300) });
      }
      await store.twoFactor.consumeTwoFactorChallenge('b', at(1));
      expect(await store.twoFactor.endUserTwoFactorChallenges(user.id, at(2))).toBe(1);
      expect(await store.twoFactor.findLiveTwoFactorChallenge('a', at(3))).toBeNull();
      expect(await store.twoFactor.findLiveTwoFactorChallenge('c', at(3))).not.toBeNull();
    });

    it('prunes challenges expired or ended before a time', async () => {
      await store.twoFactor.insertTwoFactorChallenge({ tokenHash: 'old', userId: user.id, createdAt: at(0), expiresAt: at(300) });
      await store.twoFactor.insertTwoFactorChallenge({ tokenHash: 'used', userId: user.id, createdAt: at(0), expiresAt: at(9000) });
      await store.twoFactor.insertTwoFactorChallenge({ tokenHash: 'live', userId: user.id, createdAt: at(0), expiresAt: at(9000) });
      await store.twoFactor.consumeTwoFactorChallenge('used', at(100));
      expect(await store.twoFactor.deleteStaleTwoFactorChallenges(at(1000))).toBe(2);
      expect(await store.twoFactor.findLiveTwoFactorChallenge('live', at(1000))).not.toBeNull();
    });
  });
});
