import * as ws from 'ws';
import { describe, expect, it } from 'vitest';
import { textFrame } from './frame-writer.js';

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
