// A minimal WebSocket client (RFC 6455) for the fan-out benchmark's
// subscribers: a thousand of them share the runner process with the writer,
// and at 200,000 messages a second the `ws` library's per-message work (a
// stream write, a parser state machine, an event per message) took a whole
// core, so the runner, not the server, set the latencies being measured. This
// one parses the frames of each TCP read in one loop and hands each text
// payload over as a Buffer slice. It does what a subscriber needs: the
// upgrade handshake (checking Sec-WebSocket-Accept), masked text frames out,
// text messages in (fragmented ones reassembled), pong for ping, close.
// A message's payload is a view of a shared read buffer, valid only during
// the `message` call.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEADER_BYTES = 16 * 1024;
/**
 * Every connection reads into this one buffer (`onread`: no stream, no
 * 'data' event per read). Reads are handled synchronously, one at a time, and
 * a partial frame left at the end is copied out before the next read.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * Connects to `url` (ws://host:port/path). Resolves once the upgrade is done;
 * rejects if it fails. `handlers.message(payload)` gets each text message,
 * `handlers.close(code, reason)` the end (code 1006 when the TCP connection
 * ends without a close frame), `handlers.error(err)` a protocol or socket error.
 */
export function connectLeanWebSocket(url, handlers) {
  const { hostname, port, pathname, search } = new URL(url);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: hostname,
      port: Number(port),
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (length, buffer) => {
          onRead(buffer.subarray(0, length));
        },
      },
    });
    let upgraded = false;
    let closed = false;
    let head = Buffer.alloc(0);
    let rest = null;
    let fragments = null;

    const finish = (code, reason) => {
      if (closed) return;
      closed = true;
      socket.destroy();
      if (upgraded) handlers.close(code, reason);
      else reject(new Error(`WebSocket upgrade failed: ${reason}`));
    };
    const writeFrame = (opcode, payload) => {
      if (closed) return;
      const mask = randomBytes(4);
      const length = payload.length;
      const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
      if (length >= 65_536) throw new Error('lean WebSocket: client messages over 64 KiB are not supported');
      const masked = Buffer.allocUnsafe(length);
      for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i & 3];
      socket.write(Buffer.concat([header, mask, masked]));
    };

    const onFrames = (chunk) => {
      const buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
      let at = 0;
      while (buf.length - at >= 2) {
        const b0 = buf[at];
        const b1 = buf[at + 1];
        if (b1 & 0x80) return finish(1002, 'masked frame from the server');
        let length = b1 & 0x7f;
        let start = at + 2;
        if (length === 126) {
          if (buf.length - at < 4) break;
          length = buf.readUInt16BE(at + 2);
          start = at + 4;
        } else if (length === 127) {
          if (buf.length - at < 10) break;
          length = Number(buf.readBigUInt64BE(at + 2));
          start = at + 10;
        }
        if (buf.length - start < length) break;
        const payload = buf.subarray(start, start + length);
        at = start + length;
        const fin = (b0 & 0x80) !== 0;
        const opcode = b0 & 0x0f;
        if (opcode === 0x1 || opcode === 0x0) {
          if (opcode === 0x1 && fragments !== null) return finish(1002, 'new message inside a fragmented one');
          if (!fin) {
            (fragments ??= []).push(Buffer.from(payload)); // a copy: see READ_BUFFER
          } else if (fragments !== null) {
            fragments.push(Buffer.from(payload));
            const whole = Buffer.concat(fragments);
            fragments = null;
            handlers.message(whole);
          } else {
            handlers.message(payload);
          }
        } else if (opcode === 0x8) {
          const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          writeFrame(0x8, payload.subarray(0, 2));
          return finish(code, payload.subarray(2).toString('utf8'));
        } else if (opcode === 0x9) {
          writeFrame(0xa, payload);
        } else if (opcode !== 0xa) {
          return finish(1002, `unexpected opcode ${opcode}`);
        }
      }
      // Copied: the shared read buffer is overwritten by the next read.
      rest = at < buf.length ? Buffer.from(buf.subarray(at)) : null;
    };

    socket.on('connect', () => {
      socket.write(
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    const onRead = (chunk) => {
      if (upgraded) return onFrames(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEADER_BYTES) finish(1002, 'upgrade response headers too long');
        return;
      }
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0])?.[1];
      const acceptHeader = lines.find((line) => /^sec-websocket-accept:/i.test(line))?.split(':')[1]?.trim();
      if (status !== '101' || acceptHeader !== accept) return finish(1002, `status ${status ?? '?'}, accept ${acceptHeader === accept ? 'ok' : 'wrong'}`);
      upgraded = true;
      resolve({
        send: (text) => writeFrame(0x1, Buffer.from(text, 'utf8')),
        terminate: () => finish(1006, 'terminated'),
      });
      const after = head.subarray(end + 4);
      head = Buffer.alloc(0);
      if (after.length > 0) onFrames(after);
    };
    socket.on('error', (err) => {
      if (upgraded && !closed) handlers.error(err);
      finish(1006, err.message);
    });
    socket.on('close', () => finish(1006, 'connection ended'));
  });
}
