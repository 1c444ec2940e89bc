/**
 * client.auth's two-factor surface against a real Sigil: enrolment, a login
 * that throws TwoFactorRequiredError and is completed with a code, turning it
 * off, and the admin reset (client.users.resetTwoFactor). Codes come from an
 * RFC 6238 implementation of the tests' own, on the real clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceTotp } from '../../server/test/helpers/totp-reference.js';
import { SigilError, TwoFactorRequiredError } from '../src/index.js';
import { nodeClient, PASSWORD, startFixture, uniqueUser, type Fixture } from './helpers.js';

/** A code one step ahead: accepted (the window is ±1) and after any step already spent. */
const nextCode = (secret: string): string => referenceTotp(secret, Date.now() + 30_000);

describe('client.auth two-factor', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture('sqlite');
  });
  afterAll(async () => {
    await f?.close();
  });

  async function enrolled() {
    const client = nodeClient(f.url);
    const username = uniqueUser('tfa');
    await client.auth.register({ username, password: PASSWORD });
    const { secret, otpauthUri } = await client.auth.twoFactor.setup(PASSWORD);
    expect(otpauthUri).toContain(`:${username}?`);
    expect(client.auth.session?.user.twoFactorEnabled).toBe(false);
    const { recoveryCodes } = await client.auth.twoFactor.enable(referenceTotp(secret, Date.now()));
    expect(recoveryCodes).toHaveLength(10);
    expect(client.auth.session?.user.twoFactorEnabled).toBe(true);
    return { client, username, secret, recoveryCodes };
  }

  it('login throws TwoFactorRequiredError with the challenge; completeTwoFactor signs in', async () => {
    const { client, username, secret } = await enrolled();
    await client.auth.logout();
    const seen: (string | null)[] = [];
    client.auth.onAuthChange((s) => seen.push(s?.user.username ?? null));
    const error = await client.auth.login({ username, password: PASSWORD }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TwoFactorRequiredError);
    expect(error).toBeInstanceOf(SigilError);
    expect(error).toMatchObject({ code: 'two_factor_required', status: 401 });
    const { challenge } = error as TwoFactorRequiredError;
    expect(challenge).toMatch(/^[\w-]{43}$/);
    expect(client.auth.session).toBeNull();
    expect(seen).toEqual([]);
    await expect(client.auth.completeTwoFactor({ challenge, code: '000000' })).rejects.toMatchObject({ code: 'invalid_credentials' });
    const user = await client.auth.completeTwoFactor({ challenge, code: nextCode(secret) });
    expect(user).toMatchObject({ username, twoFactorEnabled: true });
    expect(seen).toEqual([username]);
    expect((await client.auth.me()).username).toBe(username);
    // The challenge is spent.
    await expect(client.auth.completeTwoFactor({ challenge, code: nextCode(secret) })).rejects.toMatchObject({ code: 'unauthorized' });
    client.close();
  });

  it('completes with a recovery code, regenerates them, and disables with one', async () => {
    const { client, username, secret, recoveryCodes } = await enrolled();
    const challenge = await client.auth.login({ username, password: PASSWORD }).then(
      () => { throw new Error('expected a challenge'); },
      (e: unknown) => (e as TwoFactorRequiredError).challenge,
    );
    await client.auth.completeTwoFactor({ challenge, code: recoveryCodes[0]! });
    expect(await client.auth.twoFactor.status()).toEqual({ enabled: true, pending: false, recoveryCodesLeft: 9 });
    const fresh = await client.auth.twoFactor.regenerateRecoveryCodes(nextCode(secret));
    expect(fresh.recoveryCodes).toHaveLength(10);
    await expect(client.auth.twoFactor.disable({ password: PASSWORD, code: recoveryCodes[1]! })).rejects.toMatchObject({ code: 'invalid_credentials' });
    await client.auth.twoFactor.disable({ password: PASSWORD, code: fresh.recoveryCodes[0]! });
    expect(client.auth.session?.user.twoFactorEnabled).toBe(false);
    await client.auth.logout();
    expect((await client.auth.login({ username, password: PASSWORD })).twoFactorEnabled).toBe(false);
    client.close();
  });

  it('refuses a setup with the wrong password, and a second setup once on', async () => {
    const { client } = await enrolled();
    await expect(client.auth.twoFactor.setup('wrong password')).rejects.toMatchObject({ code: 'conflict' });
    client.close();
    const other = nodeClient(f.url);
    await other.auth.register({ username: uniqueUser('tfa'), password: PASSWORD });
    await expect(other.auth.twoFactor.setup('wrong password')).rejects.toMatchObject({ code: 'invalid_credentials' });
    other.close();
  });

  it('an admin sees the state and resets it with client.users.resetTwoFactor', async () => {
    const { client, username } = await enrolled();
    const admin = nodeClient(f.url);
    await admin.auth.login({ username: f.admin.username, password: f.admin.password });
    expect((await admin.users.get(username)).twoFactorEnabled).toBe(true);
    await expect(client.users.resetTwoFactor(username)).rejects.toMatchObject({ code: 'forbidden' });
    await admin.users.resetTwoFactor(username);
    expect((await admin.users.get(username)).twoFactorEnabled).toBe(false);
    expect((await client.auth.me()).twoFactorEnabled).toBe(false);
    admin.close();
    client.close();
  });
});
