import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH } from '../helpers/server-process.js';

const SERVER = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the built server package; `withDemo: false` leaves out dist/demo/, as a build that skipped the bundle would. */
function copyOfBuiltServer(withDemo: boolean): string {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run "npm run build" (npm test does it)`);
  const pkg = mkdtempSync(join(tmpdir(), 'sigil-demo-bundle-'));
  dirs.push(pkg);
  cpSync(join(SERVER, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(SERVER, 'dist'), join(pkg, 'dist'), { recursive: true, filter: (source) => withDemo || !source.startsWith(join(SERVER, 'dist/demo')) });
  symlinkSync(resolve(SERVER, '../../node_modules'), join(pkg, 'node_modules'), 'dir');
  return pkg;
}

/** Runs the copy's `sigil serve --port 0` until it listens (then `stop` ends it) or exits. */
function serve(pkg: string): Promise<{ code: number | null; url: string | null; stderr: string; stop: () => Promise<void> }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [join(pkg, 'dist/cli/main.js'), 'serve', '--port', '0'], {
      cwd: pkg,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NODE_ENV: 'development', LOG_LEVEL: 'warn', SIGIL_DATA_DIR: join(pkg, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    };
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const url = /Sigil listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url) {
        clearTimeout(timer);
        done({ code: null, url, stderr, stop });
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, url: null, stderr, stop });
    });
  });
}

describe('the built server and its demo bundle', () => {
  it('without dist/demo/ it does not start, and says how to build it', async () => {
    const pkg = copyOfBuiltServer(false);
    const { code, url, stderr } = await serve(pkg);
    expect(url).toBeNull();
    expect(code).toBe(1);
    expect(stderr).toContain(`sigil: the demo page is not built: ${join(pkg, 'dist/demo/demo.js')} is missing. Run "npm run build"`);
  });

  it('the same copy with dist/demo/ starts and serves the page and its script (the control)', async () => {
    const pkg = copyOfBuiltServer(true);
    const server = await serve(pkg);
    try {
      expect(server.url, server.stderr).not.toBeNull();
      const page = await fetch(`${server.url!}/demo/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('src="demo.js"');
      const script = await fetch(`${server.url!}/demo/demo.js`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect((await script.text()).length).toBeGreaterThan(10_000);
    } finally {
      await server.stop();
    }
  });
});
