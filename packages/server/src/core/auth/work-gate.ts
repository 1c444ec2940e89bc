import { AppError } from '../errors.js';

export interface WorkGateOptions {
  /** Tasks running at once. */
  readonly maxConcurrent: number;
  /** Tasks waiting for a slot; one more is refused at once. */
  readonly maxQueued: number;
}

export interface WorkGate {
  /** Runs `task` when a slot is free; throws `unavailable` (with Retry-After) when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly running: number;
  readonly queued: number;
}

/** Seconds a refused caller is told to wait: the queue drains in well under that. */
const RETRY_AFTER_SECONDS = 1;

/**
 * A semaphore with a bounded FIFO queue, for expensive work such as argon2
 * (each hash takes ~19 MiB and tens of ms of a thread-pool thread). Bounding
 * it keeps a flood of password checks from taking every thread and all the
 * memory, and the bounded queue turns an overload into a quick 503 instead
 * of an ever longer wait for every caller.
 */
export function createWorkGate(opts: WorkGateOptions): WorkGate {
  const { maxConcurrent, maxQueued } = opts;
  if (!Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) throw new Error('maxConcurrent must be a positive whole number');
  if (!Number.isSafeInteger(maxQueued) || maxQueued < 0) throw new Error('maxQueued must be a whole number');
  let running = 0;
  const waiting: (() => void)[] = [];

  const release = (): void => {
    const next = waiting.shift();
    // The slot passes straight to the next in line, so `running` stays as it is.
    if (next) next();
    else running -= 1;
  };

  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running >= maxConcurrent) {
        if (waiting.length >= maxQueued) {
          throw new AppError('unavailable', 'The server is busy checking passwords; retry shortly.', { retryAfter: RETRY_AFTER_SECONDS });
        }
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        running += 1;
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
  };
}
