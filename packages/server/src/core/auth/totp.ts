import { Secret, TOTP } from 'otpauth';

/**
 * TOTP (RFC 6238) as authenticator apps support it: HMAC-SHA-1, 6 digits,
 * a 30-second step, and codes of one step before and after the current one
 * accepted (clock drift, and the seconds it takes to type a code). The
 * arithmetic is otpauth's; what is ours is which step a code matched, so
 * that no step is accepted twice.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_WINDOW = 1;

/** The time step of `ms` (ms since the epoch). */
export const totpStep = (ms: number): number => Math.floor(ms / 1000 / TOTP_PERIOD_SECONDS);

/** A new secret: 160 random bits (RFC 4226's recommendation), as base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The `otpauth://totp/...` URI an authenticator app reads from a QR code. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return totpFor(secret, issuer, account).toString();
}

/** The time step `code` is valid for at `ms`, within the window; null when it is not a valid code then. */
export function matchTotp(secret: string, code: string, ms: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpFor(secret).validate({ token: code, timestamp: ms, window: TOTP_WINDOW });
  return delta === null ? null : totpStep(ms) + delta;
}

/** The code of `secret` at `ms` (tests, and tools). */
export function totpCode(secret: string, ms: number): string {
  return totpFor(secret).generate({ timestamp: ms });
}

function totpFor(secret: string, issuer = '', label = ''): TOTP {
  return new TOTP({ issuer, label, secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
}
