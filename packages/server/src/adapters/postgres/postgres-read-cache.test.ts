import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../core/records/record.js';
import { PostgresReadCache, postgresListKey } from './postgres-read-cache.js';
import type { Run } from './postgres-store.js';

/**
 * The order of checks, which a real database makes a matter of timing: here
 * each check statement waits until the test answers it. (The behaviour
 * against PostgreSQL itself is in test/contract/postgres-read-cache.test.ts.)
 */
function scriptedDatabase() {
  const checks: { readonly afterSeq: number; answer: (last: number, changed?: { collection: string; record_id: string }[]) => void }[] = [];
  const run = ((_name: string | undefined, _text: string, values: unknown[]) => new Promise((resolve) => {
    checks.push({
      afterSeq: values[0] as number,
      answer: (last, changed = []) => resolve({
        rows: changed.length === 0
          ? [{ last: String(last), outside: '0', collection: null, record_id: null }]
          : changed.map((c) => ({ last: String(last), outside: '0', ...c })),
      } as unknown as pg.QueryResult),
    });
  })) as Run;
  return { run, checks };
}

const stored = (n: number): StoredRecord => ({ id: 'r1', owner: null, version: n, createdAt: 'x', updatedAt: 'x', dataJson: `{"n":${n}}` });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PostgresReadCache', () => {
  it('a read never relies on a check that was already running when it arrived', async () => {
    const { run, checks } = scriptedDatabase();
    const cache = new PostgresReadCache(run, 1 << 20);
    let version = 1;
    const read = () => cache.record('tasks', 'r1', () => Promise.resolve(stored(version)));

    const warm = read();
    await tick();
    checks[0]!.answer(10);
    expect((await warm)?.version).toBe(1);

    // A check starts; a write commits elsewhere (seq 11); then a read arrives.
    const early = read();
    await tick();
    expect(checks).toHaveLength(2);
    version = 2;
    let lateDone = false;
    const late = read().then((r) => ((lateDone = true), r));
    const alsoLate = read();
    await tick();
    expect(checks).toHaveLength(2); // queued behind the running check, not joined to it
    checks[1]!.answer(10); // that check's snapshot predates the commit
    expect((await early)?.version).toBe(1);
    await tick();
    expect(lateDone).toBe(false);
    expect(checks).toHaveLength(3); // one more check, shared by both late reads
    expect(checks[2]!.afterSeq).toBe(10);
    checks[2]!.answer(11, [{ collection: 'tasks', record_id: 'r1' }]);
    expect((await late)?.version).toBe(2);
    expect((await alsoLate)?.version).toBe(2);
  });

  it('an answer loaded while a later check moved the cache on is not kept', async () => {
    const { run, checks } = scriptedDatabase();
    const cache = new PostgresReadCache(run, 1 << 20);
    let loads = 0;
    let release: (() => void) | undefined;
    const slowLoad = () => new Promise<StoredRecord>((resolve) => {
      loads += 1;
      release = () => resolve(stored(1));
    });
    const first = cache.record('tasks', 'r1', slowLoad);
    await tick();
    checks[0]!.answer(5);
    await tick();
    // While the load is out, another read's check sees r1 change.
    const other = cache.record('tasks', 'other', () => Promise.resolve(null));
    await tick();
    checks[1]!.answer(6, [{ collection: 'tasks', record_id: 'r1' }]);
    await other;
    release!();
    expect((await first)?.version).toBe(1);
    const again = cache.record('tasks', 'r1', () => Promise.resolve(stored(2)));
    await tick();
    checks[2]!.answer(6);
    expect((await again)?.version).toBe(2);
    expect(loads).toBe(1);
  });

  it('too many changes, a counter that went back, or a log pruned past the cache: everything goes', async () => {
    for (const [last, changed] of [[700, 1], [3, 0], [8, 1]] as const) {
      const { run, checks } = scriptedDatabase();
      const cache = new PostgresReadCache(run, 1 << 20);
      const warm = cache.record('tasks', 'r1', () => Promise.resolve(stored(1)));
      await tick();
      checks[0]!.answer(5);
      await warm;
      const next = cache.record('tasks', 'r1', () => Promise.resolve(stored(2)));
      await tick();
      // Changes of other records only, but fewer than the counter moved by (or the counter went back).
      checks[1]!.answer(last, Array.from({ length: changed }, (_, i) => ({ collection: 'tasks', record_id: `x${i}` })));
      expect((await next)?.version).toBe(2);
    }
  });

  it('list keys tell arrays apart and skip what JSON cannot write', () => {
    expect(postgresListKey('q', [['a,b']])).not.toBe(postgresListKey('q', [['a', 'b']]));
    expect(postgresListKey('q', [1n])).toBeUndefined();
  });
});
