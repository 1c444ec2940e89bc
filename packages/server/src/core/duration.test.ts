import { describe, expect, it } from 'vitest';
import { MAX_DURATION_SECONDS, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['45', 45],
    ['1', 1],
    ['3600s', 3600],
    ['15m', 900],
    ['1h', 3600],
    ['30d', 2_592_000],
    ['2w', 1_209_600],
    [' 15m ', 900],
    ['3652d', 3652 * 86_400],
  ])('parses %j as %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each([
    ['', /expected a whole number/],
    ['abc', /expected a whole number/],
    ['-5m', /expected a whole number/],
    ['1.5h', /expected a whole number/],
    ['15 m', /expected a whole number/],
    ['15M', /expected a whole number/],
    ['15ms', /expected a whole number/],
    ['1y', /expected a whole number/],
    ['m', /expected a whole number/],
    ['1e3', /expected a whole number/],
    ['0', /greater than zero/],
    ['0s', /greater than zero/],
    ['0d', /greater than zero/],
    ['3653d', /at most 10 years/],
    ['999999999999999w', /at most 10 years/],
    ['9999999999999999999', /expected a whole number/],
  ] as const)('rejects %j', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
  });

  it('names the offending text in the error', () => {
    expect(() => parseDuration('soon')).toThrow('"soon"');
  });

  it('accepts exactly ten years and no more', () => {
    expect(parseDuration(String(MAX_DURATION_SECONDS))).toBe(MAX_DURATION_SECONDS);
    expect(() => parseDuration(String(MAX_DURATION_SECONDS + 1))).toThrow(/10 years/);
  });
});
