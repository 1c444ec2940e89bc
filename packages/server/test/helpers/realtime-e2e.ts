/**
 * Helpers for end-to-end realtime tests against built server processes
 * (`server-process.ts`): the environment a production server needs, a few
 * HTTP calls, a writer loop that remembers every acknowledged write, and a
 * subscriber that reconnects and resumes with `since` like a real client.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSocket, wsUrl, type Message, type TestSocket } from './ws-client.js';

export const E2E_ADMIN = { username: 'e2e_admin', password: 'e2e admin password 1' } as const;

/** The environment of a production server process; `admin` bootstraps E2E_ADMIN. */
export function serverEnv(opts: { dataDir: string; databaseUrl: string; jwtSecret: string; admin?: boolean }): Record<string, string> {
  return {
    NODE_ENV: 'production',
    JWT_SECRET: opts.jwtSecret,
    SIGIL_DATA_DIR: opts.dataDir,
    DATABASE_URL: opts.databaseUrl,
    AUTH_RATE_LIMIT_PER_ADDRESS: '100000/1m',
    AUTH_RATE_LIMIT_PER_USERNAME: '100000/1m',
    LOG_LEVEL: 'warn',
    ...(opts.admin ? { SIGIL_ADMIN_USERNAME: E2E_ADMIN.username, SIGIL_ADMIN_PASSWORD: E2E_ADMIN.password } : {}),
  };
}

/** A fresh JWT secret with enough entropy for production mode. */
export function newJwtSecret(): string {
  return randomBytes(36).toString('base64');
}

export interface ApiResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One JSON request; rejects on network errors and after `timeoutMs`. */
export async function api(baseUrl: string, method: string, path: string, opts: { token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<ApiResponse> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

export function expectStatus(res: ApiResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

export async function loginAdmin(baseUrl: string): Promise<string> {
  const res = await api(baseUrl, 'POST', '/api/auth/login', { body: E2E_ADMIN });
  expectStatus(res, 200, 'admin login');
  return res.body['accessToken'] as string;
}

export async function registerUser(baseUrl: string, username: string): Promise<{ id: string; accessToken: string }> {
  const res = await api(baseUrl, 'POST', '/api/auth/register', { body: { username, password: 'e2e user password 1' } });
  expectStatus(res, 201, `register ${username}`);
  return { id: (res.body['user'] as { id: string }).id, accessToken: res.body['accessToken'] as string };
}

export const RECORD_SCHEMA = {
  type: 'object',
  required: ['title'],
  properties: { title: { type: 'string' }, n: { type: 'integer' } },
} as const;

export async function createCollection(baseUrl: string, adminToken: string, name: string, rules: Record<string, string> = {}): Promise<void> {
  const res = await api(baseUrl, 'POST', '/api/collections', { token: adminToken, body: { name, schema: RECORD_SCHEMA, rules } });
  expectStatus(res, 201, `create collection ${name}`);
}

/** Creates a record and resolves with its id. */
export async function createRecord(baseUrl: string, collection: string, body: Record<string, unknown>, token?: string): Promise<string> {
  const res = await api(baseUrl, 'POST', `/api/collections/${collection}/records`, { body, ...(token ? { token } : {}) });
  expectStatus(res, 201, `create a record in ${collection}`);
  return res.body['id'] as string;
}

/** Polls `check` until it is true; fails after `timeoutMs` with `what` and `detail()`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail() ? `: ${detail()}` : ''}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------
// Writer.
// ---------------------------------------------------------------------------

export interface Writer {
  /** Ids of acknowledged (201) writes, per collection, in acknowledgement order. */
  readonly acked: Map<string, string[]>;
  readonly ackedCount: number;
  /** Attempts that failed (network error, 502 or 503), expected while a server is down. */
  readonly failed: number;
  /** What the last failed attempt got. */
  readonly lastFailure: string;
  /** Answers that must never happen (4xx, 500): the writer stops on the first. */
  readonly problems: string[];
  stop(): Promise<void>;
}

/**
 * `concurrency` loops POSTing records to `collections` in turn through
 * whatever server `url()` names at the time. A write counts only when its 201
 * arrived; a failed one (the server died, the database is down) is not
 * retried as such: the loop moves on to a new record after a short pause.
 */
export function startWriter(opts: { url: () => string; token: string; collections: readonly string[]; concurrency?: number }): Writer {
  const acked = new Map<string, string[]>(opts.collections.map((c) => [c, []]));
  const problems: string[] = [];
  let ackedCount = 0;
  let failed = 0;
  let lastFailure = '';
  let next = 0;
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped && problems.length === 0) {
      const n = next++;
      const collection = opts.collections[n % opts.collections.length]!;
      try {
        const res = await api(opts.url(), 'POST', `/api/collections/${collection}/records`, { token: opts.token, body: { title: `w${n}`, n }, timeoutMs: 5_000 });
        if (res.status === 201) {
          acked.get(collection)!.push(res.body['id'] as string);
          ackedCount += 1;
        } else if (res.status === 503 || res.status === 502) {
          // 503: the instance is shutting down or the database is away; 502: a proxy lost the instance mid-request.
          failed += 1;
          lastFailure = `503 ${JSON.stringify(res.body)}`;
          await sleep(20);
        } else {
          problems.push(`write ${n} to ${collection} answered ${res.status} ${JSON.stringify(res.body)}`);
        }
      } catch (error) {
        failed += 1;
        lastFailure = String(error);
        await sleep(20);
      }
    }
  };
  const loops = Array.from({ length: opts.concurrency ?? 1 }, loop);
  return {
    acked,
    get ackedCount() {
      return ackedCount;
    },
    get failed() {
      return failed;
    },
    get lastFailure() {
      return lastFailure;
    },
    problems,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

// ---------------------------------------------------------------------------
// Resuming subscriber.
// ---------------------------------------------------------------------------

export interface ReceivedChange {
  readonly seq: number;
  readonly op: string;
  readonly id: string;
  readonly collection: string;
}

/**
 * A realtime client that behaves as SPEC §5 asks a client to: it remembers
 * the last seq each subscription saw and, when its connection drops,
 * reconnects (to whatever server `url()` names then), re-authenticates and
 * resubscribes with `since: lastSeq`. Every `change` is recorded; a
 * `resync` or `error` is recorded as a problem.
 */
export class ResumingSubscriber {
  /** Changes per subscription id, in arrival order. */
  readonly received = new Map<string, ReceivedChange[]>();
  readonly lastSeq = new Map<string, number>();
  readonly problems: string[] = [];
  /** Successful reconnections. */
  reconnects = 0;
  private socket: TestSocket | undefined;
  private closing = false;
  private reconnecting: Promise<void> | undefined;

  constructor(private readonly opts: {
    readonly url: () => string;
    readonly token?: string;
    readonly subscriptions: readonly { readonly id: string; readonly collection: string }[];
    /** How long to keep trying to reconnect. */
    readonly reconnectTimeoutMs?: number;
  }) {
    for (const sub of opts.subscriptions) this.received.set(sub.id, []);
  }

  /** Connects and subscribes (live from now, or with `since` where a seq is known). */
  async connect(): Promise<void> {
    const socket = await openSocket(wsUrl(this.opts.url()));
    this.socket = socket;
    socket.ws.on('message', (data: Buffer) => this.onMessage(JSON.parse(data.toString()) as Message));
    void socket.closed.then(() => {
      if (!this.closing && this.socket === socket) this.reconnecting ??= this.reconnect().finally(() => (this.reconnecting = undefined));
    });
    if (this.opts.token !== undefined) {
      socket.send({ type: 'auth', token: this.opts.token });
      await socket.next((m) => m.type === 'authed');
    }
    for (const sub of this.opts.subscriptions) {
      const since = this.lastSeq.get(sub.id);
      socket.send({ type: 'subscribe', id: sub.id, collection: sub.collection, ...(since === undefined ? {} : { since }) });
      const reply = await socket.next((m) => ['subscribed', 'resync', 'error'].includes(m.type) && m['id'] === sub.id);
      if (reply.type !== 'subscribed') throw new Error(`subscribe ${sub.id}: ${JSON.stringify(reply)}`);
      // A fresh subscription starts at the seq it was given; a resumed one keeps its own position.
      if (since === undefined) this.lastSeq.set(sub.id, reply['seq'] as number);
    }
  }

  /** Whether the subscriber has a live, fully subscribed connection. */
  get connected(): boolean {
    return this.reconnecting === undefined && this.socket !== undefined && this.socket.ws.readyState === this.socket.ws.OPEN;
  }

  private async reconnect(): Promise<void> {
    const deadline = Date.now() + (this.opts.reconnectTimeoutMs ?? 30_000);
    let lastError: unknown;
    while (!this.closing) {
      if (Date.now() > deadline) {
        this.problems.push(`could not reconnect: ${String(lastError)}`);
        return;
      }
      try {
        await this.connect();
        this.reconnects += 1;
        return;
      } catch (error) {
        lastError = error;
        this.socket?.ws.terminate();
        await sleep(50);
      }
    }
  }

  private onMessage(message: Message): void {
    if (message.type === 'change') {
      const sub = message['sub'] as string;
      const record = message['record'] as { id: string };
      const seq = message['seq'] as number;
      this.received.get(sub)?.push({ seq, op: message['op'] as string, id: record.id, collection: message['collection'] as string });
      this.lastSeq.set(sub, Math.max(seq, this.lastSeq.get(sub) ?? 0));
    } else if (message.type === 'resync' || message.type === 'error' || message.type === 'auth_expired') {
      this.problems.push(JSON.stringify(message));
    }
  }

  /** Whether subscription `sub` has received a change of record `id`. */
  has(sub: string, id: string): boolean {
    return this.received.get(sub)?.some((c) => c.id === id) ?? false;
  }

  count(sub: string): number {
    return this.received.get(sub)?.length ?? 0;
  }

  close(): void {
    this.closing = true;
    this.socket?.close();
  }
}

/**
 * What went wrong with one subscription's stream, given the ids whose
 * `create` it must have received: seqs not strictly increasing, acknowledged
 * writes missing or received more than once. Empty when all is well.
 */
export function deliveryProblems(received: readonly ReceivedChange[], mustHave: readonly string[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < received.length; i++) {
    if (received[i]!.seq <= received[i - 1]!.seq) problems.push(`seq ${received[i]!.seq} after ${received[i - 1]!.seq} (event ${i})`);
  }
  const creates = new Map<string, number>();
  for (const change of received) if (change.op === 'create') creates.set(change.id, (creates.get(change.id) ?? 0) + 1);
  const missing = mustHave.filter((id) => !creates.has(id));
  if (missing.length) problems.push(`${missing.length} acknowledged writes never arrived: ${missing.slice(0, 10).join(', ')}`);
  const twice = [...creates].filter(([, n]) => n > 1).map(([id]) => id);
  if (twice.length) problems.push(`${twice.length} records arrived more than once: ${twice.slice(0, 10).join(', ')}`);
  return problems;
}
