import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { matchTotp, newTotpSecret, totpCode, totpStep, totpUri } from './totp.js';

// RFC 6238 appendix B: the SHA-1 seed is the ASCII of "12345678901234567890".
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
// The RFC's 8-digit codes; a 6-digit code is the same number mod 10^6, its last six digits.
const RFC_VECTORS: readonly [seconds: number, code: string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

/** RFC 4226 HOTP over RFC 6238's counter, written out independently of otpauth. */
function referenceTotp(seed: Buffer, seconds: number, digits: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = createHmac('sha1', seed).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(value).padStart(digits, '0');
}

describe('TOTP (RFC 6238, SHA-1, 6 digits, 30 s)', () => {
  it.each(RFC_VECTORS)('at %i s gives the RFC test vector %s (last six digits)', (seconds, code) => {
    expect(referenceTotp(Buffer.from('12345678901234567890'), seconds, 8)).toBe(code);
    expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(code.slice(-6));
    expect(matchTotp(RFC_SECRET, code.slice(-6), seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it('accepts the step before and after, not two away, and says which step matched', () => {
    const now = 1_700_000_015_000;
    const step = totpStep(now);
    for (const delta of [-1, 0, 1]) expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now + delta * 30_000), now)).toBe(step + delta);
    for (const delta of [-2, 2]) expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now + delta * 30_000), now)).toBeNull();
  });

  it('refuses anything that is not six digits', () => {
    const now = 59_000;
    for (const bad of ['', '28708', '2870822', '28708a', ' 287082', '94287082']) expect(matchTotp(RFC_SECRET, bad, now)).toBeNull();
  });

  it('makes 160-bit base32 secrets and an otpauth URI with issuer and account', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
    const uri = new URL(totpUri(secret, 'Acme & Co', 'ada'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Acme & Co:ada');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ issuer: 'Acme & Co', secret, algorithm: 'SHA1', digits: '6', period: '30' });
  });
});
