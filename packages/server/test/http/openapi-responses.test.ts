import addFormatsModule from 'ajv-formats';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';
import { createAdmin, register, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
interface Sent { readonly method: Method; readonly url: string; readonly res: LightMyRequestResponse }
interface ResponseObject { $ref?: string; content?: Record<string, { schema: unknown }>; headers?: Record<string, { required?: boolean }> }
interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components: { responses: Record<string, ResponseObject> };
}

const NOTES = { type: 'object', required: ['title'], additionalProperties: false, maxProperties: 2, properties: { title: { type: 'string' }, n: { type: 'integer' } } };
const pointer = (...segments: string[]): string => segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/**
 * Every response of a representative request set — success and error paths
 * of health, auth, users, collections and records — against the document the
 * server serves: the status is declared for the operation (not just
 * `default`), the body fits the declared schema (or is empty when none is
 * declared), required headers are there.
 */
describe.each(STORES)('every response fits the OpenAPI document, on $name', (backend) => {
  let t: TestSigil;
  let admin: Account;
  let user: Account;
  const sent: Sent[] = [];
  let doc: Doc;
  let disposeDb: () => Promise<void> = async () => undefined;

  async function send(method: Method, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
    const res = await t.request({ method, url, ...opts });
    sent.push({ method, url, res });
    return res;
  }

  beforeAll(async () => {
    if (backend.skipReason) return;
    const db = await createTestDatabaseUrl(backend.name);
    disposeDb = db.dispose;
    t = await startTestSigil({ databaseUrl: db.url, env: { AUTH_RATE_LIMIT_PER_USERNAME: '5/1m' } });
    admin = await createAdmin(t);
    user = await register(t);
    const a = { token: admin.accessToken };
    const u = { token: user.accessToken };

    await send('GET', '/api/health');
    await send('GET', '/api/openapi.json');

    // auth
    const fresh = (await send('POST', '/api/auth/register', { body: { username: 'resp_fresh', password: 'long enough 1' } })).json<{ refreshToken: string; accessToken: string }>();
    await send('POST', '/api/auth/register', { body: { username: 'resp_fresh', password: 'long enough 1' } });
    await send('POST', '/api/auth/register', { body: { username: 'x', password: 'short' } });
    await send('POST', '/api/auth/login', { body: { username: 'resp_fresh', password: 'long enough 1' } });
    await send('POST', '/api/auth/login', { body: { username: 'resp_fresh' } });
    await send('POST', '/api/auth/login', { body: 'username=a', headers: { 'content-type': 'text/plain' } });
    await send('POST', '/api/auth/login', { body: '{"username":', headers: { 'content-type': 'application/json' } });
    for (let i = 0; i < 6; i++) await send('POST', '/api/auth/login', { body: { username: 'resp_locked', password: 'wrong password' } });
    const rotated = (await send('POST', '/api/auth/refresh', { body: { refreshToken: fresh.refreshToken } })).json<{ refreshToken: string }>();
    await send('POST', '/api/auth/refresh', { body: { refreshToken: 'not-a-token' } });
    await send('POST', '/api/auth/logout', { body: { refreshToken: rotated.refreshToken } });
    await send('GET', '/api/auth/me', u);
    await send('GET', '/api/auth/me');
    await send('GET', '/api/auth/me', { token: 'not.a.jwt' });

    // users
    await send('GET', '/api/users?limit=1', a);
    await send('GET', '/api/users?limit=abc', a);
    await send('GET', '/api/users', u);
    await send('GET', `/api/users/${user.username}`, u);
    await send('GET', `/api/users/${admin.username}`, u);
    await send('GET', '/api/users/nobody_here', a);
    await send('PATCH', `/api/users/${user.username}`, { ...u, body: { email: 'u@example.com' } });
    await send('PATCH', `/api/users/${user.username}`, { ...a, body: { emailVerified: true } });

    // email verification (the test environment logs its mails)
    await send('POST', '/api/auth/verify-email', { body: { token: 'A'.repeat(43) } });
    await send('POST', '/api/auth/verify-email', { body: {} });
    await send('POST', '/api/auth/resend-verification', u);
    await send('POST', '/api/auth/resend-verification', { body: { email: 'nobody@example.com' } });
    await send('POST', '/api/auth/resend-verification', { body: {} });
    await send('POST', `/api/users/${user.username}/resend-verification`, a);
    await send('POST', `/api/users/${user.username}/resend-verification`, u);
    await send('POST', '/api/users/nobody_here/resend-verification', a);
    await send('PATCH', `/api/users/${user.username}`, { ...u, body: { role: 'admin' } });
    await send('PATCH', `/api/users/${user.username}`, { ...u, body: {} });
    await send('PATCH', `/api/users/${admin.username}`, { ...a, body: { role: 'user' } });
    await send('DELETE', `/api/users/${admin.username}`, a);
    await send('DELETE', '/api/users/resp_fresh', a);

    // collections
    await send('POST', '/api/collections', { ...a, body: { name: 'notes', schema: NOTES } });
    await send('POST', '/api/collections', { ...a, body: { name: 'notes', schema: NOTES } });
    await send('POST', '/api/collections', { ...a, body: { name: 'bad', schema: { type: 'object', properties: { id: {} } } } });
    await send('POST', '/api/collections', { ...u, body: { name: 'mine', schema: NOTES } });
    await send('POST', '/api/collections', { body: { name: 'mine', schema: NOTES } });
    await send('POST', '/api/collections', { ...a, body: { name: 'ruled', schema: NOTES, rules: { list: 'public', view: { $or: [{ owner: '@auth.id' }, { n: { $gte: 1 } }] } } } });
    await send('POST', '/api/collections', { ...a, body: { name: 'misruled', schema: NOTES, rules: { view: { owner: '@auth.email' } } } });
    await send('GET', '/api/collections/ruled', a);
    await send('GET', '/api/collections', u);
    await send('GET', '/api/collections', a);
    await send('GET', '/api/collections/notes', u);
    await send('GET', '/api/collections/nothing', a);
    await send('POST', '/api/collections', { ...a, body: { name: 'gone', schema: { type: 'object' } } });
    await send('DELETE', '/api/collections/gone', a);

    // records
    const base = '/api/collections/notes/records';
    const created = (await send('POST', base, { ...u, body: { title: 'one' } })).json<{ id: string }>();
    await send('POST', base, { ...u, body: { id: 'client_1', title: 'two', n: 2 } });
    await send('POST', base, { ...u, body: { id: 'client_1', title: 'again' } });
    await send('POST', base, { ...u, body: { title: 3 } });
    await send('POST', base, { ...u, body: { title: 'x'.repeat(1024 * 1024 + 10) } });
    await send('POST', base, { body: { title: 'anonymous' } });
    await send('GET', `${base}?limit=1`, u);
    await send('GET', `${base}?filter=${encodeURIComponent('{"title":{"$regex":"x"}}')}`, u);
    await send('GET', `${base}?limit=0`, u);
    await send('GET', base);
    const got = await send('GET', `${base}/${created.id}`, u);
    await send('GET', `${base}/${created.id}`, { ...u, headers: { 'if-none-match': got.headers['etag'] as string } });
    await send('GET', `${base}/missing`, u);
    await send('PATCH', `${base}/${created.id}`, { ...u, body: { n: 5 } });
    await send('PATCH', `${base}/${created.id}`, { ...u, body: { n: 6 }, headers: { 'if-match': '"1"' } });
    await send('PATCH', `${base}/${created.id}`, { ...u, body: { title: null } });
    await send('PATCH', `${base}/client_1`, { token: fresh.accessToken, body: { n: 7 } });
    await send('PUT', `${base}/${created.id}`, { ...u, body: { title: 'replaced' } });
    await send('PUT', `${base}/${created.id}`, { ...u, body: { title: 'replaced', n: 1, extra: true } });
    await send('DELETE', `${base}/client_1`, { ...u, headers: { 'if-match': '"9"' } });
    await send('DELETE', `${base}/client_1`, u);

    // expand: every answer with related records fits the document too
    await send('POST', '/api/collections', { ...a, body: { name: 'linked', schema: { type: 'object', properties: { note: { type: 'string', 'x-relation': { collection: 'notes' } }, notes: { type: 'array', items: { type: 'string' }, 'x-relation': { collection: 'notes' } }, by: { type: 'string', 'x-relation': { collection: 'users' } } } } } });
    const linked = (await send('POST', '/api/collections/linked/records', { ...u, body: { note: created.id, notes: [created.id], by: user.id } })).json<{ id: string }>();
    await send('GET', `/api/collections/linked/records/${linked.id}?expand=note,notes,by`, u);
    const expandedGet = await send('GET', `/api/collections/linked/records/${linked.id}?expand=note`, u);
    await send('GET', `/api/collections/linked/records/${linked.id}?expand=note`, { ...u, headers: { 'if-none-match': expandedGet.headers['etag'] as string } });
    await send('GET', '/api/collections/linked/records?expand=note,by', u);
    await send('GET', `${base}/${created.id}?expand=linked_via_note,linked_via_notes.by`, u);
    await send('GET', `${base}?expand=linked_via_note`, u);
    await send('GET', `${base}/${created.id}?expand=nope`, u);
    await send('GET', `${base}?expand=nope`, u);

    // batches
    await send('POST', '/api/batch', { ...u, body: { operations: [{ op: 'create', collection: 'notes', record: { id: 'batch_1', title: 'b' } }, { op: 'update', collection: 'notes', id: 'batch_1', patch: { n: 1 } }, { op: 'replace', collection: 'notes', id: 'batch_1', record: { title: 'c' } }, { op: 'delete', collection: 'notes', id: 'batch_1', ifMatch: '"3"' }] } });
    await send('POST', '/api/batch', { ...u, body: { operations: [{ op: 'create', collection: 'notes', record: { title: 4 } }] } });
    await send('POST', '/api/batch', { ...u, body: { operations: [{ op: 'upsert', collection: 'notes' }] } });
    await send('POST', '/api/batch', { body: { operations: [{ op: 'create', collection: 'notes', record: { title: 'anonymous' } }] } });
    await send('POST', '/api/batch', { ...u, body: { operations: [{ op: 'delete', collection: 'nothing', id: 'x' }] } });
    await send('POST', '/api/batch', { ...u, body: { operations: [{ op: 'delete', collection: 'notes', id: created.id, ifMatch: '"99"' }] } });
    await send('POST', '/api/batch', { ...u, body: { operations: [{ op: 'create', collection: 'notes', record: { id: 'client_dup', title: 'a' } }, { op: 'create', collection: 'notes', record: { id: 'client_dup', title: 'b' } }] } });
    await send('POST', '/api/batch', { token: fresh.accessToken, body: { operations: [{ op: 'update', collection: 'notes', id: created.id, patch: { n: 1 } }] } });

    // A schema change the records do not fit: checked, reported, refused.
    await send('PUT', '/api/collections/notes?dryRun=true', { ...a, body: { schema: { ...NOTES, required: ['title', 'n'] } } });
    await send('PUT', '/api/collections/notes', { ...a, body: { schema: { ...NOTES, required: ['title', 'n'] } } });
    await send('PUT', '/api/collections/notes', { ...a, body: { rules: { list: 'authenticated' } } });

    doc = (await t.request({ method: 'GET', url: '/api/openapi.json', token: admin.accessToken })).json<Doc>();
    // Last: the database goes away for real.
    await t.sigil.store.close();
    await send('GET', '/api/health');
    await send('GET', `${base}/${created.id}`, u);
  });
  afterAll(async () => {
    await t?.close();
    await disposeDb();
  });

  it.skipIf(backend.skipReason !== null)('covers success and error statuses', () => {
    const statuses = new Set(sent.map((s) => s.res.statusCode));
    for (const status of [200, 201, 204, 304, 400, 401, 403, 404, 409, 412, 413, 415, 429, 503]) expect(statuses, `a ${status}`).toContain(status);
  });

  it.skipIf(backend.skipReason !== null)('finds 0 violations', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormatsModule.default(ajv);
    ajv.addSchema(doc, 'doc');
    const compiled = new Map<string, ValidateFunction>();
    const validatorAt = (at: string): ValidateFunction => {
      let v = compiled.get(at);
      if (!v) compiled.set(at, (v = ajv.compile({ $ref: `doc#/${at}` })));
      return v;
    };
    const templates = Object.keys(doc.paths).map((template) => ({ template, re: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`) }));

    const violations: string[] = [];
    for (const { method, url, res } of sent) {
      const what = `${method} ${url.slice(0, 80)} → ${res.statusCode}`;
      const path = url.split('?')[0]!;
      // A literal path (records of one collection) wins over a template ({name}).
      const match = templates.find((p) => p.template === path) ?? templates.find((p) => p.re.test(path));
      const operation = match && doc.paths[match.template]![method.toLowerCase()];
      if (!match || !operation) {
        violations.push(`${what}: no such operation in the document`);
        continue;
      }
      let declared = operation.responses[String(res.statusCode)];
      let at = pointer('paths', match.template, method.toLowerCase(), 'responses', String(res.statusCode));
      if (!declared) {
        violations.push(`${what}: status not declared`);
        continue;
      }
      if (declared.$ref) {
        at = declared.$ref.slice(2);
        declared = doc.components.responses[declared.$ref.split('/').pop()!]!;
      }
      for (const [name, header] of Object.entries(declared.headers ?? {})) {
        if (header.required && res.headers[name.toLowerCase()] === undefined) violations.push(`${what}: no ${name} header`);
      }
      if (!declared.content) {
        if (res.body !== '') violations.push(`${what}: a body where none is declared`);
        continue;
      }
      if (!String(res.headers['content-type']).startsWith('application/json')) {
        violations.push(`${what}: content-type ${String(res.headers['content-type'])}`);
        continue;
      }
      const validate = validatorAt(`${at}/${pointer('content', 'application/json', 'schema')}`);
      if (!validate(res.json())) violations.push(`${what}: ${ajv.errorsText(validate.errors)} in ${res.body.slice(0, 200)}`);
    }
    expect(violations).toEqual([]);
    expect(sent.length).toBeGreaterThan(60);
  });
});
