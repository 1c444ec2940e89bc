/** `toISOString()`'s own format: what every time is stored as. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A time as stored: fixed-width ISO 8601 UTC text, which keeps SQLite's text
 * comparison in time order whatever ISO variant the caller passed. Times
 * already in that form (all of Sigil's own) are kept as they are, without a
 * Date round trip; anything else is normalized, and an invalid time throws.
 */
export function isoText(time: string): string {
  return CANONICAL.test(time) && !Number.isNaN(Date.parse(time)) ? time : new Date(time).toISOString();
}
