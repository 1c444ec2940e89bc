import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Figures {
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  readonly rssGrowthMiB: number;
  /** Event-loop delay while the attack ran, in ms. */
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
}

const MIB = 1024 * 1024;
const round = (n: number): number => Math.round(n * 10) / 10;

/**
 * Measures the process the server runs in (these suites start it in the test
 * process, so RSS and event-loop delay are the server's, plus the attacking
 * client's, which only makes the bounds stricter). Call `stop` after the
 * attack; it prints the figures with `label` and returns them.
 */
export function measure(label: string): { stop(extra?: Record<string, number | string>): Figures } {
  globalThis.gc?.();
  const rssBefore = process.memoryUsage.rss();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  return {
    stop(extra = {}) {
      delay.disable();
      const rssAfter = process.memoryUsage.rss();
      const figures: Figures = {
        rssBeforeMiB: round(rssBefore / MIB),
        rssAfterMiB: round(rssAfter / MIB),
        rssGrowthMiB: round((rssAfter - rssBefore) / MIB),
        eventLoopP99Ms: round(delay.percentile(99) / 1e6),
        eventLoopMaxMs: round(delay.max / 1e6),
      };
      console.log(`[abuse] ${label}: ${JSON.stringify({ ...figures, ...extra })}`);
      return figures;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Milliseconds `fn` takes. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}
