/**
 * What the dashboard manages through the client, against a real Sigil on
 * both engines: collection definitions (with dry runs and their reports),
 * users (the last-admin refusal in words), the server status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, SigilError, type SigilClient } from '../src/index.js';
import { STORES } from '../../server/test/helpers/stores.js';
import { PASSWORD, startFixture, uniqueUser, type Fixture } from './helpers.js';

describe.each(STORES)('admin APIs through the client on $name', (backend) => {
  let f: Fixture;
  let admin: SigilClient;
  let user: SigilClient;
  let username: string;
  beforeAll(async () => {
    if (backend.skipReason !== null) return;
    f = await startFixture(backend.name, { collections: {} });
    admin = createClient({ url: f.url, webSocket: WebSocket });
    await admin.auth.login({ username: f.admin.username, password: f.admin.password });
    user = createClient({ url: f.url, webSocket: WebSocket });
    username = uniqueUser();
    await user.auth.register({ username, password: PASSWORD });
  });
  afterAll(async () => {
    admin?.close();
    user?.close();
    await f?.close();
  });

  it.skipIf(backend.skipReason !== null)('creates, reads, dry-runs, changes and deletes a collection', async () => {
    const schema = { type: 'object', properties: { title: { type: 'string' } } };
    const created = await admin.collections.create({ name: 'notes', schema, rules: { list: 'public', view: 'public', create: 'public' } });
    expect(created).toMatchObject({ name: 'notes', schemaVersion: 1, rules: { list: 'public', update: 'owner' } });
    expect((await admin.collections.list()).map((c) => c.name)).toEqual(['notes']);
    expect(await admin.collections.get('notes')).toEqual(created);

    const bad = await user.collection('notes').create({ title: 'kept' });
    const stricter = { type: 'object', required: ['title'], properties: { title: { type: 'string', maxLength: 2 } } };
    const refused = await admin.collections.update('notes', { schema: stricter }, { dryRun: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SigilError);
    expect(refused).toMatchObject({ code: 'schema_conflict', status: 409 });
    expect((refused as SigilError).report).toEqual({ total: 1, failures: [{ id: bad.id, errors: [{ path: '/title', message: expect.any(String) as unknown }] }] });
    expect((await admin.collections.get('notes')).schemaVersion).toBe(1);

    const looser = { type: 'object', properties: { title: { type: 'string' }, done: { type: 'boolean' } } };
    const forecast = await admin.collections.update('notes', { schema: looser }, { dryRun: true });
    expect(forecast).toMatchObject({ collection: { schemaVersion: 2 }, report: { total: 0, failures: [] } });
    expect((await admin.collections.get('notes')).schemaVersion).toBe(1);
    expect(await admin.collections.update('notes', { schema: looser })).toMatchObject({ schemaVersion: 2 });

    await expect(user.collections.create({ name: 'mine', schema })).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await admin.collections.delete('notes');
    await expect(admin.collections.get('notes')).rejects.toMatchObject({ code: 'not_found' });
  });

  it.skipIf(backend.skipReason !== null)('lists and changes users; refuses to demote the last admin with a reason', async () => {
    const page = await admin.users.list({ limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();
    const rest = await admin.users.list({ after: page.nextCursor! });
    expect([...page.items, ...rest.items].map((u) => u.username)).toEqual(expect.arrayContaining([f.admin.username, username]));

    await expect(user.users.list()).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    expect(await admin.users.update(username, { role: 'admin' })).toMatchObject({ role: 'admin' });
    expect(await admin.users.update(username, { role: 'user', disabled: true })).toMatchObject({ role: 'user', disabled: true });
    // Disabling revokes the user's sessions.
    await expect(user.auth.me()).rejects.toMatchObject({ status: 401 });
    const last = await admin.users.update(f.admin.username, { role: 'user' }).catch((e: unknown) => e);
    expect(last).toMatchObject({ code: 'conflict', status: 409, message: expect.stringMatching(/admin/i) as unknown });
    await admin.users.delete(username);
    await expect(admin.users.get(username)).rejects.toMatchObject({ code: 'not_found' });
  });

  it.skipIf(backend.skipReason !== null)('reads the server status as an admin only', async () => {
    const status = await admin.serverStatus();
    expect(status).toMatchObject({ engine: backend.name, realtime: { connections: expect.any(Number) as unknown }, changeLog: { retentionSeconds: expect.any(Number) as unknown } });
    const other = createClient({ url: f.url, webSocket: WebSocket });
    await other.auth.register({ username: uniqueUser(), password: PASSWORD });
    await expect(other.serverStatus()).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    other.close();
  });

  it.skipIf(backend.skipReason !== null)('previews which records a user could read under rules not yet saved', async () => {
    const writer = createClient({ url: f.url, webSocket: WebSocket });
    const writerName = uniqueUser();
    await writer.auth.register({ username: writerName, password: PASSWORD });
    await admin.collections.create({ name: 'drafts', schema: { type: 'object', properties: { text: { type: 'string' } } }, rules: { list: 'admin', view: 'admin' } });
    const mine = await writer.collection('drafts').create({ text: 'mine' });
    await admin.collection('drafts').create({ text: 'not mine' });
    const owner = await admin.collections.previewAccess('drafts', { rules: { list: 'owner', view: 'owner' }, user: writerName });
    expect(owner.user?.username).toBe(writerName);
    expect(owner.list).toEqual({ allowed: true, items: [expect.objectContaining({ id: mine.id, text: 'mine' }) as unknown], hasMore: false });
    const anonymous = await admin.collections.previewAccess('drafts', { rules: { list: 'owner', view: 'owner' }, user: null, limit: 5 });
    expect(anonymous).toMatchObject({ user: null, list: { allowed: false, items: [] }, view: { allowed: false } });
    // The saved rules are untouched, and still hide everything from the user.
    expect((await admin.collections.get('drafts')).rules).toMatchObject({ list: 'admin', view: 'admin' });
    await expect(writer.collection('drafts').list()).rejects.toMatchObject({ code: 'not_found' });
    const invalid = await admin.collections.previewAccess('drafts', { rules: { view: { owner: '@auth.nope' } }, user: null }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'validation_failed', status: 400 });
    expect((invalid as SigilError).details[0]?.path).toMatch(/^\/rules\/view/);
    await expect(writer.collections.previewAccess('drafts', { user: null })).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await admin.collections.delete('drafts');
    writer.close();
  });
});
