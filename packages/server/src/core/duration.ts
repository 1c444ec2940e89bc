const UNIT_SECONDS = {
  s: 1,
  m: 60,
  h: 60 * 60,
  d: 24 * 60 * 60,
  w: 7 * 24 * 60 * 60,
} as const;

/**
 * The longest duration we accept. Anything longer is almost certainly a typo
 * (`30000d` for `30d`), and a token or session that outlives the deployment
 * is a liability rather than a feature.
 */
export const MAX_DURATION_SECONDS = Math.round(10 * 365.25 * UNIT_SECONDS.d);

// Lowercase units only: `M` would read as "month" to some people and minute to others.
const DURATION = /^(\d{1,15})(s|m|h|d|w)?$/;

/**
 * Parses a human duration into whole seconds: `45` (plain seconds), `3600s`,
 * `15m`, `1h`, `30d`, `2w`. Throws on anything else, on zero, and on more than
 * ten years, so configuration mistakes stop start-up instead of silently
 * issuing tokens that never expire.
 *
 * @example parseDuration('15m') // 900
 */
export function parseDuration(text: string): number {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  const match = DURATION.exec(trimmed);
  if (match === null) {
    throw new Error(
      `invalid duration ${JSON.stringify(text)}: expected a whole number with an optional unit s, m, h, d or w (e.g. 45, 15m, 30d)`,
    );
  }
  const amount = Number(match[1]);
  const unit = (match[2] ?? 's') as keyof typeof UNIT_SECONDS;
  const seconds = amount * UNIT_SECONDS[unit];
  if (seconds === 0) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: must be greater than zero`);
  }
  if (seconds > MAX_DURATION_SECONDS) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: must be at most 10 years`);
  }
  return seconds;
}
