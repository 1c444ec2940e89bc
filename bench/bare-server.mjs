#!/usr/bin/env node
// The baseline for `npm run bench`: the least a Node.js HTTP server can do to
// answer a JSON request. Any method, any path → 200 with a `{"user": …}` body
// shaped and sized like Sigil's `GET /api/auth/me` answer (~190 bytes),
// serialized per request as a real JSON server would.
//
// Usage: node bench/bare-server.mjs [port]   (or PORT=…; default 0 = any free port)
//        HOST=… to change the address (default 127.0.0.1).
// Prints `listening http://<host>:<port>` once it accepts connections.
import { createServer } from 'node:http';

const host = process.env.HOST || '127.0.0.1';
const rawPort = process.argv[2] ?? process.env.PORT ?? '0';
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`bare-server: invalid port "${rawPort}"`);
  process.exit(2);
}

const now = new Date().toISOString();
const user = {
  id: '01JBENCHBARESERVER00000000',
  username: 'bench_user',
  email: null,
  role: 'user',
  disabled: false,
  createdAt: now,
  updatedAt: now,
};

const server = createServer((req, res) => {
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  const body = JSON.stringify({ user });
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});

server.keepAliveTimeout = 72_000;

server.listen(port, host, () => {
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  process.stdout.write(`listening http://${shownHost}:${actualPort}\n`);
});

server.on('error', (err) => {
  console.error(`bare-server: ${err.message}`);
  process.exit(1);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  // Do not hang on a stuck socket.
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
