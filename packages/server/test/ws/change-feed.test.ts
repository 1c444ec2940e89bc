import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import type { ChangeRow } from '../../src/core/records/record.js';
import type { Store } from '../../src/core/storage/store.js';
import { createChangeFeed } from '../../src/core/realtime/change-feed.js';

const AT = '2025-01-01T00:00:00.000Z';

describe('change feed (on a real SQLite store)', () => {
  let store: Store;
  const append = (n: number) =>
    store.transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        const record = { id: `r${i}`, owner: null, version: 1, createdAt: AT, updatedAt: AT, data: {} };
        await tx.changes.appendChange({ collection: 'c', collectionId: 'c_c', recordId: record.id, op: 'create', record, previous: null, createdAt: AT, txEnd: i === n - 1 });
      }
    });

  beforeEach(async () => {
    store = await openSqliteStore({ filename: ':memory:' });
  });
  afterEach(async () => {
    await store.close();
  });

  it('emits every change once, in order, when someone wants them', async () => {
    const seen: number[] = [];
    const feed = createChangeFeed({ changes: store.changes, onChange: (c: ChangeRow) => void seen.push(c.seq), onError: (e) => { throw e; }, pollIntervalMs: 60_000, batchSize: 3, wanted: () => true });
    await feed.start();
    await append(7);
    feed.poke();
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]));
    feed.stop();
  });

  it('moves to the end of the log without reading it while nobody wants changes', async () => {
    const read = vi.spyOn(store.changes, 'readChanges');
    const skips: number[] = [];
    const feed = createChangeFeed({ changes: store.changes, onChange: () => { throw new Error('nothing should be emitted'); }, onError: (e) => { throw e; }, pollIntervalMs: 60_000, wanted: () => false, onSkip: (p) => skips.push(p) });
    await feed.start();
    await append(5);
    feed.poke();
    await vi.waitFor(() => expect(feed.position).toBe(5));
    expect(skips).toEqual([5]);
    expect(read).not.toHaveBeenCalled();
    feed.stop();
  });

  it('told of a local commit\'s seq while nobody wants changes, moves there without asking the database', async () => {
    const latest = vi.spyOn(store.changes, 'latestSeq');
    const read = vi.spyOn(store.changes, 'readChanges');
    const skips: number[] = [];
    const feed = createChangeFeed({ changes: store.changes, onChange: () => { throw new Error('nothing should be emitted'); }, onError: (e) => { throw e; }, pollIntervalMs: 60_000, wanted: () => false, onSkip: (p) => skips.push(p) });
    await feed.start();
    latest.mockClear();
    await append(3);
    feed.poke(3);
    feed.poke(2); // an older commit reported late moves nothing back
    expect(feed.position).toBe(3);
    expect(skips).toEqual([3]);
    expect(latest).not.toHaveBeenCalled();
    expect(read).not.toHaveBeenCalled();
    feed.stop();
  });

  it('told of a commit\'s seq while someone wants changes, reads them as usual', async () => {
    const seen: number[] = [];
    const feed = createChangeFeed({ changes: store.changes, onChange: (c: ChangeRow) => void seen.push(c.seq), onError: (e) => { throw e; }, pollIntervalMs: 60_000, wanted: () => true });
    await feed.start();
    await append(4);
    feed.poke(4);
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3, 4]));
    feed.stop();
  });

  it('reads the changes after all when someone starts wanting them while it looks up the end of the log', async () => {
    let wanted = false;
    const latestSeq = store.changes.latestSeq.bind(store.changes);
    // A subscription arrives while the feed awaits the end of the log.
    vi.spyOn(store.changes, 'latestSeq').mockImplementation(async () => {
      const latest = await latestSeq();
      wanted = true;
      return latest;
    });
    const seen: number[] = [];
    const feed = createChangeFeed({ changes: store.changes, onChange: (c: ChangeRow) => void seen.push(c.seq), onError: (e) => { throw e; }, pollIntervalMs: 60_000, wanted: () => wanted });
    await feed.start(); // position 0; start itself asks latestSeq, so want nothing again
    wanted = false;
    await append(4);
    feed.poke();
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3, 4]));
    feed.stop();
  });
});
