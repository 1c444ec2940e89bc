import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where `ws` resolves for the attacker scripts. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/**
 * Runs an attacking client in its own Node process, so the figures measured
 * in the test process are the server's alone. `script` is an ES module body
 * with `ARGS` (the JSON-parsed `args`) in scope; whatever it prints last, as
 * JSON, is the result.
 */
export function runAttacker<T>(script: string, args: unknown, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const source = `const ARGS = ${JSON.stringify(args)};\n${script}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`attacker exited with ${code}: ${stderr}`));
      else resolvePromise(JSON.parse(last) as T);
    });
  });
}

/**
 * A WebSocket client that subscribes (so it is not dropped as idle), stops
 * reading, and sends `ARGS.frames` one-byte invalid frames as fast as its
 * socket takes them. Prints the close code, the frames sent and the time
 * from the first frame to the close.
 */
export const GARBAGE_FLOOD = `
import WebSocket from 'ws';
const ws = new WebSocket(ARGS.url);
await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
ws.send(JSON.stringify({ type: 'subscribe', id: 'keep', collection: 'none' }));
await new Promise((r) => ws.once('message', r));
ws._socket.pause();
const closed = new Promise((r) => ws.once('close', (code) => r(code)));
const start = performance.now();
let sent = 0;
for (; sent < ARGS.frames && ws.readyState === ws.OPEN; sent++) {
  ws.send('x');
  if (sent % 1000 === 0) await new Promise((r) => setImmediate(r));
}
ws._socket.resume();
const code = await closed;
console.log(JSON.stringify({ code, sent, closedAfterMs: Math.round(performance.now() - start) }));
process.exit(0);
`;

/**
 * `ARGS.count` concurrent `PATCH /api/users/<ARGS.username>` with a wrong
 * `currentPassword` each, over real HTTP from one address. Prints the
 * status codes.
 */
export const PATCH_FLOOD = `
const codes = await Promise.all(Array.from({ length: ARGS.count }, async (_, i) => {
  const res = await fetch(ARGS.url + '/api/users/' + ARGS.username, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ' + ARGS.token },
    body: JSON.stringify({ password: 'new password 123', currentPassword: 'guess ' + i }),
  });
  await res.arrayBuffer();
  return res.status;
}));
console.log(JSON.stringify({ codes }));
`;
