import type { FastifyInstance } from 'fastify';

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

export function installSecurityHeaders(app: FastifyInstance): void {
  // onRequest, not onSend: headers set before the handler are also on answers written without onSend (a 413 that lingers).
  app.addHook('onRequest', (request, reply, done) => {
    void reply.headers(SECURITY_HEADERS);
    if (NO_STORE_PREFIXES.some((prefix) => request.url.startsWith(prefix))) void reply.header('cache-control', 'no-store');
    done();
  });
}
