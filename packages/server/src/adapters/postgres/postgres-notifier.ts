import pg from 'pg';
import type { Notifier } from '../../core/storage/notifier.js';

const CHANNEL_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * LISTEN/NOTIFY on PostgreSQL: one dedicated connection listens; it is
 * re-opened with backoff when it drops, and listeners are told so they can
 * re-read what they may have missed.
 */
export function createPostgresNotifier(opts: { readonly url: string; readonly onError?: (err: unknown) => void }): Notifier {
  // Its own small pool, so signals never wait behind application queries.
  const pool = new pg.Pool({ connectionString: opts.url, max: 1 });
  pool.on('error', (err) => opts.onError?.(err));
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const reconnectHandlers = new Set<() => void>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let closed = false;
  let retryDelay = 100;

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: opts.url });
    next.on('notification', (message) => {
      for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    next.on('error', (err) => {
      opts.onError?.(err);
      reconnectLater(next);
    });
    next.on('end', () => reconnectLater(next));
    await next.connect();
    for (const channel of handlers.keys()) await next.query(`LISTEN ${channel}`);
    client = next;
    retryDelay = 100;
  }

  function reconnectLater(dead: pg.Client): void {
    if (closed || client !== dead) return;
    client = null;
    dead.removeAllListeners('end');
    const attempt = (): void => {
      if (closed) return;
      connect().then(
        () => {
          for (const handler of reconnectHandlers) handler();
        },
        (err: unknown) => {
          opts.onError?.(err);
          retryDelay = Math.min(retryDelay * 2, 5_000);
          setTimeout(attempt, retryDelay).unref();
        },
      );
    };
    setTimeout(attempt, retryDelay).unref();
  }

  return {
    async listen(channel, handler, onReconnect) {
      if (!CHANNEL_RE.test(channel)) throw new Error(`invalid channel name ${channel}`);
      let set = handlers.get(channel);
      const isNew = set === undefined;
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(handler);
      if (onReconnect) reconnectHandlers.add(onReconnect);
      if (client === null) {
        connecting ??= connect().finally(() => {
          connecting = null;
        });
        await connecting;
      } else if (isNew) {
        await client.query(`LISTEN ${channel}`);
      }
    },
    async notify(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      closed = true;
      const current = client;
      client = null;
      if (current) {
        current.removeAllListeners('end');
        await current.end().catch(() => undefined);
      }
      await pool.end().catch(() => undefined);
    },
  };
}
