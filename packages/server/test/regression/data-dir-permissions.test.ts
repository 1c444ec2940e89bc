import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { readOrCreateDevSecret } from '../../src/config/dev-secret.js';
import { startServerProcess } from '../helpers/server-process.js';

// The data directory holds password hashes, emails, records and the dev JWT
// secret; under the usual umask 022 it was created 0755 with 0644 files.
describe('the SQLite data directory and its files are private to the server user', () => {
  let root: string;
  let previousUmask: number;
  beforeAll(() => {
    previousUmask = process.umask(0o022);
    root = mkdtempSync(join(tmpdir(), 'sigil-perm-'));
  });
  afterAll(() => {
    process.umask(previousUmask);
    rmSync(root, { recursive: true, force: true });
  });
  const mode = (path: string): number => statSync(path).mode & 0o777;

  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function writeSome(filename: string): Promise<void> {
    const store = await openSqliteStore({ filename });
    try {
      await store.users.insertUser({ id: 'u1', username: 'perm_user', email: 'a@b.co', passwordHash: 'h', role: 'user', createdAt: new Date().toISOString() });
      expect(existsSync(`${filename}-wal`)).toBe(true);
      expect(existsSync(`${filename}-shm`)).toBe(true);
      for (const suffix of ['', '-wal', '-shm']) expect({ file: suffix, mode: mode(`${filename}${suffix}`).toString(8) }).toEqual({ file: suffix, mode: '600' });
    } finally {
      await store.close();
    }
  }

  it('creates a missing directory 0700 and the database, -wal and -shm files 0600', async () => {
    const dir = join(root, 'fresh', 'data');
    dirs.push(join(root, 'fresh'));
    await writeSome(join(dir, 'sigil.db'));
    expect(mode(dir).toString(8)).toBe('700');
  });

  it('tightens an existing world-readable database and its journal files', async () => {
    const dir = join(root, 'old');
    dirs.push(dir);
    const filename = join(dir, 'sigil.db');
    // A database made by an earlier version: 0644 everywhere.
    await (await openSqliteStore({ filename })).close();
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(`${filename}${suffix}`)) chmodSync(`${filename}${suffix}`, 0o644);
    writeFileSync(`${filename}-journal`, '');
    chmodSync(`${filename}-journal`, 0o644);
    await writeSome(filename);
    expect(mode(`${filename}-journal`).toString(8)).toBe('600');
  });

  it('creates the development JWT secret 0600 in a 0700 directory, and tightens an existing one', () => {
    const dir = join(root, 'secret');
    dirs.push(dir);
    const { secret } = readOrCreateDevSecret(dir);
    expect(mode(dir).toString(8)).toBe('700');
    expect(mode(join(dir, 'jwt-secret')).toString(8)).toBe('600');
    chmodSync(join(dir, 'jwt-secret'), 0o644);
    expect(readOrCreateDevSecret(dir)).toEqual({ secret, created: false });
    expect(mode(join(dir, 'jwt-secret')).toString(8)).toBe('600');
  });

  it('holds for the built server started in production (umask 022 inherited)', async () => {
    const cwd = join(root, 'prod');
    dirs.push(cwd);
    const dataDir = join(cwd, 'data');
    const env = { NODE_ENV: 'production', JWT_SECRET: 'perm-Vb7Qk2Lx9Pz4Rt8Wm1Nc6Hy3Fj5Dg0Sa', SIGIL_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    mkdirSync(cwd);
    const server = await startServerProcess({ env, cwd });
    try {
      const res = await fetch(`${server.url}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'perm_prod', password: 'long enough pw' }),
      });
      expect(res.status).toBe(201);
      expect(mode(dataDir).toString(8)).toBe('700');
      for (const suffix of ['', '-wal', '-shm']) expect({ file: suffix, mode: mode(join(dataDir, `sigil.db${suffix}`)).toString(8) }).toEqual({ file: suffix, mode: '600' });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
