import type { Mailer } from './mailer.js';
import type { MailTemplate } from './templates.js';

/** Mail jobs at once, by default; beyond it requests that would start one get 503. */
export const MAX_MAIL_JOBS = 1000;
/** Accounts one address may hold that one request mails (emails are not unique). */
export const MAX_ACCOUNTS_PER_EMAIL = 10;

/** What a service that mails single-use links (password reset, email verification) is configured with. */
export interface MailedLinkOptions {
  /** null: this server cannot send mail (production without SMTP_URL), so it offers nothing that needs it. */
  readonly mailer: Mailer | null;
  readonly template: MailTemplate;
  readonly appName: string;
  /** No trailing slash; links are `<publicUrl>/<page>#token=<token>`. */
  readonly publicUrl: string;
  readonly ttlSeconds: number;
  /** A mail that could not be prepared or sent (the request was answered long before). */
  readonly onError: (err: unknown) => void;
  /** Mails being prepared or sent at once (default MAX_MAIL_JOBS). */
  readonly maxPending?: number;
}

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
