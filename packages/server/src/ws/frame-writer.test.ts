import * as ws from 'ws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameWriter, textFrame } from './frame-writer.js';

/** ws's frame parser (exported by ws, not declared by @types/ws). */
interface FrameReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  write(chunk: Buffer): void;
}
const { Receiver } = ws as unknown as { Receiver: new (opts: { isServer: boolean; maxPayload: number }) => FrameReceiver };

/** Parses frames with ws's own receiver (as a client would) and returns the messages. */
function receive(...frames: Buffer[]): string[] {
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  const messages: string[] = [];
  receiver.on('message', (data, isBinary) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString('utf8'));
  });
  receiver.on('error', (err) => {
    throw err;
  });
  for (const frame of frames) receiver.write(frame);
  return messages;
}

describe('textFrame', () => {
  it.each([
    ['empty', ''],
    ['short', '{"type":"change"}'],
    ['125 bytes (7-bit length)', 'x'.repeat(125)],
    ['126 bytes (16-bit length)', 'x'.repeat(126)],
    ['65,535 bytes', 'x'.repeat(65_535)],
    ['65,536 bytes (64-bit length)', 'x'.repeat(65_536)],
    ['multi-byte characters counted in bytes', 'é✓🙂'.repeat(40)],
    ['1 MiB', 'y'.repeat(1024 * 1024)],
  ])('frames %s so a client reads it back exactly', (_name, text) => {
    expect(receive(textFrame(text))).toEqual([text]);
  });

  it('frames written back to back arrive as separate messages, in order', () => {
    expect(receive(Buffer.concat([textFrame('a'), textFrame('b'.repeat(300)), textFrame('c')]))).toEqual(['a', 'b'.repeat(300), 'c']);
  });
});

/** A stand-in for ws's WebSocket: just what FrameWriter touches, recording each TCP write. */
function fakeSocket() {
  const writes: Buffer[] = [];
  const socket = { OPEN: 1, readyState: 1, _socket: { write: (chunk: Buffer) => writes.push(chunk) > 0 } };
  return { socket: socket as unknown as Parameters<FrameWriter['outbox']>[0], writes, state: socket };
}

describe('FrameWriter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a message after a quiet spell on the next turn, then at most once per interval, all queued frames in one write', async () => {
    const writer = new FrameWriter(20);
    const a = fakeSocket();
    const out = writer.outbox(a.socket);
    out.push('first');
    expect(a.writes).toHaveLength(0);
    await vi.advanceTimersToNextTimerAsync(); // the immediate
    expect(a.writes.map((w) => receive(w))).toEqual([['first']]);
    vi.advanceTimersByTime(5);
    out.push('second');
    out.pushShared('third');
    await vi.advanceTimersByTimeAsync(14);
    expect(a.writes).toHaveLength(1); // 19 ms after the first flush: not yet
    await vi.advanceTimersByTimeAsync(1);
    expect(a.writes.map((w) => receive(w))).toEqual([['first'], ['second', 'third']]);
    writer.close();
  });

  it('frames a shared message once for every socket and counts queued bytes until the flush', async () => {
    const writer = new FrameWriter(0);
    const a = fakeSocket();
    const b = fakeSocket();
    const outA = writer.outbox(a.socket);
    const outB = writer.outbox(b.socket);
    const text = '{"type":"change","seq":1}';
    outA.pushShared(text);
    outB.pushShared(text);
    expect(outA.bytes()).toBe(textFrame(text).length);
    await vi.advanceTimersToNextTimerAsync();
    expect(a.writes[0]).toBe(b.writes[0]);
    expect(outA.bytes()).toBe(0);
    writer.close();
  });

  it('gives sockets with the same frames queued one shared buffer, and a socket with other frames its own', async () => {
    const writer = new FrameWriter(0);
    const [a, b, c] = [fakeSocket(), fakeSocket(), fakeSocket()];
    const [outA, outB, outC] = [a, b, c].map((s) => writer.outbox(s.socket));
    for (const out of [outA!, outB!]) {
      out.pushShared('one');
      out.pushShared('two');
    }
    outC!.pushShared('one');
    outC!.push('own');
    await vi.advanceTimersToNextTimerAsync();
    expect(a.writes[0]).toBe(b.writes[0]);
    expect(receive(a.writes[0]!)).toEqual(['one', 'two']);
    expect(receive(c.writes[0]!)).toEqual(['one', 'own']);
    writer.close();
  });

  it('drops what is queued for a socket that closed meanwhile', async () => {
    const writer = new FrameWriter(0);
    const a = fakeSocket();
    writer.outbox(a.socket).push('lost');
    a.state.readyState = 3;
    await vi.advanceTimersToNextTimerAsync();
    expect(a.writes).toEqual([]);
    writer.close();
  });
});
