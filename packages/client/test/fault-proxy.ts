/**
 * A fault-injecting TCP proxy (node:net) for the client's end-to-end tests.
 * Every connection through it meets a fault 50–500 ms after it opens, at
 * random (the kind of fault takes turns): it is cut (both sides destroyed), stalled (nothing forwarded any
 * more, in either direction, until someone gives up on it), or half-closed
 * (the client side gets a FIN while the server side stays open). The target
 * can be switched (to a restarted server, or another instance), cutting what
 * is open. `faults = false` makes it a plain proxy.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type FaultKind = 'cut' | 'stall' | 'half-close';
const FAULT_TURNS: readonly FaultKind[] = ['cut', 'stall', 'cut', 'half-close'];

export interface FaultProxy {
  readonly url: string;
  /** Inject faults (default true). */
  faults: boolean;
  /** Faults injected so far, by kind. */
  readonly injected: Record<FaultKind, number>;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  /** Points new connections at `port`; cuts the open ones. */
  setTarget(port: number): void;
  /** Cuts every open connection. */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number, opts: { minMs?: number; maxMs?: number; random?: () => number } = {}): Promise<FaultProxy> {
  const minMs = opts.minMs ?? 50;
  const maxMs = opts.maxMs ?? 500;
  const random = opts.random ?? Math.random;
  let target = targetPort;
  let accepted = 0;
  const open = new Set<{ client: Socket; upstream: Socket; timer: ReturnType<typeof setTimeout> }>();
  const injected: Record<FaultKind, number> = { cut: 0, stall: 0, 'half-close': 0 };
  let turn = 0;
  const proxy = {} as FaultProxy & { faults: boolean };

  const server: Server = createServer((client) => {
    accepted += 1;
    const upstream = connect({ host: '127.0.0.1', port: target });
    const pair = { client, upstream, timer: undefined as unknown as ReturnType<typeof setTimeout> };
    open.add(pair);
    let stalled = false;
    client.on('data', (chunk: Buffer) => {
      if (!stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled && client.writable) client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const destroy = (): void => {
      clearTimeout(pair.timer);
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroy);
    upstream.on('error', destroy);
    client.on('close', destroy);
    upstream.on('close', destroy);
    pair.timer = setTimeout(() => {
      if (!proxy.faults) return;
      // The kinds take turns (cut, stall, cut, half-close), so every run sees
      // each in the same proportion; when a fault strikes stays random.
      const kind = FAULT_TURNS[turn++ % FAULT_TURNS.length];
      if (kind === 'cut') {
        injected.cut += 1;
        destroy();
      } else if (kind === 'stall') {
        injected.stall += 1;
        stalled = true; // the peers give up by themselves (heartbeat, request timeout); the sockets stay open
        setTimeout(destroy, 30_000).unref();
      } else {
        injected['half-close'] += 1;
        client.end(); // the client sees the stream end; the server keeps its side
        setTimeout(destroy, 5_000).unref();
      }
    }, minMs + random() * (maxMs - minMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const cutAll = (): void => {
    for (const pair of [...open]) {
      clearTimeout(pair.timer);
      open.delete(pair);
      pair.client.destroy();
      pair.upstream.destroy();
    }
  };
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${address.port}`,
    faults: true,
    injected,
    accepted: () => accepted,
    setTarget(port: number) {
      target = port;
      cutAll();
    },
    cutAll,
    async close() {
      proxy.faults = false;
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
