import { AppError } from '../../errors.js';

const MAX_REDIRECT_LENGTH = 2048;

/**
 * Where a sign-in may send the browser back to: an absolute http(s) URL
 * without credentials or fragment (the answer goes in the fragment) whose
 * origin is an allowed origin, or which is under an allowed URL prefix
 * (same origin, path starting with the prefix's path). Anything else is
 * refused before any redirect, so Sigil is no open redirect.
 */
export function checkRedirect(value: unknown, allowed: readonly string[]): string {
  const refuse = (why: string): AppError =>
    new AppError('validation_failed', `redirect ${why}.`, { details: [{ path: '/redirect', message: why }] });
  if (typeof value !== 'string' || value === '') throw refuse('is required');
  if (value.length > MAX_REDIRECT_LENGTH) throw refuse(`must be at most ${MAX_REDIRECT_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse('must be an absolute URL');
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.username !== '' || url.password !== '' || value.includes('#')) {
    throw refuse('must be an http(s) URL without credentials or fragment');
  }
  const ok = allowed.some((entry) => {
    const rule = new URL(entry);
    if (rule.origin !== url.origin) return false;
    return rule.pathname === '/' || url.pathname.startsWith(rule.pathname);
  });
  if (!ok) throw refuse('is not an allowed address (OAUTH_REDIRECT_URLS)');
  return url.toString();
}
