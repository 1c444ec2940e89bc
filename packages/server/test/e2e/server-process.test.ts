import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { createTestDatabaseUrl, STORES } from '../helpers/stores.js';

const STRONG_SECRET = 'e2e-Vb7Qk2Lx9Pz4Rt8Wm1Nc6Hy3Fj5Dg0Sa';

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

function post(url: string, path: string, body: unknown, token?: string): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-e2e-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(STORES)('the built server as a process, on $name', (backend) => {
  it.skipIf(backend.skipReason !== null)('serves register/login/me, stops on SIGTERM with 0, and keeps users across a restart', async () => {
    const cwd = tempDir();
    const db = await createTestDatabaseUrl(backend.name);
    // Development without JWT_SECRET: one is generated into the data dir and reused after the restart.
    const env = { NODE_ENV: 'development', DATABASE_URL: db.url, SIGIL_DATA_DIR: join(cwd, 'data') };
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess({ env, cwd });
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const secretFile = join(cwd, 'data', 'jwt-secret');
      expect(existsSync(secretFile)).toBe(true);
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      expect(server.stdout() + server.stderr()).toContain('JWT_SECRET is not set');

      expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
      const reg = await post(server.url, '/api/auth/register', { username: 'e2e_user', password: 'e2e password 1' });
      expect(reg.status).toBe(201);
      const login = await post(server.url, '/api/auth/login', { username: 'e2e_user', password: 'e2e password 1' });
      expect(login.status).toBe(200);
      const { accessToken } = (await json(login)) as { accessToken: string };
      const me = await fetch(`${server.url}/api/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(me.status).toBe(200);
      expect(((await json(me)) as { user: { username: string } }).user.username).toBe('e2e_user');

      expect(await server.stop('SIGTERM')).toBe(0);

      server = await startServerProcess({ env, cwd });
      expect(server.stdout() + server.stderr()).not.toContain('JWT_SECRET is not set');
      const again = await fetch(`${server.url}/api/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(again.status).toBe(200);
      expect((await post(server.url, '/api/auth/login', { username: 'e2e_user', password: 'e2e password 1' })).status).toBe(200);
      expect(await server.stop('SIGINT')).toBe(0);
    } finally {
      await server?.stop('SIGKILL');
      await db.dispose();
    }
  }, 60_000);
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests before exiting 0', async () => {
    const cwd = tempDir();
    const env = { NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, SIGIL_DATA_DIR: join(cwd, 'data'), AUTH_RATE_LIMIT_PER_ADDRESS: '1000/1m' };
    const server = await startServerProcess({ env, cwd });
    try {
      expect((await post(server.url, '/api/auth/register', { username: 'slow_one', password: 'slow password' })).status).toBe(201);
      // Logins take a real argon2id verification (tens of ms): start some, then signal.
      const inFlight = Array.from({ length: 4 }, () => post(server.url, '/api/auth/login', { username: 'slow_one', password: 'slow password' }));
      await new Promise((r) => setTimeout(r, 20));
      const exit = server.stop('SIGTERM');
      const results = await Promise.allSettled(inFlight);
      for (const result of results) {
        // Accepted requests complete normally; none is cut off with a 5xx.
        if (result.status === 'fulfilled') expect(result.value.status).toBe(200);
      }
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      expect(await exit).toBe(0);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 30_000);
});

describe('configuration and CLI', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
    [{ NODE_ENV: 'production', JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
    [{ DATABASE_URL: 'mysql://nope' }, 'DATABASE_URL'],
    [{ SMTP_URL: 'http://mail.example.com', MAIL_FROM: 'a@b.example' }, 'SMTP_URL'],
    [{ SMTP_URL: 'smtp://mail.example.com' }, 'MAIL_FROM'],
    [{ MAIL_TEMPLATES_DIR: '/nonexistent/sigil-mail' }, 'MAIL_TEMPLATES_DIR'],
  ])('refuses to start with %j: one line naming %s, exit 1', async (env, variable) => {
    const cwd = tempDir();
    const result = await runCli(['serve'], { cwd, env: { SIGIL_DATA_DIR: join(cwd, 'data'), ...env } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(variable);
    expect(existsSync(join(cwd, 'data', 'sigil.db'))).toBe(false);
  });

  it('reads .env from the working directory, and the real environment wins', async () => {
    const cwd = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(cwd, '.env'), 'PORT=not-a-port\nLOG_LEVEL=nonsense\n');
    const result = await runCli(['serve'], { cwd, env: { SIGIL_DATA_DIR: join(cwd, 'data'), LOG_LEVEL: 'warn' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).not.toContain('LOG_LEVEL');
  });

  it('admin create with --password-stdin makes an admin who can log in; SIGIL_ADMIN_* bootstraps one', async () => {
    const cwd = tempDir();
    const env = { NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, SIGIL_DATA_DIR: join(cwd, 'data') };
    const created = await runCli(['admin', 'create', 'Root_1', '--password-stdin'], { cwd, env, input: 'root password 1\n' });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('root_1');

    const duplicate = await runCli(['admin', 'create', 'root_1', '--password-stdin'], { cwd, env, input: 'root password 1\n' });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('already exists');
    const weak = await runCli(['admin', 'create', 'root_2', '--password-stdin'], { cwd, env, input: 'short\n' });
    expect(weak.code).toBe(1);
    expect(weak.stderr.trim().split('\n')).toHaveLength(1);
    const noTty = await runCli(['admin', 'create', 'root_3'], { cwd, env });
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toContain('--password-stdin');

    const server = await startServerProcess({ env: { ...env, SIGIL_ADMIN_USERNAME: 'boot_admin', SIGIL_ADMIN_PASSWORD: 'boot password 1' }, cwd });
    try {
      const login = await post(server.url, '/api/auth/login', { username: 'root_1', password: 'root password 1' });
      expect(login.status).toBe(200);
      expect(((await json(login)) as { user: { role: string } }).user.role).toBe('admin');
      // An admin already existed, so the bootstrap variables created nobody.
      expect((await post(server.url, '/api/auth/login', { username: 'boot_admin', password: 'boot password 1' })).status).toBe(401);
    } finally {
      expect(await server.stop()).toBe(0);
    }

    const fresh = tempDir();
    const bootEnv = { ...env, SIGIL_DATA_DIR: join(fresh, 'data'), SIGIL_ADMIN_USERNAME: 'boot_admin', SIGIL_ADMIN_PASSWORD: 'boot password 1' };
    const booted = await startServerProcess({ env: bootEnv, cwd: fresh });
    try {
      const login = await post(booted.url, '/api/auth/login', { username: 'boot_admin', password: 'boot password 1' });
      expect(((await json(login)) as { user: { role: string } }).user.role).toBe('admin');
    } finally {
      await booted.stop();
    }
  }, 60_000);

  it('--help works for the program and each command; unknown commands fail in one line', async () => {
    const cwd = tempDir();
    const help = await runCli(['--help'], { cwd, env: {} });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('admin create');
    expect((await runCli(['serve', '--help'], { cwd, env: {} })).stdout).toContain('--port');
    expect((await runCli(['admin', 'create', '--help'], { cwd, env: {} })).stdout).toContain('--password-stdin');
    const unknown = await runCli(['frobnicate'], { cwd, env: {} });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  });
});
