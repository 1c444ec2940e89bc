/** The small tools that keep replays from stalling the server: pauses, yields and a fair semaphore. */

/** How often a replay waiting for its client to read checks again. */
export const DRAIN_POLL_MS = 10;

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Lets I/O and timers run (a resolved promise would not: microtasks run before them). */
export const yieldToOthers = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A counting semaphore: at most `size` holders; the others wait in order. */
export function createSlots(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    take(): Promise<void> {
      if (free > 0) {
        free -= 1;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    give(): void {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    },
  };
}
