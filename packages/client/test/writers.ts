/**
 * Writers for the end-to-end tests: each creates its share of records (with
 * client ids, so a retried create that had committed is a 409, not a
 * duplicate), updates and deletes some of its own, and sends some batches,
 * straight to the server (not through the fault proxy). Network failures
 * (a server being killed) are retried.
 */
import { api } from './e2e-helpers.js';

export interface Writers {
  readonly acked: () => number;
  readonly failures: string[];
  readonly done: Promise<void>;
  stop(): void;
}

export function startWriters(opts: { url: () => string; token: string; collection: string; writers: number; createsEach: number; pauseMs?: number }): Writers {
  let acked = 0;
  let stopped = false;
  const failures: string[] = [];
  const base = `/api/collections/${opts.collection}/records`;

  /** Sends until answered; `ok` lists the statuses that mean done (a retry may find its first try committed). */
  async function send(method: string, path: string, body: unknown, ok: number[]): Promise<void> {
    for (let attempt = 0; !stopped; attempt++) {
      let status: number;
      let answer: unknown;
      try {
        const res = await api(opts.url(), method, path, { token: opts.token, ...(body === undefined ? {} : { body }), timeoutMs: 5_000 });
        status = res.status;
        answer = res.body;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (status === 503 && attempt < 100) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (ok.includes(status) || (attempt > 0 && (status === 409 || status === 404))) {
        acked += 1;
        return;
      }
      failures.push(`${method} ${path}: ${status} ${JSON.stringify(answer)}`);
      return;
    }
  }

  async function writer(w: number): Promise<void> {
    let seed = w * 7919 + 1;
    const rnd = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
    const live: string[] = [];
    for (let i = 0; i < opts.createsEach && !stopped; i++) {
      const id = `w${w}-${i}`;
      if (i % 10 === 9 && live.length > 0) {
        // A transaction: a create and an update together.
        const other = live[rnd(live.length)]!;
        await send('POST', '/api/batch', { operations: [{ op: 'create', collection: opts.collection, record: { id, title: id, n: rnd(1000), done: rnd(3) === 0 } }, { op: 'update', collection: opts.collection, id: other, patch: { n: rnd(1000) } }] }, [200]);
      } else {
        await send('POST', base, { id, title: id, n: rnd(1000), done: rnd(3) === 0 }, [201]);
      }
      live.push(id);
      if (i % 2 === 1) await send('PATCH', `${base}/${live[rnd(live.length)]!}`, rnd(2) === 0 ? { done: rnd(2) === 0 } : { n: rnd(1000) }, [200]);
      if (i % 4 === 3) {
        const victim = live.splice(rnd(live.length), 1)[0]!;
        await send('DELETE', `${base}/${victim}`, undefined, [204]);
      }
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  }

  const done = Promise.all(Array.from({ length: opts.writers }, (_, w) => writer(w))).then(() => undefined);
  return {
    acked: () => acked,
    failures,
    done,
    stop() {
      stopped = true;
    },
  };
}
