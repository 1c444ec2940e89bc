import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/core/auth/password.js';
import { AppError } from '../../src/core/errors.js';
import { runCli } from '../helpers/server-process.js';
import { CHEAP_ARGON2, expectError, register, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

// `root.`, `.root` and `root_` all looked like the admin `root` in a list of users.
const CONFUSABLE = ['root.', '.root', 'root_', '_root', '-root', 'root-', 'ro..ot', 'ro._ot', 'ro-_ot', 'a__b', 'a--b', '...', '_._'];
const FINE = ['root', 'ro.ot', 'ro_ot', 'ro-ot', 'a.b.c', 'a_b-c.d', '007', 'x1-2_3.4'];

describe('usernames that differ from another only by punctuation are refused', () => {
  let t: TestSigil;
  beforeAll(async () => {
    t = await startTestSigil();
  });
  afterAll(() => t.close());

  it.each(CONFUSABLE)('register refuses %s', async (username) => {
    const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username, password: 'long enough pw' } });
    expectError(res, 400, 'validation_failed');
    expect(res.json<{ error: { details: { path: string }[] } }>().error.details[0]?.path).toBe('/username');
    expect(await t.sigil.store.users.findUserByUsername(username)).toBeNull();
  });

  it('register accepts single punctuation between letters and digits', async () => {
    for (const username of FINE) await register(t, username);
  });

  it('the admin bootstrap and admin create (one code path) refuse them too', async () => {
    await expect(t.sigil.users.createAdmin('admin.', 'admin password 1')).rejects.toThrow(AppError);
    expect(await t.sigil.store.users.findUserByUsername('admin.')).toBeNull();
  });

  it('a confusable SIGIL_ADMIN_USERNAME stops start-up with the rule in the message', async () => {
    await expect(startTestSigil({ env: { SIGIL_ADMIN_USERNAME: 'admin_', SIGIL_ADMIN_PASSWORD: 'admin password 1' } })).rejects.toThrow(
      /Invalid username "admin_": it must start and end with a letter or digit/,
    );
  });

  it('existing users with such names keep working: login and lookups', async () => {
    // A user created before the rule existed (written straight to the store, as an old version did).
    const hash = await createPasswordHasher(CHEAP_ARGON2).hash('legacy password');
    await t.sigil.store.users.insertUser({ id: 'legacy-1', username: 'legacy_', email: null, passwordHash: hash, role: 'user', createdAt: new Date().toISOString() });
    const login = await t.request({ method: 'POST', url: '/api/auth/login', body: { username: 'Legacy_', password: 'legacy password' } });
    expect(login.statusCode, login.body).toBe(200);
    const token = login.json<{ accessToken: string }>().accessToken;
    expect((await t.request({ method: 'GET', url: '/api/users/legacy_', token })).statusCode).toBe(200);
    expect((await t.request({ method: 'PATCH', url: '/api/users/legacy_', token, body: { email: 'l@example.com' } })).statusCode).toBe(200);
  });
});

describe('sigil admin create', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'sigil-names-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('refuses a confusable username with one clear line', async () => {
    const env = { NODE_ENV: 'test', JWT_SECRET: 'names-Vb7Qk2Lx9Pz4Rt8Wm1Nc6Hy3Fj5Dg0Sa', SIGIL_DATA_DIR: join(cwd, 'data') };
    const result = await runCli(['admin', 'create', 'root.', '--password-stdin'], { cwd, env, input: 'root password 1\n' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/username .*punctuation/);
  });
});
