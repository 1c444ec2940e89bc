import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RULESET = fileURLToPath(new URL('../fixtures/spectral-oas.yaml', import.meta.url));

/** Collections using what generators stumble on: $defs, nested objects, arrays, enums, oneOf, recursion, whole-object keywords. */
const COLLECTIONS = {
  posts: { type: 'object', properties: { title: { type: 'string' }, author: { type: 'string', 'x-relation': { collection: 'users' } } } },
  comments: {
    type: 'object',
    properties: { text: { type: 'string' }, post: { type: 'string', 'x-relation': { collection: 'posts', onDelete: 'cascade' } }, tags: { type: 'array', items: { type: 'string' }, 'x-relation': { collection: 'posts' } } },
  },
  tasks: {
    type: 'object',
    required: ['title'],
    additionalProperties: false,
    properties: {
      title: { type: 'string', minLength: 1 },
      priority: { enum: [1, 2, 3] },
      due: { $ref: '#/$defs/date' },
      address: { type: 'object', required: ['city'], properties: { city: { type: 'string' }, zip: { type: 'string' } } },
      tags: { type: 'array', items: { type: 'string' } },
      assignee: { oneOf: [{ $ref: '#/$defs/person' }, { type: 'null' }] },
      subtasks: { type: 'array', items: { $ref: '#' } },
    },
    $defs: {
      date: { type: 'string', format: 'date' },
      person: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, role: { type: 'string', enum: ['dev', 'ops'] } } },
    },
  },
  notes: {
    type: 'object',
    propertyNames: { pattern: '^[a-z]+$' },
    maxProperties: 3,
    properties: { text: { type: 'string' }, kind: { oneOf: [{ const: 'memo' }, { const: 'todo' }] } },
    if: { required: ['kind'] },
    then: { required: ['text'] },
  },
};

/** Uses the generated types as an app would; every `@ts-expect-error` proves the types are not loose. */
const PROGRAM = `
import createClient from 'openapi-fetch';
import type { components, paths } from './sigil-api.js';

type Task = components['schemas']['Record_tasks'];

export async function main(token: string): Promise<void> {
  const sigil = createClient<paths>({ baseUrl: 'http://127.0.0.1:8090', headers: { authorization: \`Bearer \${token}\` } });

  const created = await sigil.POST('/api/collections/tasks/records', {
    body: { id: 'task-1', title: 'Write docs', priority: 2, due: '2026-01-02', address: { city: 'Lyon' }, tags: ['docs'], assignee: { name: 'Ada', role: 'dev' }, subtasks: [{ title: 'Outline' }] },
  });
  if (created.error) {
    const code: string = created.error.error.code;
    console.log(code);
    return;
  }
  const task: Task = created.data;
  const id: string = task.id;
  const version: number = task.version;
  const owner: string | null = task.owner;
  const title: string = task.title;
  const city: string | undefined = task.address?.city;
  const firstSubtask: string | undefined = task.subtasks?.[0]?.title;
  console.log(id, version, owner, title, city, firstSubtask);

  const patched = await sigil.PATCH('/api/collections/tasks/records/{id}', {
    params: { path: { id }, header: { 'If-Match': \`"\${version}"\` } },
    body: { title: 'Write more docs', due: null, assignee: null },
  });
  if (patched.data) console.log(patched.data.version);

  const listed = await sigil.GET('/api/collections/tasks/records', { params: { query: { filter: JSON.stringify({ priority: { $gte: 2 } }), sort: '-createdAt', limit: 10 } } });
  if (listed.data) {
    for (const t of listed.data.items) {
      const priority: 1 | 2 | 3 | undefined = t.priority;
      console.log(priority);
    }
    const next: string | null = listed.data.nextCursor;
    const seq: number = listed.data.seq;
    console.log(next, seq);
  }

  const got = await sigil.GET('/api/collections/tasks/records/{id}', { params: { path: { id } } });
  if (got.data) console.log(got.data.tags?.join(','));

  const note = await sigil.POST('/api/collections/notes/records', { body: { text: 'hi', kind: 'memo' } });
  if (note.data) console.log(note.data.kind, note.data.createdAt);
  await sigil.PATCH('/api/collections/notes/records/{id}', { params: { path: { id: 'n1' } }, body: { kind: 'todo' } });

  const withRelated = await sigil.GET('/api/collections/comments/records/{id}', { params: { path: { id: 'c1' }, query: { expand: 'post,post.author,tags' } } });
  if (withRelated.data && 'expand' in withRelated.data) console.log(withRelated.data.expand.tags?.length, withRelated.data.expand.post?.id);
  const back: components['schemas']['Expand_posts'] = { comments_via_post: [], comments_via_tags: [] };
  const author: components['schemas']['ExpandedUser'] = { id: 'u1', username: 'ann' };
  console.log(back, author);
  // @ts-expect-error users expand to id and username only
  const leaky: components['schemas']['ExpandedUser'] = { id: 'u1', username: 'ann', email: 'a@example.com' };
  console.log(leaky);
  // @ts-expect-error title is a string
  await sigil.POST('/api/collections/tasks/records', { body: { title: 3 } });
  // @ts-expect-error title is required on create
  await sigil.POST('/api/collections/tasks/records', { body: { priority: 1 } });
  // @ts-expect-error priority is 1, 2 or 3
  await sigil.PATCH('/api/collections/tasks/records/{id}', { params: { path: { id } }, body: { priority: 4 } });
  await sigil.PUT('/api/collections/tasks/records/{id}', { params: { path: { id } }, body: { title: 'Replaced' } });
  // (openapi-fetch's body parameter does not check excess properties, so this one is checked on the type itself.)
  // @ts-expect-error tasks has no other fields (additionalProperties: false)
  const extra: components['schemas']['RecordInput_tasks'] = { title: 'x', surprise: true };
  console.log(extra);
  // @ts-expect-error kind is memo or todo
  await sigil.POST('/api/collections/notes/records', { body: { kind: 'other' } });
}
`;

describe('real tools on the OpenAPI document', () => {
  let t: TestSigil;
  let doc: Parameters<typeof openapiTS>[0];
  let dir: string;

  beforeAll(async () => {
    t = await startTestSigil();
    const admin = await createAdmin(t);
    for (const [name, schema] of Object.entries(COLLECTIONS)) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema } });
      expect(res.statusCode, res.body).toBe(201);
    }
    doc = (await t.request({ method: 'GET', url: '/api/openapi.json', token: admin.accessToken })).json();
    // Inside the repository, so that the program resolves openapi-fetch from its node_modules.
    mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
    dir = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'sigil-openapi-'));
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
  });
  afterAll(async () => {
    await t?.close();
    if (dir && !process.env["KEEP_OPENAPI_TMP"]) rmSync(dir, { recursive: true, force: true });
  });

  it('spectral with spectral:oas: 0 errors, 0 warnings', async () => {
    const run = promisify(execFile);
    const spectral = join(ROOT, 'node_modules', '.bin', 'spectral');
    // Exit status 1 means "problems found"; the JSON report says which.
    // Beside the document: the ruleset's file patterns are relative to where it lies.
    copyFileSync(RULESET, join(dir, '.spectral.yaml'));
    const { stdout } = await run(spectral, ['lint', join(dir, 'openapi.json'), '--ruleset', join(dir, '.spectral.yaml'), '--format', 'json', '--fail-severity', 'hint', '--quiet'], { cwd: ROOT }).catch((err: unknown) => ({ stdout: (err as { stdout?: string }).stdout ?? '' }));
    const problems = JSON.parse(stdout === '' ? '[]' : stdout) as { code: string; message: string; path: string[] }[];
    expect(problems.map((p) => `${p.code} at ${p.path.join('.')}: ${p.message}`)).toEqual([]);
  }, 60_000);

  it('openapi-typescript types compile with an openapi-fetch program under tsc --strict', async () => {
    const types = astToString(await openapiTS(doc));
    writeFileSync(join(dir, 'sigil-api.ts'), types);
    writeFileSync(join(dir, 'main.ts'), PROGRAM);
    const program = ts.createProgram([join(dir, 'main.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      skipLibCheck: true,
      types: [],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(diagnostics, types).toEqual([]);
  }, 60_000);
});
