import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Sent on every response. API answers are JSON that no browser should
 * render, sniff, frame or run: the policy allows nothing. Pages that must
 * run (the demo page) replace `content-security-policy` with their own.
 * Listed for users in docs/security.md.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** Tokens, emails and sessions must not be kept by a browser or proxy cache. */
const NO_STORE_PREFIXES = ['/api/auth/', '/api/users'];

/**
 * Run from the one `onRequest` hook (build-http.ts): onRequest, not onSend,
 * so that answers written without onSend (a 413 that lingers) have them too.
 */
export function applySecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  void reply.headers(SECURITY_HEADERS);
  if (NO_STORE_PREFIXES.some((prefix) => request.url.startsWith(prefix))) void reply.header('cache-control', 'no-store');
}
