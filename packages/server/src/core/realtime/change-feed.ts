import type { ChangeRow } from '../records/record.js';
import type { ChangeRepository } from '../storage/store.js';

export interface ChangeFeedOptions {
  readonly changes: ChangeRepository;
  /** Receives every committed change once, in seq order. */
  readonly onChange: (change: ChangeRow) => Promise<void> | void;
  /** Receives each batch read, before its changes go to `onChange` one by one (work shared by a batch, such as expansions). */
  readonly onBatch?: (changes: readonly ChangeRow[]) => Promise<void>;
  readonly onError: (err: unknown) => void;
  /** A safety net for missed notifications (another process's commits on SQLite, a dropped LISTEN connection). */
  readonly pollIntervalMs: number;
  readonly batchSize?: number;
  /**
   * Whether anyone needs the changes now. When nobody does, the feed moves to
   * the end of the log without reading it (and reports the new position to
   * `onSkip`): a server taking writes with no realtime client spends nothing
   * on reading them back.
   */
  readonly wanted?: () => boolean;
  readonly onSkip?: (position: number) => void;
}

export interface ChangeFeed {
  /** Starts tailing after the current end of the log. */
  start(): Promise<void>;
  /**
   * Something was committed: read the log now (coalesced). `committed`, the
   * last seq of a commit this process made: while nobody wants changes the
   * feed just moves there, without a query (every seq up to a committed one
   * is committed: seqs are handed out in commit order, without gaps).
   */
  poke(committed?: number): void;
  /** The seq of the last change emitted. */
  readonly position: number;
  stop(): void;
}

/**
 * Tails the change log and emits each change once, in order. Tailing
 * `seq > position` is lossless because the storage assigns seqs in commit
 * order without gaps (see ChangeRepository.appendChange), so a change with a
 * higher seq can never become visible before a lower one.
 */
export function createChangeFeed(opts: ChangeFeedOptions): ChangeFeed {
  const batchSize = opts.batchSize ?? 500;
  let position = 0;
  let reading = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function drain(): Promise<void> {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        for (;;) {
          if (opts.wanted !== undefined && !opts.wanted()) {
            const latest = await opts.changes.latestSeq();
            // Asked again after the await: a subscription that arrived meanwhile gets every change from here.
            if (!opts.wanted()) {
              if (!stopped && latest > position) {
                position = latest;
                opts.onSkip?.(latest);
              }
              break;
            }
          }
          const batch = await opts.changes.readChanges(position, batchSize);
          if (opts.onBatch !== undefined && batch.length > 0) await opts.onBatch(batch);
          for (const change of batch) {
            if (stopped) return;
            // Defensive: never emit out of order or twice.
            if (change.seq <= position) continue;
            position = change.seq;
            await opts.onChange(change);
          }
          if (batch.length < batchSize) break;
        }
      } while (again && !stopped);
    } catch (err) {
      opts.onError(err);
    } finally {
      reading = false;
    }
  }

  return {
    async start() {
      position = await opts.changes.latestSeq();
      timer = setInterval(() => void drain(), opts.pollIntervalMs);
      timer.unref();
    },
    poke(committed) {
      if (stopped) return;
      if (committed !== undefined && !reading && opts.wanted !== undefined && !opts.wanted()) {
        if (committed > position) {
          position = committed;
          opts.onSkip?.(committed);
        }
        return;
      }
      void drain();
    },
    get position() {
      return position;
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
