/**
 * Helpers for the client's tests: a real Sigil (in-process on a real port,
 * or a server process), a collection to work on, and clients whose fetch is
 * counted (instrumentation around the real fetch, not a stand-in for the
 * server).
 */
import WebSocket from 'ws';
import { createClient, type ClientOptions, type FetchLike, type SigilClient } from '../src/index.js';
import { createAdmin, startTestSigilOn, type Account, type TestSigil } from '../../server/test/helpers/test-sigil.js';
import type { Dialect } from '../../server/src/core/storage/store.js';

export const PASSWORD = 'correct horse battery';

export const TASK_SCHEMA = {
  type: 'object',
  required: ['title'],
  properties: {
    title: { type: 'string' },
    done: { type: 'boolean' },
    n: { type: 'integer' },
    priority: {},
    tags: { type: 'array', items: { type: 'string' } },
  },
} as const;

export interface Fixture {
  readonly t: TestSigil;
  readonly url: string;
  readonly admin: Account;
  close(): Promise<void>;
}

/** A Sigil on a fresh database of `dialect`, listening, with an admin and the given collections (rules default). */
export async function startFixture(dialect: Dialect, opts: { env?: Record<string, string>; collections?: Record<string, Record<string, unknown>> } = {}): Promise<Fixture> {
  const t = await startTestSigilOn(dialect, { listen: true, ...(opts.env ? { env: opts.env } : {}) });
  const admin = await createAdmin(t);
  for (const [name, rules] of Object.entries(opts.collections ?? { tasks: {} })) {
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: TASK_SCHEMA, rules } });
    if (res.statusCode !== 201) throw new Error(`create collection ${name}: ${res.statusCode} ${res.body}`);
  }
  return { t, url: t.url!, admin, close: () => t.close() };
}

/** Every request the client sent, by method and path. */
export interface CountingFetch {
  readonly fetch: FetchLike;
  readonly calls: string[];
  count(method: string, path: string): number;
}

export function countingFetch(): CountingFetch {
  const calls: string[] = [];
  return {
    calls,
    fetch: (input, init) => {
      calls.push(`${init.method} ${new URL(input).pathname}`);
      return fetch(input, init);
    },
    count: (method, path) => calls.filter((c) => c === `${method} ${path}`).length,
  };
}

/** A client for Node.js: `ws` as the WebSocket. */
export function nodeClient(url: string, options: Partial<ClientOptions> = {}): SigilClient {
  return createClient({ url, webSocket: WebSocket, ...options });
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `: ${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let counter = 0;
export function uniqueUser(prefix = 'u'): string {
  return `${prefix}${process.pid}x${++counter}`;
}
