import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { AppError } from '../errors.js';
import type { WorkGate } from './work-gate.js';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

/** argon2id cost parameters. Encoded in every hash, so changing them only affects new hashes. */
export interface Argon2Params {
  /** KiB of memory per hash. */
  readonly memoryCost: number;
  /** Passes over memory. */
  readonly timeCost: number;
  readonly parallelism: number;
}

/**
 * OWASP Password Storage Cheat Sheet, argon2id, first option:
 * m=19456 (19 MiB), t=2, p=1.
 * https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
 */
export const OWASP_ARGON2_PARAMS: Argon2Params = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1 });

// `Algorithm` in @node-rs/argon2 is an ambient const enum, which
// isolatedModules cannot read; 2 is its Argon2id member. Passed explicitly so
// a change of the library's default can never downgrade us.
const ARGON2ID = 2;

/**
 * Checks the password policy (SPEC §4.1: 8–128 characters) and returns the
 * password. Characters are Unicode code points, so an emoji counts as one
 * (UTF-16 length would count it as two and reject valid short passphrases).
 */
export function validatePassword(pw: unknown): string {
  if (typeof pw !== 'string') throw invalidPassword('must be a string');
  // Each code point is at most two UTF-16 units: longer strings fail without
  // walking a possibly huge input.
  const length = pw.length > MAX_PASSWORD_LENGTH * 2 ? Infinity : countCodePoints(pw);
  if (length < MIN_PASSWORD_LENGTH) {
    throw invalidPassword(`must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw invalidPassword(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  return pw;
}

/** Hashes a password with argon2id into a self-describing PHC string. */
export async function hashPassword(pw: string, params: Argon2Params = OWASP_ARGON2_PARAMS): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- see ARGON2ID above
  return hash(pw, { ...pickParams(params), algorithm: ARGON2ID });
}

/**
 * True when `pw` matches `hashed`. Never throws: a malformed or foreign hash
 * in the database means "does not match", not a 500 that tells an attacker
 * which accounts are broken.
 */
export async function verifyPassword(hashed: string, pw: string): Promise<boolean> {
  if (typeof hashed !== 'string' || typeof pw !== 'string') return false;
  try {
    return await verify(hashed, pw);
  } catch {
    return false;
  }
}

/**
 * Like `verifyPassword`, but for a user that may not exist (`hashed === null`).
 * Then it still runs a full argon2 verification against a dummy hash with the
 * same parameters and returns false, so "unknown user" and "wrong password"
 * take similar time (SPEC §4.1) and usernames cannot be enumerated by timing.
 */
export async function verifyPasswordOrDummy(
  hashed: string | null,
  pw: string,
  params: Argon2Params = OWASP_ARGON2_PARAMS,
): Promise<boolean> {
  if (hashed !== null) return verifyPassword(hashed, pw);
  await verifyPassword(await dummyHash(params), typeof pw === 'string' ? pw : '');
  return false;
}

/**
 * Computes the dummy hash ahead of the first unknown-user login, so even that
 * one does not take longer than the others. Optional; call at start-up.
 */
export async function warmUpDummyHash(params: Argon2Params = OWASP_ARGON2_PARAMS): Promise<void> {
  await dummyHash(params);
}

/** A password hasher bound to one set of parameters, for services that take it injected. */
export interface PasswordHasher {
  hash(pw: string): Promise<string>;
  verify(hashed: string, pw: string): Promise<boolean>;
  verifyOrDummy(hashed: string | null, pw: string): Promise<boolean>;
}

/**
 * `gate`, when given, bounds how many hashes and verifications run at once
 * and how many wait (see WorkGate): past that, calls fail with `unavailable`.
 */
export function createPasswordHasher(params: Argon2Params = OWASP_ARGON2_PARAMS, gate?: WorkGate): PasswordHasher {
  const run = <T>(task: () => Promise<T>): Promise<T> => (gate ? gate.run(task) : task());
  return {
    hash: (pw) => run(() => hashPassword(pw, params)),
    verify: (hashed, pw) => run(() => verifyPassword(hashed, pw)),
    verifyOrDummy: (hashed, pw) => run(() => verifyPasswordOrDummy(hashed, pw, params)),
  };
}

// One dummy per parameter set, computed once. The promise is cached so
// concurrent first logins share one computation. Its password is random and
// thrown away: nothing can ever match it.
const dummyHashes = new Map<string, Promise<string>>();

function dummyHash(params: Argon2Params): Promise<string> {
  const p = pickParams(params);
  const key = `${p.memoryCost}:${p.timeCost}:${p.parallelism}`;
  let cached = dummyHashes.get(key);
  if (cached === undefined) {
    cached = hashPassword(randomBytes(32).toString('base64url'), p);
    dummyHashes.set(key, cached);
    // A failure must not be cached forever.
    cached.catch(() => dummyHashes.delete(key));
  }
  return cached;
}

function pickParams(params: Argon2Params): Argon2Params {
  return { memoryCost: params.memoryCost, timeCost: params.timeCost, parallelism: params.parallelism };
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    const unit = s.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return n;
}

function invalidPassword(message: string): AppError {
  return new AppError('validation_failed', `Password ${message}.`, {
    details: [{ path: '/password', message }],
  });
}
