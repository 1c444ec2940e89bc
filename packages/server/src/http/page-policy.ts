/** A Host header we are willing to echo into the CSP: a name or IP literal and an optional port, nothing else. */
const HOST_RE = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The Content-Security-Policy of the pages Sigil serves (the dashboard at
 * /_/ and the demo at /demo/): their own script and style files, nothing
 * inline, data only from this origin over HTTP and WebSocket, never framed.
 * Listed for users in docs/security.md.
 */
export function pagePolicy(host: string | undefined): string {
  // CSP3 lets 'self' cover ws:/wss: of the same host, but older engines
  // (Safari before 15.4) do not: name the socket origin too when the Host is sane.
  const sockets = host !== undefined && HOST_RE.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${sockets}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    // The forms are handled by the script; without it nothing is submitted (no password in a URL).
    "form-action 'none'",
    "frame-ancestors 'none'",
    // The pages write text only: a string reaching an HTML or script sink is refused outright.
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}
