import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/open-store.js';
import { runCli } from '../helpers/server-process.js';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';

// `sigil apply` reads collection files without going through HTTP: the same
// unstorable text must be refused there, on both engines alike (PostgreSQL
// used to fail on it, SQLite stored it).
describe.each(STORES)('sigil apply with unstorable text on $name', (backend) => {
  const cwd = mkdtempSync(join(tmpdir(), 'sigil-apply-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it.skipIf(backend.skipReason !== null)('fails that file with validation_failed and creates nothing', async () => {
    const db = await createTestDatabaseUrl(backend.name);
    try {
      const dir = join(cwd, `collections-${backend.name}`);
      mkdirSync(dir);
      // Raw JSON text: a lone surrogate and a NUL escape, as a file can hold them.
      writeFileSync(join(dir, 'odd.json'), '{"name":"odd","schema":{"type":"object","description":"\\ud800"}}');
      writeFileSync(join(dir, 'nul.json'), '{"name":"nul","schema":{"type":"object","properties":{"a\\u0000":{"type":"string"}}}}');
      const env = { NODE_ENV: 'development', DATABASE_URL: db.url, SIGIL_DATA_DIR: join(cwd, `data-${backend.name}`) };
      const result = await runCli(['apply', dir], { cwd, env });
      expect(result.code, result.stderr).toBe(1);
      const output = `${result.stdout}${result.stderr}`;
      expect(output).toMatch(/odd: failed: validation_failed/);
      expect(output).toMatch(/nul: failed: validation_failed/);
      const store = await openStore({ databaseUrl: db.url, dataDir: cwd });
      try {
        expect(await store.collections.findCollection('odd')).toBeNull();
        expect(await store.collections.findCollection('nul')).toBeNull();
      } finally {
        await store.close();
      }
    } finally {
      await db.dispose();
    }
  });
});
