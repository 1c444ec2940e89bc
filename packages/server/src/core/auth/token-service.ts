import { createHash } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import type { AccessTokenClaims, Role } from '@sigil/protocol';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';

/** What the caller decides about a token; `iat`, `exp` and `iss` are added by the service. */
export interface AccessTokenSubject {
  readonly sub: string;
  readonly username: string;
  readonly role: Role;
  readonly sid: string;
}

export interface TokenService {
  /** Lifetime of the access tokens this service signs, in seconds. */
  readonly accessTokenTtlSeconds: number;
  /** Signs an HS256 access token with the first secret. */
  sign(claims: AccessTokenSubject): Promise<string>;
  /**
   * Verifies a token against every configured secret (chosen by `kid`) and
   * returns its claims. Throws `AppError('token_expired')` when it has expired
   * and `AppError('unauthorized')` for anything else wrong with it.
   */
  verify(token: string): Promise<AccessTokenClaims>;
}

export interface TokenServiceOptions {
  /** HMAC secrets: sign with the first, verify with all (key rotation). */
  readonly secrets: readonly string[];
  readonly issuer: string;
  readonly accessTokenTtlSeconds: number;
  readonly clock: Clock;
}

/**
 * Real tokens are a few hundred bytes. Refusing anything longer before
 * parsing bounds the base64/JSON work an unauthenticated caller can cause.
 */
export const MAX_TOKEN_LENGTH = 8 * 1024;
/** How many verified tokens are remembered (about 400 bytes each). */
export const VERIFIED_CACHE_SIZE = 10_000;

const ALG = 'HS256';
const ROLES: ReadonlySet<string> = new Set<Role>(['user', 'admin']);

/**
 * The `kid` of a secret: a short, stable name that lets verification pick the
 * right key during rotation. A hash over a fixed label, so the header reveals
 * nothing about the secret and cannot be reused as a hash of it elsewhere.
 */
export function keyIdForSecret(secret: string): string {
  return createHash('sha256').update('sigil/jwt-kid/v1\0').update(secret, 'utf8').digest('base64url').slice(0, 16);
}

export function createTokenService(opts: TokenServiceOptions): TokenService {
  const { issuer, clock, accessTokenTtlSeconds } = opts;
  if (opts.secrets.length === 0) throw new Error('token service needs at least one secret');
  if (opts.secrets.some((s) => s.length === 0)) throw new Error('token service secrets must not be empty');
  if (!Number.isSafeInteger(accessTokenTtlSeconds) || accessTokenTtlSeconds <= 0) {
    throw new Error('accessTokenTtlSeconds must be a positive whole number of seconds');
  }

  // Done once: hashing and encoding secrets is not per-request work.
  const encoder = new TextEncoder();
  const keysById = new Map<string, Uint8Array>();
  for (const secret of opts.secrets) {
    const kid = keyIdForSecret(secret);
    // With a duplicate secret the first occurrence wins; both would be equal anyway.
    if (!keysById.has(kid)) keysById.set(kid, encoder.encode(secret));
  }
  const signingKid = keyIdForSecret(opts.secrets[0]!);
  const signingKey = keysById.get(signingKid)!;
  const signingHeader = { alg: ALG, typ: 'JWT', kid: signingKid } as const;

  // Tokens that passed full verification, keyed by their exact text. A client
  // sends the same token on every request for its whole lifetime, and jose's
  // verification (WebCrypto HMAC, ~60 µs) would otherwise be the largest cost
  // of an authenticated request. Only byte-identical tokens hit, so nothing
  // unverified is ever trusted; `exp` is still checked on every hit. The
  // secrets cannot change while the process runs, so entries never go stale.
  const verified = new Map<string, AccessTokenClaims>();

  // Resolving the key from `kid` (instead of trying every secret) keeps
  // verification cost constant as the rotation list grows.
  const resolveKey = (header: JWTHeaderParameters): Uint8Array => {
    const key = typeof header.kid === 'string' ? keysById.get(header.kid) : undefined;
    if (key === undefined) throw new AppError('unauthorized', 'Invalid access token.');
    return key;
  };

  return {
    accessTokenTtlSeconds,

    async sign(claims) {
      // Copy field by field so nothing the caller's object happens to carry
      // (an email, a hash) can end up in a token anyone can read (SPEC §1.2).
      const { sub, username, role, sid } = claims;
      if (!isNonEmptyString(sub) || !isNonEmptyString(username) || !isNonEmptyString(sid) || !ROLES.has(role)) {
        throw new Error('cannot sign an access token with missing or invalid claims');
      }
      const iat = Math.floor(clock.now() / 1000);
      const payload: JWTPayload = { sub, username, role, sid, iat, exp: iat + accessTokenTtlSeconds, iss: issuer };
      return new SignJWT(payload).setProtectedHeader(signingHeader).sign(signingKey);
    },

    async verify(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new AppError('unauthorized', 'Invalid access token.');
      }
      const cached = verified.get(token);
      if (cached !== undefined) {
        if (clock.now() < cached.exp * 1000) return cached;
        verified.delete(token);
        throw new AppError('token_expired', 'The access token has expired.');
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, resolveKey, {
          // Pinned: never let the token's header choose the algorithm.
          algorithms: [ALG],
          issuer,
          typ: 'JWT',
          requiredClaims: ['iat', 'exp'],
          currentDate: new Date(clock.now()),
          // No tolerance: the same process signs and verifies, so there is no
          // skew between issuer and verifier to absorb. Expiry is `now >= exp`.
          clockTolerance: 0,
        }));
      } catch (err) {
        throw translateJoseError(err);
      }
      const claims = toClaims(payload);
      remember(token, claims);
      return claims;
    },
  };

  function remember(token: string, claims: AccessTokenClaims): void {
    if (verified.size >= VERIFIED_CACHE_SIZE) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = verified.keys().next().value;
      if (oldest !== undefined) verified.delete(oldest);
    }
    verified.set(token, claims);
  }
}

/** jose's errors stop here; callers only ever see AppError codes (STYLE convention 1). */
function translateJoseError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof errors.JWTExpired) {
    return new AppError('token_expired', 'The access token has expired.', { cause: err });
  }
  // Bad signature, unexpected alg, wrong iss, malformed input: one answer, so
  // an attacker learns nothing about which check failed. The cause is kept for logs.
  return new AppError('unauthorized', 'Invalid access token.', { cause: err });
}

function toClaims(payload: JWTPayload): AccessTokenClaims {
  const { sub, username, role, sid, iat, exp, iss } = payload;
  if (
    !isNonEmptyString(sub) ||
    !isNonEmptyString(username) ||
    !isNonEmptyString(sid) ||
    typeof role !== 'string' ||
    !ROLES.has(role) ||
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    typeof iss !== 'string'
  ) {
    throw new AppError('unauthorized', 'Invalid access token.');
  }
  // A fresh object: unknown claims in the payload are not passed along.
  return { sub, username, role: role as Role, sid, iat, exp, iss };
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
