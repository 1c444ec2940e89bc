/** The `iat` and `exp` claims (seconds) of an access token; null if it cannot be read. */
export function tokenTimes(token: string): { iat: number; exp: number } | null {
  const part = token.split('.')[1];
  if (part === undefined) return null;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))) as { iat?: unknown; exp?: unknown };
    return typeof claims.exp === 'number' && typeof claims.iat === 'number' ? { iat: claims.iat, exp: claims.exp } : null;
  } catch {
    return null;
  }
}

/**
 * When a token expires, on this machine's clock: its lifetime (`exp - iat`,
 * both the server's clock) counted from now, so a skewed local clock does
 * not matter. The claims are whole seconds (`iat` rounded down), so the
 * token may have been issued up to a second after `iat`: that second is
 * taken off. A token whose claims cannot be read is treated as short-lived.
 */
export function localExpiry(token: string, now: number): number {
  const times = tokenTimes(token);
  return now + (times ? Math.max(0, (times.exp - times.iat - 1) * 1000) : 60_000);
}
