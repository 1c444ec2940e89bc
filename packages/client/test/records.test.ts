/**
 * Records and batches through the client, against a real Sigil on both
 * engines: CRUD with merge patch and If-Match, lists with filter/sort/limit
 * and the page iterator, batches all-or-nothing, a typed schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, SigilError, type SigilClient } from '../src/index.js';
import { STORES } from '../../server/test/helpers/stores.js';
import { nodeClient, PASSWORD, startFixture, uniqueUser, type Fixture } from './helpers.js';

interface Schema {
  tasks: {
    record: { title: string; done?: boolean; n?: number; tags?: string[] };
    create: { title: string; done?: boolean; n?: number; tags?: string[] };
    update: { title?: string; done?: boolean | null; n?: number | null; tags?: string[] | null };
    expand: { author: { id: string; username: string } };
  };
}

describe.each(STORES)('records through the client on $name', (backend) => {
  let f: Fixture;
  let client: SigilClient<Schema>;
  beforeAll(async () => {
    if (backend.skipReason !== null) return;
    f = await startFixture(backend.name);
    client = createClient<Schema>({ url: f.url, webSocket: WebSocket });
    await client.auth.register({ username: uniqueUser(), password: PASSWORD });
  });
  afterAll(async () => {
    client?.close();
    await f?.close();
  });

  it.skipIf(backend.skipReason !== null)('creates, gets, merge-patches (null removes), replaces and deletes, with If-Match', async () => {
    const tasks = client.collection('tasks');
    const created = await tasks.create({ title: 'write', n: 1, done: false });
    expect(created).toMatchObject({ title: 'write', n: 1, version: 1 });
    expect(await tasks.get(created.id)).toEqual(created);
    const patched = await tasks.update(created.id, { done: true, n: null }, { ifMatch: created.version });
    expect(patched).toMatchObject({ title: 'write', done: true, version: 2 });
    expect('n' in patched).toBe(false);
    await expect(tasks.update(created.id, { done: false }, { ifMatch: 1 })).rejects.toMatchObject({ code: 'precondition_failed', status: 412 });
    const replaced = await tasks.replace(created.id, { title: 'rewritten' }, { ifMatch: '"2"' });
    expect(replaced).toMatchObject({ title: 'rewritten', version: 3 });
    expect('done' in replaced).toBe(false);
    await expect(tasks.delete(created.id, { ifMatch: 1 })).rejects.toMatchObject({ code: 'precondition_failed' });
    await tasks.delete(created.id, { ifMatch: 3 });
    const missing = await tasks.get(created.id).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SigilError);
    expect(missing).toMatchObject({ code: 'not_found', status: 404 });
    await expect(tasks.create({ title: 5 as unknown as string })).rejects.toMatchObject({ code: 'validation_failed', details: [expect.objectContaining({ path: '/title' })] });
  });

  it.skipIf(backend.skipReason !== null)('lists with filter, sort and limit, and walks every page', async () => {
    const tasks = client.collection('tasks');
    for (let i = 0; i < 25; i++) await tasks.create({ id: `p${String(i).padStart(2, '0')}`, title: `t${i}`, n: i % 5, done: i % 2 === 0, tags: i % 3 === 0 ? ['x'] : [] });
    const page = await tasks.list({ filter: { done: false, n: { $gte: 2 }, tags: { $contains: 'x' } }, sort: ['-n', 'id'], limit: 2 });
    expect(page.items.map((r) => r.id)).toEqual(['p09', 'p03']);
    expect(page.nextCursor).toBeNull(); // exactly two match
    expect(typeof page.seq).toBe('number');
    const seen: string[] = [];
    let pages = 0;
    for await (const p of tasks.pages({ filter: { id: { $startsWith: 'p' } }, sort: 'id', limit: 7 })) {
      pages += 1;
      seen.push(...p.items.map((r) => r.id));
    }
    expect(pages).toBe(4);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, '0')}`));
    await expect(tasks.list({ filter: { $or: [] } })).rejects.toMatchObject({ code: 'invalid_filter' });
  });

  it.skipIf(backend.skipReason !== null)('sends a batch in one transaction; a failing operation applies nothing and names its index', async () => {
    const results = await client.batch().create('tasks', { id: 'b1', title: 'one' }).update('tasks', 'b1', { done: true }, { ifMatch: 1 }).create('tasks', { id: 'b2', title: 'two' }).delete('tasks', 'b2').send();
    expect(results.map((r) => r.status)).toEqual([201, 200, 201, 204]);
    expect(results[1]).toMatchObject({ record: { id: 'b1', done: true, version: 2 } });
    const failed = await client.batch().create('tasks', { id: 'b3', title: 'three' }).update('tasks', 'b1', { title: 'x' }, { ifMatch: 1 }).send().catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'precondition_failed', status: 412, details: [expect.objectContaining({ index: 1 })] });
    await expect(client.collection('tasks').get('b3')).rejects.toMatchObject({ code: 'not_found' });
  });

  it.skipIf(backend.skipReason !== null)('an anonymous client is answered like the server answers anyone: a collection it may not read is not_found', async () => {
    const anonymous = nodeClient(f.url);
    await expect(anonymous.collection('tasks').list()).rejects.toMatchObject({ code: 'not_found', status: 404 });
    anonymous.close();
  });
});
