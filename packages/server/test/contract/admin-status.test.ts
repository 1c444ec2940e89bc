import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../helpers/stores.js';
import { openSocket, wsUrl } from '../helpers/ws-client.js';
import { createAdmin, expectError, register, startTestSigilOn, type Account, type TestSigil } from '../helpers/test-sigil.js';

interface Status {
  version: string;
  engine: string;
  startedAt: string;
  uptimeSeconds: number;
  realtime: { connections: number; subscriptions: number };
  changeLog: { oldestSeq: number | null; latestSeq: number; size: number; retentionSeconds: number };
  collections: { name: string; records: number }[];
}

describe.each(STORES)('GET /api/admin/status on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  let alice: Account;

  beforeAll(async () => {
    t = await startTestSigilOn(backend.name, { listen: true, env: { REALTIME_RETENTION: '2h' } });
    admin = await createAdmin(t);
    alice = await register(t);
  });
  afterAll(async () => t?.close());

  const status = async (): Promise<Status> => {
    const res = await t.request({ method: 'GET', url: '/api/admin/status', token: admin.accessToken });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    return res.json();
  };

  it('is for admins only: 401 without a token, 403 for a user', async () => {
    expectError(await t.request({ method: 'GET', url: '/api/admin/status' }), 401, 'unauthorized');
    expectError(await t.request({ method: 'GET', url: '/api/admin/status', token: alice.accessToken }), 403, 'forbidden');
  });

  it('reports the version, engine, uptime and retention', async () => {
    const s = await status();
    expect(s.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.engine).toBe(backend.name);
    expect(Date.parse(s.startedAt)).toBeLessThanOrEqual(Date.now());
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(s.changeLog.retentionSeconds).toBe(7200);
  });

  it('counts records per collection and the change log as writes happen', async () => {
    const before = await status();
    for (const name of ['notes', 'tags']) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: { type: 'object' }, rules: { create: 'authenticated' } } });
      expect(res.statusCode, res.body).toBe(201);
    }
    for (let i = 0; i < 3; i++) await t.request({ method: 'POST', url: '/api/collections/notes/records', token: alice.accessToken, body: {} });
    const after = await status();
    expect(after.collections).toEqual([{ name: 'notes', records: 3 }, { name: 'tags', records: 0 }]);
    expect(after.changeLog.latestSeq).toBe(before.changeLog.latestSeq + 3);
    expect(after.changeLog.size).toBe(before.changeLog.size + 3);
    expect(after.changeLog.oldestSeq).not.toBeNull();
    expect(after.changeLog.size).toBe(after.changeLog.latestSeq - after.changeLog.oldestSeq! + 1);
  });

  it('counts realtime connections and subscriptions', async () => {
    const socket = await openSocket(wsUrl(t.url!));
    try {
      socket.send({ type: 'auth', token: admin.accessToken });
      await socket.next((m) => m.type === 'authed');
      socket.send({ type: 'subscribe', id: 's1', collection: 'notes' });
      socket.send({ type: 'subscribe', id: 's2', collection: 'tags' });
      await socket.next((m) => m.type === 'subscribed' && m.id === 's2');
      const s = await status();
      expect(s.realtime).toEqual({ connections: 1, subscriptions: 2 });
    } finally {
      socket.close();
    }
    await expect.poll(async () => (await status()).realtime.connections).toBe(0);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await t.request({ method: 'GET', url: '/api/openapi.json', token: admin.accessToken })).json<{ paths: Record<string, { get: { responses: Record<string, unknown> } }> }>();
    expect(doc.paths['/api/admin/status']?.get.responses['200']).toMatchObject({ content: { 'application/json': { schema: { required: expect.arrayContaining(['engine', 'realtime', 'changeLog']) as unknown } } } });
  });
});
