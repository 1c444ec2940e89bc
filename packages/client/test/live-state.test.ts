/**
 * The live-query reducer (LiveWindow) on its own: order, upserts and
 * removals, a limited window that drops and asks for a refill, and a
 * property test that applies random transactions and compares every result
 * with the same query computed from scratch over a model of the table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveWindow } from '../src/live-state.js';
import type { ChangeEvent } from '../src/realtime.js';
import { recordComparator } from '../src/sort.js';

interface Row {
  readonly id: string;
  readonly n?: number | string | boolean | null;
  readonly done?: boolean;
}

let seq = 0;
function change(op: ChangeEvent['op'], record: Row): ChangeEvent<Row> {
  return { seq: ++seq, op, collection: 't', record };
}
const ids = (w: LiveWindow<Row>): string[] => w.records.map((r) => r.id);

describe('LiveWindow', () => {
  it('keeps records in list order, upserting creates and updates and removing leaves and deletes', () => {
    const w = new LiveWindow<Row>(recordComparator('n'), null);
    w.reset([{ id: 'a', n: 1 }, { id: 'b', n: 3 }], false, 10);
    seq = 10;
    expect(w.apply([change('create', { id: 'c', n: 2 })])).toBe(false);
    expect(ids(w)).toEqual(['a', 'c', 'b']);
    w.apply([change('update', { id: 'a', n: 9 })]);
    expect(ids(w)).toEqual(['c', 'b', 'a']);
    w.apply([change('leave', { id: 'c', n: 2 })]);
    w.apply([change('delete', { id: 'b', n: 3 })]);
    expect(ids(w)).toEqual(['a']);
    // An update of a record the window did not hold (it started matching) is an upsert.
    w.apply([change('update', { id: 'z', n: 0 })]);
    expect(ids(w)).toEqual(['z', 'a']);
    expect(w.seq).toBe(seq);
  });

  it('orders mixed types as the server does: missing = null < false < true < numbers < strings, ties by id', () => {
    const w = new LiveWindow<Row>(recordComparator('n'), null);
    w.reset([], false, 0);
    seq = 0;
    w.apply([
      change('create', { id: 'e', n: 'b' }),
      change('create', { id: 'd', n: 10 }),
      change('create', { id: 'c', n: true }),
      change('create', { id: 'b', n: false }),
      change('create', { id: 'a2', n: null }),
      change('create', { id: 'a1' }),
      change('create', { id: 'f', n: 'B' }),
      change('create', { id: 'g', n: 2 }),
    ]);
    expect(ids(w)).toEqual(['a1', 'a2', 'b', 'c', 'g', 'd', 'f', 'e']);
    const desc = new LiveWindow<Row>(recordComparator('-n'), null);
    desc.reset(w.records, false, w.seq);
    desc.reset([...w.records].sort(recordComparator('-n')), false, w.seq);
    expect(ids(desc)).toEqual(['e', 'f', 'd', 'g', 'c', 'b', 'a2', 'a1']);
  });

  it('skips changes at or below the seq it reflects (after a refill)', () => {
    const w = new LiveWindow<Row>(recordComparator('n'), null);
    w.reset([{ id: 'a', n: 1 }], false, 100);
    w.apply([{ seq: 99, op: 'delete', collection: 't', record: { id: 'a', n: 1 } }, { seq: 100, op: 'create', collection: 't', record: { id: 'x', n: 0 } }]);
    expect(ids(w)).toEqual(['a']);
    w.apply([{ seq: 101, op: 'delete', collection: 't', record: { id: 'a', n: 1 } }]);
    expect(ids(w)).toEqual([]);
  });

  it('a limited window: a record after its last one stays out, one before it pushes the last out, a loss asks for a refill', () => {
    const w = new LiveWindow<Row>(recordComparator('n'), 3);
    w.reset([{ id: 'a', n: 1 }, { id: 'b', n: 2 }, { id: 'c', n: 3 }], true, 0);
    seq = 0;
    expect(w.apply([change('create', { id: 'x', n: 10 })])).toBe(false); // beyond the window: unknown neighbours, not shown
    expect(ids(w)).toEqual(['a', 'b', 'c']);
    expect(w.apply([change('create', { id: 'y', n: 0 })])).toBe(false);
    expect(ids(w)).toEqual(['y', 'a', 'b']);
    expect(w.apply([change('update', { id: 'a', n: 50 })])).toBe(true); // moved out: the next record is on the server
    expect(ids(w)).toEqual(['y', 'b']);
    // Without more on the server the window holds everything, and a loss needs nothing.
    const all = new LiveWindow<Row>(recordComparator('n'), 3);
    all.reset([{ id: 'a', n: 1 }, { id: 'b', n: 2 }], false, 0);
    expect(all.apply([change('create', { id: 'c', n: 9 })])).toBe(false);
    expect(ids(all)).toEqual(['a', 'b', 'c']);
    expect(all.apply([change('create', { id: 'd', n: 10 })])).toBe(false);
    expect(ids(all)).toEqual(['a', 'b', 'c']);
    expect(all.hasMore).toBe(true);
    expect(all.apply([change('delete', { id: 'a', n: 1 })])).toBe(true);
  });

  it('a transaction is applied whole: a record moved out and another moved in leaves no refill when the window ends full', () => {
    const w = new LiveWindow<Row>(recordComparator('n'), 2);
    w.reset([{ id: 'a', n: 1 }, { id: 'b', n: 2 }], true, 0);
    seq = 0;
    expect(w.apply([change('leave', { id: 'a', n: 1, done: true }), change('update', { id: 'c', n: 0 })])).toBe(false);
    expect(ids(w)).toEqual(['c', 'b']);
  });

  it('matches the query computed from scratch after every transaction (random tables, changes, limits)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('upsert' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), n: fc.option(fc.integer({ min: 0, max: 5 })), done: fc.boolean() }),
      fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h') }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { maxLength: 30 }), fc.option(fc.integer({ min: 1, max: 4 })), fc.boolean(), (txs, limit, desc) => {
        const sort = desc ? '-n' : 'n';
        // An independent model: the table, and the query as a list would answer it.
        const table = new Map<string, Row>();
        const query = (): Row[] => {
          const rank = (r: Row): number => (typeof r.n === 'number' ? r.n : -1);
          const rows = [...table.values()].filter((r) => r.done === false).sort((x, y) => rank(x) - rank(y) || (x.id < y.id ? -1 : 1));
          if (desc) rows.reverse();
          return limit === null ? rows : rows.slice(0, limit);
        };
        const full = (): boolean => limit !== null && [...table.values()].filter((r) => r.done === false).length > limit;
        const w = new LiveWindow<Row>(recordComparator(sort), limit);
        w.reset(query(), full(), 0);
        let s = 0;
        for (const tx of txs) {
          const events: ChangeEvent<Row>[] = [];
          for (const o of tx) {
            const before = table.get(o.id);
            const matched = before?.done === false;
            if (o.kind === 'delete') {
              if (!before) continue;
              table.delete(o.id);
              if (matched) events.push({ seq: ++s, op: 'delete', collection: 't', record: before });
            } else {
              const row: Row = { id: o.id, n: o.n, done: o.done };
              table.set(o.id, row);
              // What the server sends for a filter {done: false}.
              if (!o.done) events.push({ seq: ++s, op: before ? 'update' : 'create', collection: 't', record: row });
              else if (matched) events.push({ seq: ++s, op: 'leave', collection: 't', record: row });
            }
          }
          if (events.length === 0) continue;
          if (w.apply(events)) w.reset(query(), full(), s); // the refill: a fresh list
          expect(ids(w)).toEqual(query().map((r) => r.id));
        }
      }),
      { numRuns: 300 },
    );
  });
});
