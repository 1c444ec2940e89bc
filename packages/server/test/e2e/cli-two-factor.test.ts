/**
 * `sigil admin reset-2fa`: the way back for the only admin when they lose
 * their authenticator and recovery codes. The built CLI against the
 * database of a running server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess } from '../helpers/server-process.js';
import { referenceTotp } from '../helpers/totp-reference.js';

const SECRET = 'e2e-2fa-Vb7Qk2Lx9Pz4Rt8Wm1Nc6Hy3Fj5Dg0Sa';
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function call(url: string, path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

describe('sigil admin reset-2fa', () => {
  it('turns off the only admin\'s two-factor; unknown users fail in one line', { timeout: 60_000 }, async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sigil-cli-2fa-'));
    dirs.push(cwd);
    const env = { NODE_ENV: 'production', JWT_SECRET: SECRET, SIGIL_DATA_DIR: join(cwd, 'data'), SIGIL_ADMIN_USERNAME: 'only_admin', SIGIL_ADMIN_PASSWORD: 'admin password 1' };
    const server = await startServerProcess({ env, cwd });
    try {
      const credentials = { username: 'only_admin', password: 'admin password 1' };
      const login = await call(server.url, '/api/auth/login', credentials);
      const token = String(login.body['accessToken']);
      const setup = await call(server.url, '/api/auth/2fa/setup', { password: credentials.password }, token);
      const enabled = await call(server.url, '/api/auth/2fa/enable', { code: referenceTotp(String(setup.body['secret']), Date.now()) }, token);
      expect(enabled.status).toBe(200);
      expect((await call(server.url, '/api/auth/login', credentials)).body).toMatchObject({ error: { code: 'two_factor_required' } });

      const reset = await runCli(['admin', 'reset-2fa', 'Only_Admin'], { cwd, env });
      expect(reset.stderr).toBe('');
      expect(reset.code).toBe(0);
      expect(reset.stdout).toContain('"only_admin" is off');
      const again = await call(server.url, '/api/auth/login', credentials);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ user: { twoFactorEnabled: false } });
      expect((await runCli(['admin', 'reset-2fa', 'only_admin'], { cwd, env })).stdout).toContain('nothing to do');

      const unknown = await runCli(['admin', 'reset-2fa', 'nobody'], { cwd, env });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
      expect(unknown.stderr).toContain('nobody');
      expect((await runCli(['admin', 'reset-2fa'], { cwd, env })).code).toBe(1);
      expect((await runCli(['admin', 'reset-2fa', '--help'], { cwd, env: {} })).stdout).toContain('recovery codes');
    } finally {
      await server.stop();
    }
  });
});
