import WebSocket, { type RawData } from 'ws';

export type Message = Record<string, unknown> & { type: string };

/** A test WebSocket client that records every message and can wait for one. */
export interface TestSocket {
  readonly ws: WebSocket;
  readonly messages: Message[];
  send(message: unknown): void;
  /** Resolves with the first message (received before or after the call, not yet taken) matching `predicate`. */
  next(predicate?: (m: Message) => boolean, timeoutMs?: number): Promise<Message>;
  /** Resolves once `count` messages matching `predicate` have arrived in total. */
  collect(predicate: (m: Message) => boolean, count: number, timeoutMs?: number): Promise<Message[]>;
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/api/realtime`;
}

export async function openSocket(url: string, opts: { headers?: Record<string, string> } = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, { headers: opts.headers ?? {} });
  const messages: Message[] = [];
  const taken = new Set<Message>();
  const waiters = new Set<() => void>();
  ws.on('message', (data: RawData) => {
    messages.push(JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8')) as Message);
    for (const wake of [...waiters]) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
  });

  function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(messages.slice(-5))}`));
      }, timeoutMs);
      const wake = (): void => void attempt();
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      waiters.add(wake);
      attempt();
    });
  }

  return {
    ws,
    messages,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next(predicate = () => true, timeoutMs = 5_000) {
      return waitFor(
        () => {
          const found = messages.find((m) => !taken.has(m) && predicate(m));
          if (found) taken.add(found);
          return found;
        },
        timeoutMs,
        'a message',
      );
    },
    collect(predicate, count, timeoutMs = 10_000) {
      return waitFor(
        () => {
          const found = messages.filter(predicate);
          return found.length >= count ? found : undefined;
        },
        timeoutMs,
        `${count} messages`,
      );
    },
    closed,
    close: () => ws.close(),
  };
}
