import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { createWorkGate } from './work-gate.js';
import {
  OWASP_ARGON2_PARAMS,
  createPasswordHasher,
  hashPassword,
  validatePassword,
  verifyPassword,
  verifyPasswordOrDummy,
} from './password.js';
import type { Argon2Params } from './password.js';

// Cheap parameters keep the suite fast; production uses OWASP_ARGON2_PARAMS.
const CHEAP: Argon2Params = { memoryCost: 256, timeCost: 1, parallelism: 1 };

function policyError(pw: unknown): AppError {
  try {
    validatePassword(pw);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error(`expected ${JSON.stringify(pw)} to be rejected`);
}

describe('validatePassword', () => {
  it.each([
    ['8 ASCII characters', 'a'.repeat(8)],
    ['128 ASCII characters', 'a'.repeat(128)],
    ['8 emoji (16 UTF-16 units)', '😀'.repeat(8)],
    ['128 emoji (256 UTF-16 units)', '😀'.repeat(128)],
    ['7 letters + 1 emoji', 'abcdefg😀'],
  ])('accepts %s', (_name, pw) => {
    expect(validatePassword(pw)).toBe(pw);
  });

  it.each([
    ['7 characters', 'a'.repeat(7), 'must be at least 8 characters'],
    ['129 characters', 'a'.repeat(129), 'must be at most 128 characters'],
    ['7 emoji (14 UTF-16 units)', '😀'.repeat(7), 'must be at least 8 characters'],
    ['129 emoji', '😀'.repeat(129), 'must be at most 128 characters'],
    ['an empty string', '', 'must be at least 8 characters'],
    ['a huge string', 'x'.repeat(1_000_000), 'must be at most 128 characters'],
  ])('rejects %s', (_name, pw, message) => {
    const err = policyError(pw);
    expect(err.code).toBe('validation_failed');
    expect(err.details).toEqual([{ path: '/password', message }]);
  });

  it.each([undefined, null, 12345678, ['abcdefgh'], { length: 8 }])('rejects non-string %j', (pw) => {
    const err = policyError(pw);
    expect(err.code).toBe('validation_failed');
    expect(err.details).toEqual([{ path: '/password', message: 'must be a string' }]);
  });
});

describe('hashPassword / verifyPassword', () => {
  it('hashes with argon2id and verifies the right password only', async () => {
    const hash = await hashPassword('correct horse battery', CHEAP);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=256,t=1,p=1\$/);
    await expect(verifyPassword(hash, 'correct horse battery')).resolves.toBe(true);
    await expect(verifyPassword(hash, 'correct horse batterY')).resolves.toBe(false);
    await expect(verifyPassword(hash, '')).resolves.toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', CHEAP), hashPassword('same password', CHEAP)]);
    expect(a).not.toBe(b);
  });

  it('defaults to the OWASP parameters', async () => {
    expect(OWASP_ARGON2_PARAMS).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const hash = await hashPassword('one default hash');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await expect(verifyPassword(hash, 'one default hash')).resolves.toBe(true);
  });

  it.each([
    '',
    'not a hash',
    '$argon2id$',
    '$argon2id$v=19$m=256,t=1,p=1$c2FsdA$',
    '$2b$10$abcdefghijklmnopqrstuuYJm0v7dN7E9nY1dC1bGQx6oX1Q9c7S2',
    '$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
  ])('returns false, never throws, for malformed hash %j', async (hash) => {
    await expect(verifyPassword(hash, 'whatever password')).resolves.toBe(false);
  });

  it('returns false for non-string input at runtime', async () => {
    const hash = await hashPassword('password one', CHEAP);
    await expect(verifyPassword(null as unknown as string, 'password one')).resolves.toBe(false);
    await expect(verifyPassword(hash, undefined as unknown as string)).resolves.toBe(false);
  });
});

describe('verifyPasswordOrDummy', () => {
  it('verifies against the real hash when there is one', async () => {
    const hash = await hashPassword('password one', CHEAP);
    await expect(verifyPasswordOrDummy(hash, 'password one', CHEAP)).resolves.toBe(true);
    await expect(verifyPasswordOrDummy(hash, 'password two', CHEAP)).resolves.toBe(false);
  });

  it('returns false for an unknown user, for any password', async () => {
    await expect(verifyPasswordOrDummy(null, 'password one', CHEAP)).resolves.toBe(false);
    await expect(verifyPasswordOrDummy(null, '', CHEAP)).resolves.toBe(false);
    // Concurrent first calls share one dummy hash computation.
    const results = await Promise.all([1, 2, 3].map((i) => verifyPasswordOrDummy(null, `pw ${i}`, { ...CHEAP, timeCost: 2 })));
    expect(results).toEqual([false, false, false]);
  });
});

describe('createPasswordHasher', () => {
  it('binds the parameters for injection into services', async () => {
    const hasher = createPasswordHasher(CHEAP);
    const hash = await hasher.hash('injected password');
    expect(hash).toContain('m=256,t=1,p=1');
    await expect(hasher.verify(hash, 'injected password')).resolves.toBe(true);
    await expect(hasher.verifyOrDummy(hash, 'injected password')).resolves.toBe(true);
    await expect(hasher.verifyOrDummy(null, 'injected password')).resolves.toBe(false);
  });
});

describe('createPasswordHasher with a work gate', () => {
  it('sends every hash and verification through the gate, refusing what does not fit', async () => {
    const hasher = createPasswordHasher(CHEAP, createWorkGate({ maxConcurrent: 1, maxQueued: 0 }));
    const hash = await hasher.hash('gated password');
    const running = hasher.verify(hash, 'gated password');
    for (const overflow of [hasher.verify(hash, 'gated password'), hasher.verifyOrDummy(null, 'x'), hasher.hash('another one')]) {
      await expect(overflow).rejects.toMatchObject({ code: 'unavailable' });
    }
    await expect(running).resolves.toBe(true);
    await expect(hasher.verifyOrDummy(hash, 'gated password')).resolves.toBe(true);
  });
});
