import pg from 'pg';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/collections/collection.js';
import type { Dialect } from '../../src/core/storage/store.js';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';
import { createAdmin, expectError, register, startTestSigil, uniqueName, type Account, type TestSigil } from '../helpers/test-sigil.js';

const SCHEMA = { type: 'object', properties: { title: { type: 'string' }, done: { type: 'boolean' } } };
const big = { type: 'object', properties: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`field_${i}`, { type: 'string', description: 'x' }])) };
let deep: object = { type: 'object' };
for (let i = 0; i < 40; i++) deep = { type: 'object', properties: { a: deep } };

/** [what, body (name filled in), the detail path expected]. */
const INVALID: readonly [string, Record<string, unknown>, string][] = [
  ['an invalid JSON Schema', { schema: { type: 'object', properties: { a: { type: 'strin' } } } }, '/schema/properties/a/type'],
  ['an unknown keyword (a typo)', { schema: { type: 'object', properties: { a: { type: 'string', minLenght: 2 } } } }, '/schema'],
  ['an unknown format', { schema: { type: 'object', properties: { a: { type: 'string', format: 'colour' } } } }, '/schema'],
  ['a bad pattern', { schema: { type: 'object', properties: { a: { type: 'string', pattern: '(' } } } }, '/schema'],
  ['a non-object type', { schema: { type: 'array' } }, '/schema/type'],
  ['no type', { schema: { properties: {} } }, '/schema/type'],
  ['a schema that is not an object', { schema: [1] }, '/schema'],
  ...(['id', 'createdAt', 'updatedAt', 'owner', 'version'].map((f) => [`the system field ${f}`, { schema: { type: 'object', properties: { [f]: { type: 'string' } } } }, `/schema/properties/${f}`]) as [string, Record<string, unknown>, string][]),
  ['a required system field', { schema: { type: 'object', required: ['owner'] } }, '/schema/required/0'],
  ['a system field behind allOf and $ref', { schema: { type: 'object', allOf: [{ $ref: '#/$defs/base' }], $defs: { base: { properties: { version: {} } } } } }, '/schema/$defs/base/properties/version'],
  ['patternProperties matching a system field', { schema: { type: 'object', patternProperties: { '^.*At$': { type: 'string' } } } }, '/schema/patternProperties/^.*At$'],
  ['a remote $ref', { schema: { type: 'object', properties: { a: { $ref: 'https://example.com/schema.json' } } } }, '/schema/properties/a/$ref'],
  ['a relative $ref to another document', { schema: { type: 'object', properties: { a: { $ref: 'other.json#/x' } } } }, '/schema/properties/a/$ref'],
  ['an unresolvable local $ref', { schema: { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } } }, '/schema'],
  ['$id', { schema: { type: 'object', $id: 'https://example.com/tasks' } }, '/schema/$id'],
  ['another draft', { schema: { type: 'object', $schema: 'http://json-schema.org/draft-07/schema#' } }, '/schema/$schema'],
  ['a schema over 64 KiB', { schema: big }, '/schema'],
  ['a schema nested over 32 levels', { schema: deep }, '/schema'],
  ['an unknown rule', { schema: SCHEMA, rules: { read: 'public' } }, '/rules/read'],
  ['an unknown rule value', { schema: SCHEMA, rules: { list: 'everyone' } }, '/rules/list'],
  ['an index that is not a list', { schema: SCHEMA, indexes: ['title'] }, '/indexes/0'],
  ['an empty index', { schema: SCHEMA, indexes: [[]] }, '/indexes/0'],
  ['an index of 5 fields', { schema: SCHEMA, indexes: [['a', 'b', 'c', 'd', 'e']] }, '/indexes/0'],
  ['17 indexes', { schema: SCHEMA, indexes: Array.from({ length: 17 }, (_, i) => [`f${i}`]) }, '/indexes'],
  ['a bad index path', { schema: SCHEMA, indexes: [['title', 'a-b']] }, '/indexes/0/1'],
  ['an index into a system field', { schema: SCHEMA, indexes: [['owner.name']] }, '/indexes/0/0'],
  ['a repeated index', { schema: SCHEMA, indexes: [['title'], ['title']] }, '/indexes/1'],
  ['an unknown top-level field', { schema: SCHEMA, extra: 1 }, '/extra'],
  ['no schema', {}, '/schema'],
];

/** The SQL text of every index on tables whose name contains `collection`. */
async function indexDefinitions(dialect: Dialect, url: string, collection: string): Promise<string[]> {
  if (dialect === 'sqlite') {
    const db = new Database(url.replace(/^sqlite:/, ''), { readonly: true });
    try {
      const rows = db.prepare("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as { tbl_name: string; sql: string }[];
      return rows.filter((r) => r.tbl_name.includes(collection)).map((r) => r.sql);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string; indexdef: string }>('SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()');
    return rows.filter((r) => r.tablename.includes(collection)).map((r) => r.indexdef);
  } finally {
    await client.end();
  }
}

describe.each(STORES)('collections API on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  let alice: Account;
  let dbUrl = '';
  let disposeDb: () => Promise<void> = async () => undefined;

  const create = (body: Record<string, unknown>, token = admin.accessToken) => t.request({ method: 'POST', url: '/api/collections', token, body });
  const put = (name: string, body: Record<string, unknown>, query = '', token = admin.accessToken) =>
    t.request({ method: 'PUT', url: `/api/collections/${name}${query}`, token, body });
  const get = (name: string, token?: string) => t.request({ method: 'GET', url: `/api/collections/${name}`, token });

  async function createOk(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await create(body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ collection: Record<string, unknown> }>().collection;
  }

  /** Straight into storage, bypassing validation: how data that a new schema rejects can exist. */
  async function insertRaw(collection: string, records: readonly [string, JsonObject][]): Promise<void> {
    const now = new Date().toISOString();
    await t.sigil.store.transaction(async (tx) => {
      for (const [id, data] of records) await tx.records.insertRecord(collection, { id, owner: null, version: 1, createdAt: now, updatedAt: now, data });
    });
  }

  async function allRecords(collection: string): Promise<{ id: string; data: JsonObject }[]> {
    const out: { id: string; data: JsonObject }[] = [];
    for (let after: string | undefined; ; ) {
      const rows = await t.sigil.store.records.scanRecords(collection, after, 1000);
      out.push(...rows.map((r) => ({ id: r.id, data: r.data })));
      if (rows.length < 1000) return out;
      after = rows.at(-1)!.id;
    }
  }

  beforeAll(async () => {
    if (backend.skipReason) return;
    const db = await createTestDatabaseUrl(backend.name);
    dbUrl = db.url;
    disposeDb = db.dispose;
    t = await startTestSigil({ databaseUrl: db.url });
    admin = await createAdmin(t);
    alice = await register(t);
  });
  afterAll(async () => {
    await t?.close();
    await disposeDb();
  });

  describe.skipIf(backend.skipReason !== null)('create', () => {
    it('creates a collection with default rules, version 1, and shows it', async () => {
      const name = uniqueName('tasks').toLowerCase();
      const collection = await createOk({ name, schema: { ...SCHEMA, additionalProperties: false } });
      expect(collection).toMatchObject({
        name,
        schema: { ...SCHEMA, additionalProperties: false },
        rules: { list: 'authenticated', view: 'authenticated', create: 'authenticated', update: 'owner', delete: 'owner' },
        indexes: [],
        schemaVersion: 1,
      });
      expect(new Date(collection['createdAt'] as string).toISOString()).toBe(collection['createdAt']);
      const res = await get(name, admin.accessToken);
      expect(res.statusCode).toBe(200);
      expect(res.json<{ collection: unknown }>().collection).toEqual(collection);
    });

    it('merges partial rules over the defaults', async () => {
      const collection = await createOk({ name: uniqueName('c').toLowerCase(), schema: SCHEMA, rules: { list: 'public', delete: 'admin' } });
      expect(collection['rules']).toEqual({ list: 'public', view: 'authenticated', create: 'authenticated', update: 'owner', delete: 'admin' });
    });

    it.each(INVALID)('refuses %s with 400 and a detail at the offending path, creating nothing', async (_what, body, path) => {
      const name = uniqueName('bad').toLowerCase();
      const res = await create({ name, ...body });
      expectError(res, 400, 'validation_failed');
      const details = res.json<{ error: { details: { path: string; message: string }[] } }>().error.details;
      expect(details.map((d) => d.path)).toContain(path);
      expectError(await get(name, admin.accessToken), 404, 'not_found');
    });

    it.each(['Tasks', '1tasks', 'a-b', 'x'.repeat(64), '', '_x'])('refuses the name %j', async (name) => {
      const res = await create({ name, schema: SCHEMA });
      expectError(res, 400, 'validation_failed');
      expect(res.json<{ error: { details: { path: string }[] } }>().error.details[0]!.path).toBe('/name');
    });

    it('refuses a __proto__ field: the body is rejected before it reaches the core', async () => {
      const name = uniqueName('proto').toLowerCase();
      const payload = `{"name":"${name}","schema":{"type":"object","properties":{"__proto__":{"type":"string"}}}}`;
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: payload, headers: { 'content-type': 'application/json' } });
      expectError(res, 400, 'bad_request');
      expectError(await get(name, admin.accessToken), 404, 'not_found');
    });

    it('refuses a duplicate name with 409 conflict', async () => {
      const name = uniqueName('dup').toLowerCase();
      await createOk({ name, schema: SCHEMA });
      expectError(await create({ name, schema: SCHEMA }), 409, 'conflict');
    });

    it('accepts additionalProperties: false, local $refs and formats', async () => {
      await createOk({
        name: uniqueName('ok').toLowerCase(),
        schema: { type: 'object', additionalProperties: false, properties: { at: { $ref: '#/$defs/when' }, mail: { type: 'string', format: 'email' } }, $defs: { when: { type: 'string', format: 'date-time' } } },
      });
    });
  });

  describe.skipIf(backend.skipReason !== null)('who may do what', () => {
    it('lets only admins write: 401 without a token, 403 for a user', async () => {
      const name = uniqueName('guarded').toLowerCase();
      expectError(await t.request({ method: 'POST', url: '/api/collections', body: { name, schema: SCHEMA } }), 401, 'unauthorized');
      expectError(await t.request({ method: 'POST', url: '/api/collections', body: { name: 'Not Valid' } }), 401, 'unauthorized');
      expectError(await create({ name, schema: SCHEMA }, alice.accessToken), 403, 'forbidden');
      await createOk({ name, schema: SCHEMA });
      expectError(await t.request({ method: 'PUT', url: `/api/collections/${name}`, body: { rules: {} } }), 401, 'unauthorized');
      expectError(await put(name, { rules: { list: 'public' } }, '', alice.accessToken), 403, 'forbidden');
      expectError(await t.request({ method: 'DELETE', url: `/api/collections/${name}` }), 401, 'unauthorized');
      expectError(await t.request({ method: 'DELETE', url: `/api/collections/${name}`, token: alice.accessToken }), 403, 'forbidden');
      expect((await get(name, admin.accessToken)).statusCode).toBe(200);
    });

    it('lists what the caller could read: anonymous only public ones, users all but admin-only ones, admins everything', async () => {
      const p = uniqueName('vis').toLowerCase();
      const names = { pub: `${p}_pub`, listpub: `${p}_listpub`, viewpub: `${p}_viewpub`, auth: `${p}_auth`, own: `${p}_own`, adm: `${p}_adm` };
      await createOk({ name: names.pub, schema: SCHEMA, rules: { list: 'public', view: 'public' } });
      // Listing needs the view rule too: anonymous callers can read nothing of this one.
      await createOk({ name: names.listpub, schema: SCHEMA, rules: { list: 'public' } });
      await createOk({ name: names.viewpub, schema: SCHEMA, rules: { list: 'admin', view: 'public' } });
      await createOk({ name: names.auth, schema: SCHEMA });
      await createOk({ name: names.own, schema: SCHEMA, rules: { list: 'owner', view: 'owner' } });
      await createOk({ name: names.adm, schema: SCHEMA, rules: { list: 'admin', view: 'admin' } });
      const listed = async (token?: string): Promise<string[]> => {
        const res = await t.request({ method: 'GET', url: '/api/collections', token });
        expect(res.statusCode, res.body).toBe(200);
        return res.json<{ items: { name: string; schema: unknown; rules: unknown; indexes: unknown }[] }>().items.map((c) => c.name).filter((n) => n.startsWith(p));
      };
      expect(await listed()).toEqual([names.pub, names.viewpub].sort());
      expect(await listed(alice.accessToken)).toEqual([names.auth, names.listpub, names.own, names.pub, names.viewpub].sort());
      expect(await listed(admin.accessToken)).toEqual(Object.values(names).sort());
      // A collection you cannot see is not found, exactly like one that does not exist.
      expectError(await get(names.auth), 404, 'not_found');
      expectError(await get(names.listpub), 404, 'not_found');
      expectError(await get(names.adm, alice.accessToken), 404, 'not_found');
      expect((await get(names.pub)).statusCode).toBe(200);
      expect((await get(names.own, alice.accessToken)).statusCode).toBe(200);
    });
  });

  describe.skipIf(backend.skipReason !== null)('schema changes', () => {
    const strict = { type: 'object', required: ['title'], properties: { title: { type: 'string', maxLength: 3 }, done: { type: 'boolean' } } };

    it('refuses a change that existing records do not fit: 409 with the first 100 failures and a total, nothing changed', async () => {
      const name = uniqueName('conflict').toLowerCase();
      await createOk({ name, schema: SCHEMA });
      // 1,050 records over three scan batches; every tenth one has a title too long for the new schema.
      const records = Array.from({ length: 1050 }, (_, i): [string, JsonObject] => [`r${String(i).padStart(5, '0')}`, { title: i % 10 === 0 ? 'too long' : 'ok' }]);
      await insertRaw(name, records);
      const before = await allRecords(name);

      for (const query of ['', '?dryRun=true']) {
        const res = await put(name, { schema: strict, rules: { list: 'public' } }, query);
        expectError(res, 409, 'schema_conflict');
        const error = res.json<{ error: { message: string; details: { path: string; message: string }[]; report: { total: number; failures: { id: string; errors: { path: string; message: string }[] }[] } } }>().error;
        expect(error.report.total).toBe(105);
        expect(error.report.failures).toHaveLength(100);
        expect(error.report.failures.map((f) => f.id)).toEqual(records.filter((_, i) => i % 10 === 0).slice(0, 100).map(([id]) => id));
        expect(error.report.failures[0]!.errors).toEqual([{ path: '/title', message: 'must NOT have more than 3 characters' }]);
        expect(error.details[0]).toEqual({ path: '/records/r00000/title', message: 'must NOT have more than 3 characters' });
        expect(error.message).toContain('105');
      }

      const after = (await get(name, admin.accessToken)).json<{ collection: { schema: unknown; schemaVersion: number; rules: { list: string } } }>().collection;
      expect(after.schema).toEqual(SCHEMA);
      expect(after.schemaVersion).toBe(1);
      expect(after.rules.list).toBe('authenticated');
      expect(await allRecords(name)).toEqual(before);
    });

    it('dryRun reports a compatible change without applying it; the real change bumps schemaVersion', async () => {
      const name = uniqueName('compat').toLowerCase();
      await createOk({ name, schema: SCHEMA });
      await insertRaw(name, [['a', { title: 'abc' }], ['b', { title: 'x', done: true }]]);

      const dry = await put(name, { schema: strict }, '?dryRun=true');
      expect(dry.statusCode, dry.body).toBe(200);
      expect(dry.json()).toMatchObject({ collection: { name, schema: strict, schemaVersion: 2 }, report: { total: 0, failures: [] } });
      expect((await get(name, admin.accessToken)).json<{ collection: { schemaVersion: number } }>().collection.schemaVersion).toBe(1);

      const real = await put(name, { schema: strict });
      expect(real.statusCode, real.body).toBe(200);
      expect(real.json()).toEqual({ collection: expect.objectContaining({ schema: strict, schemaVersion: 2 }) as unknown });
      expect((await get(name, admin.accessToken)).json<{ collection: { schema: unknown; schemaVersion: number } }>().collection).toMatchObject({ schema: strict, schemaVersion: 2 });

      // The same schema with its keys in another order is no change; rules alone do not bump the version.
      const same = await put(name, { schema: { properties: strict.properties, required: ['title'], type: 'object' } });
      expect(same.json<{ collection: { schemaVersion: number } }>().collection.schemaVersion).toBe(2);
      const rules = await put(name, { rules: { list: 'public' } });
      expect(rules.json<{ collection: { schemaVersion: number; rules: { list: string; update: string } } }>().collection).toMatchObject({ schemaVersion: 2, rules: { list: 'public', update: 'owner' } });
    });

    it('checks an update like a create: an invalid schema or system field is 400, an unknown collection 404', async () => {
      const name = uniqueName('upd').toLowerCase();
      await createOk({ name, schema: SCHEMA });
      expectError(await put(name, { schema: { type: 'object', properties: { id: { type: 'string' } } } }), 400, 'validation_failed');
      expectError(await put(name, { indexes: [['no-good']] }), 400, 'validation_failed');
      expectError(await put(name, {}), 400, 'validation_failed');
      expectError(await put(name, { schema: SCHEMA }, '?dryRun=maybe'), 400, 'bad_request');
      expectError(await put('no_such_collection', { schema: SCHEMA }), 404, 'not_found');
    });
  });

  describe.skipIf(backend.skipReason !== null)('indexes and delete', () => {
    it('makes indexes real database indexes, and drops them when removed', async () => {
      const name = uniqueName('idx').toLowerCase();
      await createOk({ name, schema: SCHEMA, indexes: [['done', 'createdAt'], ['address.city']] });
      const created = await indexDefinitions(backend.name, dbUrl, name);
      expect(created.some((sql) => /done/.test(sql) && /created_?at/i.test(sql))).toBe(true);
      expect(created.some((sql) => /city/.test(sql))).toBe(true);

      const res = await put(name, { indexes: [['title']] });
      expect(res.json<{ collection: { indexes: unknown } }>().collection.indexes).toEqual([['title']]);
      const changed = await indexDefinitions(backend.name, dbUrl, name);
      expect(changed.some((sql) => /title/.test(sql))).toBe(true);
      expect(changed.some((sql) => /city/.test(sql))).toBe(false);
    });

    it('deletes a collection with its records (204), then it is gone', async () => {
      const name = uniqueName('gone').toLowerCase();
      await createOk({ name, schema: SCHEMA });
      await insertRaw(name, [['a', { title: 'x' }]]);
      const res = await t.request({ method: 'DELETE', url: `/api/collections/${name}`, token: admin.accessToken });
      expect(res.statusCode, res.body).toBe(204);
      expectError(await get(name, admin.accessToken), 404, 'not_found');
      expectError(await t.request({ method: 'DELETE', url: `/api/collections/${name}`, token: admin.accessToken }), 404, 'not_found');
      // Created again under the same name, it starts empty.
      await createOk({ name, schema: SCHEMA });
      expect(await allRecords(name)).toEqual([]);
    });
  });
});
