/**
 * Server processes and plain-socket truth for the client's end-to-end tests:
 * a server on a fresh database, a collection, users, writers that remember
 * what they wrote, and a plain WebSocket replay of the change log (`since`)
 * as the reference every client subscription is compared with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ServerMessage, UserDto } from '@sigil/protocol';
import { api, loginAdmin, newJwtSecret, serverEnv } from '../../server/test/helpers/realtime-e2e.js';
import { startServerProcess, type ServerProcess } from '../../server/test/helpers/server-process.js';
import { createTestDatabaseUrl, type TestDatabase } from '../../server/test/helpers/stores.js';
import type { Dialect } from '../../server/src/core/storage/store.js';
import { TASK_SCHEMA } from './helpers.js';

export { api };

export interface Deployment {
  readonly db: TestDatabase;
  readonly env: Record<string, string>;
  readonly servers: ServerProcess[];
  start(): Promise<ServerProcess>;
  dispose(): Promise<void>;
}

/** Server processes of one database (several, for PostgreSQL's instances). */
export async function deploy(dialect: Dialect, extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const cwd = mkdtempSync(join(tmpdir(), 'sigil-client-e2e-'));
  const db = await createTestDatabaseUrl(dialect);
  const env = { ...serverEnv({ dataDir: join(cwd, 'data'), databaseUrl: db.url, jwtSecret: newJwtSecret(), admin: true }), ...extraEnv };
  const servers: ServerProcess[] = [];
  return {
    db,
    env,
    servers,
    async start() {
      const server = await startServerProcess({ env, cwd });
      servers.push(server);
      return server;
    },
    async dispose() {
      await Promise.all(servers.map((s) => s.stop('SIGKILL')));
      await db.dispose();
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}

export async function setUp(url: string, collection: string, rules: Record<string, string>): Promise<void> {
  const admin = await loginAdmin(url);
  const res = await api(url, 'POST', '/api/collections', { token: admin, body: { name: collection, schema: TASK_SCHEMA, rules } });
  if (res.status !== 201) throw new Error(`create collection: ${res.status} ${JSON.stringify(res.body)}`);
}

export interface AuthAnswer {
  readonly user: UserDto;
  readonly accessToken: string;
  readonly refreshToken: string;
}

export async function registerAccount(url: string, username: string): Promise<AuthAnswer> {
  const res = await api(url, 'POST', '/api/auth/register', { body: { username, password: 'e2e user password 1' } });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as AuthAnswer;
}

/** One change as the tests compare them. */
export type Seen = string;
export const seen = (c: { seq: number; op: string; record: { id: string; version: number } }): Seen => `${c.seq}:${c.op}:${c.record.id}:${c.record.version}`;

/**
 * The reference: a plain socket that subscribes with `since` and collects
 * the replay until the change of `untilId`.
 */
export async function replayLog(url: string, token: string, collection: string, since: number, untilId: string, filter?: object): Promise<{ seq: number; op: string; record: Record<string, unknown> & { id: string; version: number } }[]> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/realtime`);
  const changes: { seq: number; op: string; record: Record<string, unknown> & { id: string; version: number } }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replay did not reach ${untilId} (${changes.length} changes)`)), 30_000);
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'auth', token }));
        ws.send(JSON.stringify({ type: 'subscribe', id: 'truth', collection, since, ...(filter ? { filter } : {}) }));
      });
      ws.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as ServerMessage;
        if (message.type === 'error' || message.type === 'resync') reject(new Error(JSON.stringify(message)));
        if (message.type !== 'change') return;
        changes.push({ seq: message.seq, op: message.op, record: message.record });
        if (message.record.id === untilId) {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.on('error', reject);
    });
  } finally {
    ws.close();
  }
  return changes;
}

/** The state of a collection after each change of a full log (from an empty collection). */
export class Replayer {
  private readonly state = new Map<string, Record<string, unknown> & { id: string }>();
  private at = 0;
  constructor(private readonly log: readonly { seq: number; op: string; record: Record<string, unknown> & { id: string } }[]) {}
  /** Advances to `seq` and returns the records then. */
  until(seq: number): Iterable<Record<string, unknown> & { id: string }> {
    while (this.at < this.log.length && this.log[this.at]!.seq <= seq) {
      const change = this.log[this.at++]!;
      if (change.op === 'delete') this.state.delete(change.record.id);
      else this.state.set(change.record.id, change.record);
    }
    return this.state.values();
  }
}
