/**
 * Mail work done after the answer is written, so that neither an answer nor
 * its timing depends on what the work finds (which accounts have an
 * address) or on the mail server. Bounded: at most `maxPending` jobs at
 * once. A job's failure goes to `onError`, never to the requester.
 */
export interface MailJobs {
  /** Whether another job may start now. */
  readonly hasRoom: boolean;
  /** Runs `work` on a later turn of the event loop (not even a lookup before the answer); check `hasRoom` first. */
  start(work: () => Promise<void>): void;
  /** Waits for the jobs in progress, and those they start, at most `timeoutMs` (at shutdown, before the store closes). */
  drain(timeoutMs?: number): Promise<void>;
}

export function createMailJobs(opts: { readonly maxPending: number; readonly onError: (err: unknown) => void }): MailJobs {
  const pending = new Set<Promise<void>>();
  return {
    get hasRoom() {
      return pending.size < opts.maxPending;
    },
    start(work) {
      const job: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(work)
        .catch(opts.onError)
        .finally(() => pending.delete(job));
      pending.add(job);
    },
    async drain(timeoutMs = 60_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      while (pending.size > 0) {
        const settled = await Promise.race([Promise.allSettled([...pending]).then(() => true), deadline]);
        if (!settled) break;
      }
      clearTimeout(timer);
    },
  };
}
