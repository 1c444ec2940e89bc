import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.js';
import { createWorkGate } from './work-gate.js';

function deferred(): { promise: Promise<void>; resolve(): void; reject(err: Error): void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('createWorkGate', () => {
  it('runs at most maxConcurrent tasks at once, the rest in arrival order', async () => {
    const gate = createWorkGate({ maxConcurrent: 2, maxQueued: 10 });
    const tasks = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    const done = tasks.map((task, i) =>
      gate.run(async () => {
        started.push(i);
        await task.promise;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(gate.running).toBe(2);
    expect(gate.queued).toBe(3);
    tasks[1]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    for (const task of tasks) task.resolve();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4]);
    expect(gate.running).toBe(0);
  });

  it('refuses work beyond the queue at once with unavailable and a Retry-After', async () => {
    const gate = createWorkGate({ maxConcurrent: 1, maxQueued: 1 });
    const block = deferred();
    const first = gate.run(() => block.promise);
    const second = gate.run(() => Promise.resolve());
    const third = gate.run(() => Promise.resolve());
    const err: unknown = await third.catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('unavailable');
    expect(isAppError(err) && err.retryAfter).toBeGreaterThanOrEqual(1);
    block.resolve();
    await expect(first).resolves.toBeUndefined();
    await expect(second).resolves.toBeUndefined();
  });

  it('a failing task frees its slot', async () => {
    const gate = createWorkGate({ maxConcurrent: 1, maxQueued: 0 });
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(() => Promise.resolve(7))).resolves.toBe(7);
  });

  it('refuses nonsensical options', () => {
    expect(() => createWorkGate({ maxConcurrent: 0, maxQueued: 1 })).toThrow();
    expect(() => createWorkGate({ maxConcurrent: 1, maxQueued: -1 })).toThrow();
  });
});
