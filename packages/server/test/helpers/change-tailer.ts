import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeRow } from '../../src/core/records/record.js';
import type { Store } from '../../src/core/storage/store.js';

/**
 * Tails the change log exactly as the realtime change feed does (pages of
 * 100 after the last seq seen) while `writing()` says writers are busy, and
 * stops only after a read that began once they had finished found nothing
 * new. Counts its polls, and those that found changes while writes went on
 * (a tailer that never overlapped the writes would prove nothing).
 */
export async function tailChanges(store: Store, writing: () => boolean, onChange: (change: ChangeRow) => void): Promise<{ polls: number; pollsWhileWriting: number }> {
  let last = 0;
  let polls = 0;
  let pollsWhileWriting = 0;
  for (;;) {
    const stillWriting = writing();
    const batch = await store.changes.readChanges(last, 100);
    polls += 1;
    if (stillWriting && batch.length > 0) pollsWhileWriting += 1;
    for (const c of batch) {
      onChange(c);
      last = Math.max(last, c.seq);
    }
    if (!stillWriting && batch.length === 0) return { polls, pollsWhileWriting };
    if (batch.length < 100) await sleep(Math.random() * 2);
  }
}
