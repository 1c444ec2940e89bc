import { describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import type { JWTPayload } from 'jose';
import type { ErrorCode } from '@sigil/protocol';
import { AppError } from '../errors.js';
import { MAX_TOKEN_LENGTH, createTokenService, keyIdForSecret } from './token-service.js';
import type { AccessTokenSubject, TokenService } from './token-service.js';
import { hashSecretToken, newSecretToken } from './secret-token.js';

const SECRET = 'primary-secret-0123456789abcdef0123456789';
const OLD_SECRET = 'previous-secret-abcdef0123456789abcdef012';
const NEW_SECRET = 'next-secret-0011223344556677889900aabbcc';
const ISSUER = 'sigil-test';
const TTL = 900;
const START_MS = 1_700_000_000_000;

const subject: AccessTokenSubject = { sub: '01J9ZUSER', username: 'ada', role: 'user', sid: '01J9ZSESSION' };

function fakeClock(ms = START_MS): { now(): number; set(ms: number): void } {
  let t = ms;
  return { now: () => t, set: (v) => void (t = v) };
}

function service(secrets: readonly string[] = [SECRET], clock = fakeClock(), issuer = ISSUER): TokenService {
  return createTokenService({ secrets, issuer, accessTokenTtlSeconds: TTL, clock });
}

async function expectAppError(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A payload that would be valid if signed by us, at START_MS. */
function validPayload(overrides: Record<string, unknown> = {}): JWTPayload {
  const iat = Math.floor(START_MS / 1000);
  return { ...subject, iat, exp: iat + TTL, iss: ISSUER, ...overrides };
}

/** Signs an arbitrary payload with our secret and kid, bypassing the service's own checks. */
function signRaw(payload: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: keyIdForSecret(secret) })
    .sign(new TextEncoder().encode(secret));
}

describe('token service: round trip', () => {
  it('signs exactly sub, username, role, sid, iat, exp, iss and verifies them back', async () => {
    const tokens = service();
    const token = await tokens.sign({ ...subject, email: 'ada@example.com', hash: 'x' } as AccessTokenSubject);
    const payload = decodeJwt(token);
    expect(Object.keys(payload).sort()).toEqual(['exp', 'iat', 'iss', 'role', 'sid', 'sub', 'username']);
    expect(payload).toEqual(validPayload());

    const claims = await tokens.verify(token);
    expect(claims).toEqual(validPayload());
    expect(tokens.accessTokenTtlSeconds).toBe(TTL);
  });

  it('uses an HS256 header with a short kid that does not reveal the secret', async () => {
    const token = await service().sign(subject);
    const header = decodeProtectedHeader(token);
    expect(Object.keys(header).sort()).toEqual(['alg', 'kid', 'typ']);
    expect(header.alg).toBe('HS256');
    expect(header.typ).toBe('JWT');
    expect(header.kid).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(header.kid).toBe(keyIdForSecret(SECRET));
    expect(keyIdForSecret(SECRET)).not.toBe(keyIdForSecret(OLD_SECRET));
    expect(token).not.toContain(Buffer.from(SECRET).toString('base64url').slice(0, 12));
  });

  it('takes iat and exp from the injected clock', async () => {
    const clock = fakeClock(START_MS + 12_345);
    const claims = await service([SECRET], clock).verify(await service([SECRET], clock).sign(subject));
    expect(claims.iat).toBe(Math.floor((START_MS + 12_345) / 1000));
    expect(claims.exp).toBe(claims.iat + TTL);
  });

  it('refuses bad construction options', () => {
    const clock = fakeClock();
    expect(() => createTokenService({ secrets: [], issuer: ISSUER, accessTokenTtlSeconds: TTL, clock })).toThrow();
    expect(() => createTokenService({ secrets: [''], issuer: ISSUER, accessTokenTtlSeconds: TTL, clock })).toThrow();
    expect(() => createTokenService({ secrets: [SECRET], issuer: ISSUER, accessTokenTtlSeconds: 0, clock })).toThrow();
  });
});

describe('token service: expiry', () => {
  it('accepts a token one millisecond before exp and rejects it exactly at exp', async () => {
    const clock = fakeClock();
    const tokens = service([SECRET], clock);
    const token = await tokens.sign(subject);
    const expMs = (Math.floor(START_MS / 1000) + TTL) * 1000;

    clock.set(expMs - 1);
    await expect(tokens.verify(token)).resolves.toMatchObject({ sub: subject.sub });

    clock.set(expMs);
    await expectAppError(tokens.verify(token), 'token_expired');

    clock.set(expMs + 86_400_000);
    await expectAppError(tokens.verify(token), 'token_expired');
  });

  it('remembers verified tokens by their exact text only: an edited copy is verified afresh and refused', async () => {
    const tokens = service();
    const token = await tokens.sign(subject);
    await tokens.verify(token);
    await tokens.verify(token); // from the cache
    const [h, p, sig = ''] = token.split('.');
    const flipped = `${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.at(-1) ?? ''}`;
    await expectAppError(tokens.verify(`${h}.${p}.${flipped}`), 'unauthorized');
    const edited = `${h}.${b64({ ...decodeJwt(token), role: 'admin' })}.${sig}`;
    await expectAppError(tokens.verify(edited), 'unauthorized');
  });

  it('reports a forged expired token as unauthorized, not expired (signature first)', async () => {
    const clock = fakeClock(START_MS + 10 * TTL * 1000);
    const forged = await new SignJWT(validPayload())
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: keyIdForSecret(SECRET) })
      .sign(new TextEncoder().encode('attacker-secret-attacker-secret-attacker'));
    await expectAppError(service([SECRET], clock).verify(forged), 'unauthorized');
  });
});

describe('token service: key rotation', () => {
  it('verifies a token signed under the old first secret after the list becomes [new, old]', async () => {
    const clock = fakeClock();
    const token = await service([OLD_SECRET], clock).sign(subject);
    const rotated = service([NEW_SECRET, OLD_SECRET], clock);
    await expect(rotated.verify(token)).resolves.toMatchObject(subject);
    // New tokens are signed with the new first secret.
    expect(decodeProtectedHeader(await rotated.sign(subject)).kid).toBe(keyIdForSecret(NEW_SECRET));
  });

  it('rejects a token whose secret has been dropped from the list', async () => {
    const clock = fakeClock();
    const token = await service([OLD_SECRET], clock).sign(subject);
    await expectAppError(service([NEW_SECRET, SECRET], clock).verify(token), 'unauthorized');
  });

  it('rejects a missing or unknown kid', async () => {
    const key = new TextEncoder().encode(SECRET);
    const noKid = await new SignJWT(validPayload()).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
    const otherKid = await new SignJWT(validPayload())
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: 'AAAAAAAAAAAAAAAA' })
      .sign(key);
    await expectAppError(service().verify(noKid), 'unauthorized');
    await expectAppError(service().verify(otherKid), 'unauthorized');
  });
});

describe('token service: attacks are unauthorized', () => {
  const kid = keyIdForSecret(SECRET);

  it('rejects alg: none', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const token = `${b64({ alg, typ: 'JWT', kid })}.${b64(validPayload({ role: 'admin' }))}.`;
      await expectAppError(service().verify(token), 'unauthorized');
    }
  });

  it('rejects HS256 signed with another secret under our kid', async () => {
    const token = await new SignJWT(validPayload({ role: 'admin' }))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
      .sign(new TextEncoder().encode('attacker-secret-attacker-secret-attacker'));
    await expectAppError(service().verify(token), 'unauthorized');
  });

  it('rejects a payload edited after signing', async () => {
    const token = await service().sign(subject);
    const [header, , signature] = token.split('.');
    const edited = `${header}.${b64({ ...decodeJwt(token), role: 'admin' })}.${signature}`;
    await expectAppError(service().verify(edited), 'unauthorized');
  });

  it.each(['RS256', 'ES256'] as const)('rejects a genuinely signed %s token with our kid', async (alg) => {
    const { privateKey } = await generateKeyPair(alg);
    const token = await new SignJWT(validPayload({ role: 'admin' }))
      .setProtectedHeader({ alg, typ: 'JWT', kid })
      .sign(privateKey);
    await expectAppError(service().verify(token), 'unauthorized');
  });

  it('rejects other HMAC algorithms even with our secret', async () => {
    const token = await new SignJWT(validPayload())
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT', kid })
      .sign(new TextEncoder().encode(SECRET));
    await expectAppError(service().verify(token), 'unauthorized');
  });

  it('rejects a token for another issuer', async () => {
    const clock = fakeClock();
    const token = await service([SECRET], clock, 'someone-else').sign(subject);
    await expectAppError(service([SECRET], clock).verify(token), 'unauthorized');
  });

  it.each<[string, Record<string, unknown>]>([
    ['missing sub', { sub: undefined }],
    ['empty sub', { sub: '' }],
    ['numeric sub', { sub: 42 }],
    ['missing sid', { sid: undefined }],
    ['empty sid', { sid: '' }],
    ['non-string sid', { sid: ['a'] }],
    ['missing username', { username: undefined }],
    ['empty username', { username: '' }],
    ['unknown role', { role: 'root' }],
    ['missing role', { role: undefined }],
    ['missing iss', { iss: undefined }],
    ['missing exp', { exp: undefined }],
    ['missing iat', { iat: undefined }],
    ['string exp', { exp: 'never' }],
  ])('rejects a correctly signed token with %s', async (_name, overrides) => {
    const token = await signRaw(JSON.parse(JSON.stringify(validPayload(overrides))) as JWTPayload);
    await expectAppError(service().verify(token), 'unauthorized');
  });

  it('rejects a correctly signed token with a wrong typ header', async () => {
    const token = await new SignJWT(validPayload())
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
      .sign(new TextEncoder().encode(SECRET));
    await expectAppError(service().verify(token), 'unauthorized');
  });

  it.each([
    '',
    'garbage',
    'a.b.c',
    '...',
    'Bearer x.y.z',
    `${b64({ alg: 'HS256', kid })}.not-json.sig`,
    `${b64('header')}.${b64(validPayload())}.sig`,
    '\u0000\u0001.\u0002.\u0003',
  ])('rejects garbage %j', async (token) => {
    await expectAppError(service().verify(token), 'unauthorized');
  });

  it('rejects non-string input at runtime', async () => {
    await expectAppError(service().verify(undefined as unknown as string), 'unauthorized');
    await expectAppError(service().verify({} as unknown as string), 'unauthorized');
  });

  it('rejects a correctly signed token over 8 KiB', async () => {
    const token = await signRaw(validPayload({ pad: 'x'.repeat(MAX_TOKEN_LENGTH) }));
    expect(token.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    await expectAppError(service().verify(token), 'unauthorized');
  });

  it('keeps messages short and free of jose internals', async () => {
    const err = await expectAppError(service().verify('a.b.c'), 'unauthorized');
    expect(err.message).toBe('Invalid access token.');
    expect(err.status).toBe(401);
  });
});

describe('refresh tokens', () => {
  it('are 256 random bits in base64url', () => {
    const a = newSecretToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(newSecretToken()).not.toBe(a);
  });

  it('hash to stable SHA-256 hex', () => {
    expect(hashSecretToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const t = newSecretToken();
    expect(hashSecretToken(t)).toBe(hashSecretToken(t));
    expect(hashSecretToken(t)).toMatch(/^[0-9a-f]{64}$/);
  });
});
