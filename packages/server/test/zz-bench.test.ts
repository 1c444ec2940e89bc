import { it } from 'vitest';
import { matchesFilter } from '../src/core/records/query/evaluate.js';
import { parseFilter } from '../src/core/records/query/filter.js';
it('bench', () => {
  const r = { id: 'r1', owner: 'u_2', version: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', data: { done: false, priority: 3, tags: ['a', 'b', 'urgent'], address: { city: 'Oslo' } } };
  for (const text of ['{"done": false}', '{"priority": {"$gte": 2}}', '{"tags": {"$contains": "urgent"}}', '{"owner": "u_1"}', '{"address.city": {"$startsWith": "Os"}}',
    '{"done": false, "priority": {"$gte": 2}, "$or": [{"tags": {"$contains": "urgent"}}, {"owner": "u_1"}], "address.city": {"$startsWith": "Os"}}']) {
    const f = parseFilter(text);
    for (let k = 0; k < 3; k++) {
    let n = 0; const t = performance.now();
    for (let i = 0; i < 2_000_000; i++) if (matchesFilter(f, r)) n++;
    if (k === 2) console.log(text, ((performance.now() - t) / 2e6 * 1e6).toFixed(1), 'ns/eval');
    }
  }
});
