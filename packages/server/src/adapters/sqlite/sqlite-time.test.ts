import { describe, expect, it } from 'vitest';
import { isoText } from './sqlite-time.js';

describe('isoText', () => {
  it('keeps a canonical time as it is', () => {
    expect(isoText('2025-01-02T03:04:05.678Z')).toBe('2025-01-02T03:04:05.678Z');
  });

  it('normalizes other ISO forms to the fixed-width UTC form', () => {
    expect(isoText('2025-01-02T03:04:05Z')).toBe('2025-01-02T03:04:05.000Z');
    expect(isoText('2025-01-02T05:04:05.678+02:00')).toBe('2025-01-02T03:04:05.678Z');
  });

  it('refuses an invalid time, even one shaped like the canonical form', () => {
    expect(() => isoText('2025-13-45T99:99:99.999Z')).toThrow(RangeError);
    expect(() => isoText('yesterday')).toThrow(RangeError);
  });
});
