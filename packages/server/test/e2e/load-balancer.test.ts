/**
 * Three Sigil processes on one PostgreSQL behind a real nginx (Debian's),
 * configured as docs/deploy.md says: clients reach Sigil only through the
 * proxy, their WebSockets are moved between instances as instances stop and
 * start, and no acknowledged write is lost or delivered twice.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createCollection,
  createRecord,
  deliveryProblems,
  loginAdmin,
  newJwtSecret,
  registerUser,
  ResumingSubscriber,
  serverEnv,
  startWriter,
  waitUntil,
  type Writer,
} from '../helpers/realtime-e2e.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { announceSkip, createTestDatabaseUrl, POSTGRES_SKIP_REASON, type TestDatabase } from '../helpers/stores.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => spawnSync(path, ['-v']).status === 0);
const skipReason = POSTGRES_SKIP_REASON ?? (NGINX === undefined ? 'nginx is not installed (apt-get install nginx-light)' : null);
if (skipReason !== null) announceSkip('the load-balancer test (PostgreSQL and nginx)', skipReason);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The reference proxy configuration of docs/deploy.md, minus TLS, for `ports` on loopback. */
function nginxConfig(root: string, listen: number, ports: readonly number[]): string {
  return `
user root;
worker_processes 1;
daemon off;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${root}/tmp/body;
  proxy_temp_path ${root}/tmp/proxy;
  fastcgi_temp_path ${root}/tmp/fastcgi;
  uwsgi_temp_path ${root}/tmp/uwsgi;
  scgi_temp_path ${root}/tmp/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream sigil {
    least_conn;
${ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=1s;`).join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${listen};
    client_max_body_size 1m;
    location / {
      proxy_pass http://sigil;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 75s;
      proxy_send_timeout 75s;
    }
  }
}
`;
}

describe.skipIf(skipReason !== null)('three Sigil instances behind nginx', () => {
  const servers: (ServerProcess | undefined)[] = [];
  const subscribers: ResumingSubscriber[] = [];
  const writers: Writer[] = [];
  let db: TestDatabase | undefined;
  let root: string;
  let nginx: ChildProcess | undefined;
  let proxy: string;
  let ports: number[];
  let start: (i: number) => Promise<ServerProcess>;
  let userToken: string;
  const COLLECTION = 'balanced_notes';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sigil-lb-'));
    mkdirSync(join(root, 'tmp'));
    db = await createTestDatabaseUrl('postgres');
    const jwtSecret = newJwtSecret();
    ports = [await freePort(), await freePort(), await freePort()];
    start = async (i) => {
      const env = { ...serverEnv({ dataDir: join(root, `data${i}`), databaseUrl: db!.url, jwtSecret, admin: i === 0 }), TRUST_PROXY: 'true', PORT: String(ports[i]) };
      const server = await startServerProcess({ cwd: root, env });
      servers[i] = server;
      return server;
    };
    await start(0);
    await Promise.all([start(1), start(2)]);
    const listen = await freePort();
    writeFileSync(join(root, 'nginx.conf'), nginxConfig(root, listen, ports));
    nginx = spawn(NGINX!, ['-p', root, '-c', join(root, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    proxy = `http://127.0.0.1:${listen}`;
    await waitUntil(async () => (await api(proxy, 'GET', '/api/health').catch(() => ({ status: 0 }))).status === 200, 'nginx in front of Sigil', 15_000);
    const adminToken = await loginAdmin(proxy);
    await createCollection(proxy, adminToken, COLLECTION);
    userToken = (await registerUser(proxy, 'balanced_user')).accessToken;
  });

  afterAll(async () => {
    await Promise.all(writers.map((w) => w.stop()));
    for (const s of subscribers) s.close();
    nginx?.kill('SIGKILL');
    await Promise.all(servers.map(async (s) => s?.stop('SIGKILL')));
    await db?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('moves WebSockets between instances as they stop and start, losing and repeating nothing', async () => {
    for (let i = 0; i < 12; i++) {
      const s = new ResumingSubscriber({ url: () => proxy, token: userToken, subscriptions: [{ id: 'n', collection: COLLECTION }] });
      subscribers.push(s);
      await s.connect();
    }
    // least_conn spreads the sockets: every instance holds some.
    const writer = startWriter({ url: () => proxy, token: userToken, collections: [COLLECTION], concurrency: 4 });
    writers.push(writer);
    await waitUntil(() => writer.ackedCount >= 100, '100 writes through the proxy', 30_000);

    // Each instance in turn goes away (its sockets are closed with 1001) and comes back on its port.
    for (const i of [0, 1, 2]) {
      const before = writer.ackedCount;
      expect(await servers[i]!.stop('SIGTERM')).toBe(0);
      await waitUntil(() => writer.ackedCount >= before + 100, `100 writes with instance ${i} down`, 30_000, () => writer.lastFailure);
      await start(i);
      await waitUntil(() => writer.ackedCount >= before + 200, `100 more writes with instance ${i} back`, 30_000, () => writer.lastFailure);
    }
    await writer.stop();
    expect(writer.problems).toEqual([]);

    const sentinel = await createRecord(proxy, COLLECTION, { title: 'sentinel' }, userToken);
    const acked = [...writer.acked.get(COLLECTION)!, sentinel];
    for (const [n, s] of subscribers.entries()) {
      await waitUntil(() => s.has('n', sentinel), `the sentinel at subscriber ${n}`, 20_000, () => `${s.count('n')} changes so far`);
      expect(deliveryProblems(s.received.get('n')!, acked), `subscriber ${n}`).toEqual([]);
      expect(s.problems, `subscriber ${n}`).toEqual([]);
    }
    // Every subscriber was on some instance that stopped: all of them moved at least once.
    expect(subscribers.every((s) => s.reconnects >= 1)).toBe(true);
    expect(readFileSync(join(root, 'error.log'), 'utf8')).not.toMatch(/\[(emerg|alert|crit)\]/);
  }, 180_000);
});
