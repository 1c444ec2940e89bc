import type { WebSocket } from '@fastify/websocket';

/**
 * A WebSocket text frame as the server sends it (RFC 6455 §5.2: FIN, opcode
 * 1, no mask, 7/16/64-bit length), ready to be written to the TCP socket.
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, headerLength, 'utf8');
  return frame;
}

/** The TCP socket under a ws WebSocket (ws keeps it as `_socket`). */
interface RawSocket {
  write(chunk: Buffer): boolean;
}

/** Distinct shared texts whose frames are kept; beyond it the cache starts over. */
const MAX_SHARED_FRAMES = 1024;

export interface Outbox {
  /** Queues a message only this socket gets. */
  push(text: string): void;
  /**
   * Queues a message many sockets get (a change): framed once for all of
   * them. `committedAtMs`: a live change's commit time, for the delivery-lag
   * metric.
   */
  pushShared(text: string, committedAtMs?: number): void;
  /** Writes what is queued now. */
  flush(): void;
  /** Bytes queued and not yet handed to the socket. */
  bytes(): number;
}

/**
 * Realtime output for every socket of a server. Fan-out is bounded by work
 * per (message × socket), so that work is cut to the bone:
 *
 * - a change that goes to a thousand sockets is encoded and framed once (the
 *   hub hands out one string per distinct message; its frame is cached by
 *   that string), and the same bytes are written to each socket;
 * - a socket's frames are gathered and written as one buffer, one system
 *   call for many frames. One timer flushes every socket with something
 *   queued: on the next turn of the event loop, but no sooner than
 *   `flushIntervalMs` after the previous flush. A lone change goes out at
 *   once; under a stream of changes each socket gets one write per interval
 *   carrying all of them (the write, mostly kernel time, is what fan-out
 *   costs per socket).
 *
 * Frames go straight to the TCP socket, after whatever ws itself has written
 * (pings, closes): each write is a whole frame, and permessage-deflate, which
 * would make ws queue frames, is off.
 */
export class FrameWriter {
  private readonly due = new Set<() => void>();
  private readonly shared = new Map<string, Buffer>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastFlushAt = -Infinity;
  private lastBatch: readonly Buffer[] = [];
  private lastJoined: Buffer | undefined;
  /** Live changes queued since the last flush (each once, however many sockets get it), with their commit times. */
  private readonly liveFrames = new Set<Buffer>();
  private liveCommits: number[] = [];

  /** `onDelivered`: told, after each flush, the commit time of every live change it wrote (the delivery-lag metric). */
  constructor(
    private readonly flushIntervalMs: number,
    private readonly onDelivered?: (committedAtMs: number) => void,
  ) {}

  outbox(socket: WebSocket): Outbox {
    const raw = (socket as unknown as { _socket?: RawSocket })._socket;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = (): void => {
      this.due.delete(flush);
      if (pending.length === 0) return;
      const batch = pending;
      const bytes = pendingBytes;
      pending = [];
      pendingBytes = 0;
      if (socket.readyState !== socket.OPEN || raw === undefined) return;
      // One buffer, one write: cheaper through Node's stream machinery than corked chunks.
      raw.write(this.join(batch, bytes));
    };
    const queue = (frame: Buffer): void => {
      pending.push(frame);
      pendingBytes += frame.length;
      if (pending.length === 1) this.schedule(flush);
    };
    return {
      push: (text) => queue(textFrame(text)),
      pushShared: (text, committedAtMs) => {
        const frame = this.sharedFrame(text);
        if (committedAtMs !== undefined && this.onDelivered !== undefined && !this.liveFrames.has(frame)) {
          this.liveFrames.add(frame);
          this.liveCommits.push(committedAtMs);
        }
        queue(frame);
      },
      flush,
      bytes: () => pendingBytes,
    };
  }

  /**
   * `batch` as one buffer. Subscribers of the same stream have the same
   * frames queued, in the same order: they share the buffer joined for the
   * previous socket instead of each getting a copy.
   */
  private join(batch: Buffer[], bytes: number): Buffer {
    if (batch.length === 1) return batch[0]!;
    const last = this.lastBatch;
    if (this.lastJoined !== undefined && last.length === batch.length && batch.every((frame, i) => frame === last[i])) return this.lastJoined;
    const joined = Buffer.concat(batch, bytes);
    this.lastBatch = batch;
    this.lastJoined = joined;
    return joined;
  }

  private sharedFrame(text: string): Buffer {
    let frame = this.shared.get(text);
    if (frame === undefined) {
      if (this.shared.size >= MAX_SHARED_FRAMES) this.shared.clear();
      frame = textFrame(text);
      this.shared.set(text, frame);
    }
    return frame;
  }

  private schedule(flush: () => void): void {
    this.due.add(flush);
    if (this.timer !== undefined) return;
    // At most one flush per interval; after a quiet spell, the next turn of the event loop.
    const wait = this.lastFlushAt + this.flushIntervalMs - performance.now();
    this.timer = wait > 0 ? setTimeout(this.flushAll, wait) : setImmediate(this.flushAll);
  }

  private readonly flushAll = (): void => {
    this.timer = undefined;
    this.lastFlushAt = performance.now();
    for (const flush of this.due) flush();
    if (this.liveCommits.length > 0) {
      const commits = this.liveCommits;
      this.liveCommits = [];
      this.liveFrames.clear();
      for (const at of commits) this.onDelivered?.(at);
    }
  };

  /** Stops the timer (server shutdown); queued frames are dropped with their sockets. */
  close(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    this.due.clear();
  }
}
