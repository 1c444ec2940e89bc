import { describe, expect, it } from 'vitest';
import { listStatementName, MAX_PREPARED_LIST_SHAPES } from './postgres-records.js';

describe('listStatementName', () => {
  it('names each list-query shape once, the same every time, up to a bound', () => {
    const first = listStatementName('SELECT 1 -- shape a');
    expect(first).toMatch(/^sigil_q_[0-9a-f]{24}$/);
    expect(listStatementName('SELECT 1 -- shape a')).toBe(first);
    expect(listStatementName('SELECT 1 -- shape b')).not.toBe(first);
    // Fill the rest of the bound with invented shapes: beyond it, new shapes run unnamed.
    const names = new Set<string>();
    for (let i = 0; i < MAX_PREPARED_LIST_SHAPES * 2; i++) {
      const name = listStatementName(`SELECT 1 -- invented ${i}`);
      if (name !== undefined) names.add(name);
    }
    expect(names.size).toBeLessThanOrEqual(MAX_PREPARED_LIST_SHAPES - 2);
    expect(listStatementName('SELECT 1 -- one more')).toBeUndefined();
    // Shapes named before keep their statement.
    expect(listStatementName('SELECT 1 -- shape a')).toBe(first);
  });
});
