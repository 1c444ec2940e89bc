import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/open-store.js';
import { runCli } from '../helpers/server-process.js';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

const TASKS = {
  name: 'tasks',
  schema: {
    type: 'object',
    required: ['title'],
    additionalProperties: false,
    properties: {
      title: { type: 'string', minLength: 1 },
      done: { type: 'boolean' },
      priority: { enum: [1, 2, 3] },
      tags: { type: 'array', items: { type: 'string' } },
      status: { oneOf: [{ const: 'open' }, { const: 'closed' }] },
      meta: { type: 'object', additionalProperties: { type: 'number' } },
    },
  },
  rules: { list: 'public', view: 'public' },
  indexes: [['done', 'createdAt']],
};
const NOTES = { name: 'notes', schema: { type: 'object', properties: { body: { type: 'string' } } } };

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-cli-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const writeJson = (path: string, value: unknown): void => writeFileSync(path, JSON.stringify(value, null, 2));

describe.each(STORES)('sigil apply and typegen on $name', (backend) => {
  async function setup(): Promise<{ cwd: string; dir: string; env: Record<string, string>; dispose: () => Promise<void> }> {
    const cwd = tempDir();
    const db = await createTestDatabaseUrl(backend.name);
    const dir = join(cwd, 'collections');
    mkdirSync(dir);
    return { cwd, dir, env: { NODE_ENV: 'development', DATABASE_URL: db.url, SIGIL_DATA_DIR: join(cwd, 'data') }, dispose: db.dispose };
  }

  it.skipIf(backend.skipReason !== null)('applies collections that reference each other in any file order, dry run included, and checks existing references', async () => {
    const { cwd, dir, env, dispose } = await setup();
    try {
      const relation = (collection: string) => ({ type: 'string', 'x-relation': { collection } });
      writeJson(join(dir, '10-comments.json'), { name: 'comments', schema: { type: 'object', properties: { post: relation('posts'), author: relation('users'), parent: relation('comments') } } });
      writeJson(join(dir, '20-posts.json'), { name: 'posts', schema: { type: 'object', properties: { title: { type: 'string' } } } });
      const apply = (...extra: string[]) => runCli(['apply', dir, ...extra], { cwd, env });
      const dry = await apply('--dry-run');
      expect(dry.stderr).toBe('');
      expect(dry.stdout).toBe('posts: created (schema version 1)\ncomments: created (schema version 1)\n');
      const first = await apply();
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe('posts: created (schema version 1)\ncomments: created (schema version 1)\n');

      // A record written around the API with a dangling value: a relation added later reports it.
      const store = await openStore({ databaseUrl: env['DATABASE_URL'], dataDir: env['SIGIL_DATA_DIR']! });
      const now = new Date().toISOString();
      await store.records.insertRecord('posts', { id: 'p1', owner: null, version: 1, createdAt: now, updatedAt: now, data: { title: 't', cover: 'gone' } });
      await store.close();
      writeJson(join(dir, '20-posts.json'), { name: 'posts', schema: { type: 'object', properties: { title: { type: 'string' }, cover: relation('posts') } } });
      const refused = await apply();
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('posts: failed: schema_conflict');
      expect(refused.stdout).toContain('p1 /cover names "gone"');

      // Missing targets are named.
      writeJson(join(dir, '30-bad.json'), { name: 'bad', schema: { type: 'object', properties: { x: relation('nowhere') } } });
      expect((await apply()).stdout).toContain('bad: failed: validation_failed: The collection is invalid. /schema/properties/x/x-relation/collection names no collection ("nowhere")');
    } finally {
      await dispose();
    }
  });

  it.skipIf(backend.skipReason !== null)('applies a directory: created, unchanged, updated; a conflicting change fails with the report and changes nothing', async () => {
    const { cwd, dir, env, dispose } = await setup();
    try {
      writeJson(join(dir, '10-tasks.json'), TASKS);
      writeJson(join(dir, '20-notes.json'), NOTES);
      writeFileSync(join(dir, 'README.md'), 'not a collection');
      const apply = (...extra: string[]) => runCli(['apply', dir, ...extra], { cwd, env });

      const first = await apply();
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toBe('tasks: created (schema version 1)\nnotes: created (schema version 1)\n');

      expect((await apply()).stdout).toBe('tasks: unchanged\nnotes: unchanged\n');

      writeJson(join(dir, '20-notes.json'), { ...NOTES, schema: { ...NOTES.schema, properties: { ...NOTES.schema.properties, pinned: { type: 'boolean' } } } });
      const second = await apply();
      expect(second.code).toBe(0);
      expect(second.stdout).toBe('tasks: unchanged\nnotes: updated (schema version 2)\n');

      // A record the new tasks schema rejects (it requires priority).
      const store = await openStore({ databaseUrl: env['DATABASE_URL'], dataDir: env['SIGIL_DATA_DIR']! });
      const now = new Date().toISOString();
      await store.records.insertRecord('tasks', { id: 'task_1', owner: null, version: 1, createdAt: now, updatedAt: now, data: { title: 'write tests' } });
      await store.close();

      const stricter = { ...TASKS, schema: { ...TASKS.schema, required: ['title', 'priority'] } };
      writeJson(join(dir, '10-tasks.json'), stricter);
      for (const flags of [['--dry-run'], []]) {
        const failed = await apply(...flags);
        expect(failed.code).toBe(1);
        const lines = failed.stdout.trim().split('\n');
        expect(lines[0]).toMatch(/^tasks: failed: schema_conflict: 1 existing record does not match .*task_1 \/priority must have required property 'priority'/);
        expect(lines[1]).toBe('notes: unchanged');
        expect(failed.stderr).toContain('1 of 2');
      }

      // The dry run checks a new collection without creating it; a broken file fails alone.
      writeJson(join(dir, '10-tasks.json'), TASKS);
      writeJson(join(dir, '30-extra.json'), { name: 'extra', schema: { type: 'object' } });
      writeFileSync(join(dir, '40-broken.json'), '{ "name": ');
      // Ajv ignores a __proto__ property schema, so it would check nothing: refused.
      writeFileSync(join(dir, '50-proto.json'), '{"name": "proto", "schema": {"type": "object", "properties": {"__proto__": {"type": "string"}}}}');
      const dry = await apply('--dry-run');
      expect(dry.stdout).toMatch(/^tasks: unchanged\nnotes: unchanged\nextra: created \(schema version 1\)\n40-broken\.json: failed: not a readable JSON file/);
      expect(dry.stdout).toContain('proto: failed: validation_failed: The collection is invalid. /schema/properties/__proto__ is not a usable field name');
      expect(dry.code).toBe(1);
      expect(dry.stderr).toContain('2 of 5');

      const check = await openStore({ databaseUrl: env['DATABASE_URL'], dataDir: env['SIGIL_DATA_DIR']! });
      try {
        const tasks = await check.collections.findCollection('tasks');
        expect(tasks).toMatchObject({ schema: TASKS.schema, schemaVersion: 1, rules: { list: 'public', view: 'public', update: 'owner' }, indexes: TASKS.indexes });
        expect(await check.collections.findCollection('extra')).toBeNull();
        expect((await check.records.findRecord('tasks', 'task_1'))?.data).toEqual({ title: 'write tests' });
      } finally {
        await check.close();
      }

      const usage = await runCli(['apply'], { cwd, env });
      expect(usage.code).toBe(1);
      expect(usage.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await dispose();
    }
  });

  it.skipIf(backend.skipReason !== null)('typegen --out writes types that compile, and that catch a wrong field type', async () => {
    const { cwd, dir, env, dispose } = await setup();
    try {
      writeJson(join(dir, 'tasks.json'), TASKS);
      writeJson(join(dir, 'notes.json'), NOTES);
      expect((await runCli(['apply', dir], { cwd, env })).code).toBe(0);

      const out = join(cwd, 'types', 'sigil-types.ts');
      const generated = await runCli(['typegen', '--out', out], { cwd, env });
      expect(generated.stderr).toBe('');
      expect(generated.code).toBe(0);
      expect(generated.stdout).toContain('2 collection(s)');
      const printed = await runCli(['typegen'], { cwd, env });
      expect(printed.stdout).toBe(readFileSync(out, 'utf8'));

      writeFileSync(
        join(cwd, 'types', 'usage.ts'),
        `import type { CollectionInputs, CollectionName, Collections, NotesRecord, TasksFields } from './sigil-types.js';

const fields: TasksFields = { title: 'ship it', done: false, priority: 2, tags: ['a'], status: 'open', meta: { score: 1 } };
const record: Collections['tasks'] = { ...fields, id: '01J', createdAt: '', updatedAt: '', owner: null, version: 1 };
const note: NotesRecord = { id: 'n', createdAt: '', updatedAt: '', owner: 'u1', version: 3, body: 'hi', anything: 'goes' };
const input: CollectionInputs['notes'] = { body: 'x' };
const name: CollectionName = 'notes';
// @ts-expect-error title is a string
const wrongType: TasksFields = { title: 42 };
// @ts-expect-error title is required
const missing: TasksFields = { done: true };
// @ts-expect-error priority is 1, 2 or 3
const wrongEnum: TasksFields = { title: 'x', priority: 7 };
// @ts-expect-error additionalProperties is false
const unknownField: TasksFields = { title: 'x', colour: 'red' };
// @ts-expect-error meta values are numbers
const wrongMeta: TasksFields = { title: 'x', meta: { score: 'high' } };
// @ts-expect-error the server sets version, a number
const wrongSystem: Collections['tasks'] = { ...fields, id: '01J', createdAt: '', updatedAt: '', owner: null, version: '1' };
// @ts-expect-error no such collection
const nope: CollectionName = 'nope';
export { fields, record, note, input, name, wrongType, missing, wrongEnum, unknownField, wrongMeta, wrongSystem, nope };
`,
      );
      // Run where no node_modules/@types is in reach: only the two files are compiled.
      const tsc = spawnSync(process.execPath, [TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'usage.ts'], {
        cwd: join(cwd, 'types'),
        encoding: 'utf8',
      });
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.status).toBe(0);
    } finally {
      await dispose();
    }
  });
});
