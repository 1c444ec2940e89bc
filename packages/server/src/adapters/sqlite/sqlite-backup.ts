import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';

/** What a backup or a restore holds, for the command's report. */
export interface SnapshotSummary {
  readonly file: string;
  readonly bytes: number;
  readonly schemaVersion: number;
  readonly users: number;
  readonly collections: number;
  /** The newest seq of the change log (0 when empty): realtime clients resume from it. */
  readonly latestSeq: number;
}

/** A problem the person running the command can fix; its message is one line. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/**
 * Copies the live database at `source` into a new file `target`, online: a
 * running Sigil (another process) keeps writing meanwhile. SQLite's backup
 * API copies every page in one step, inside one read transaction, so the
 * copy is one consistent state holding every transaction committed before
 * it began (WAL: a reader never blocks writers, and a one-step copy is never
 * restarted by their commits). Written to a temporary name, checked
 * (`PRAGMA integrity_check`), made private (0600, it holds password
 * hashes), synced, then renamed into place: `target` is whole or absent.
 */
export async function backupSqlite(source: string, target: string): Promise<SnapshotSummary> {
  if (!existsSync(source)) throw new SnapshotError(`no database at ${source}`);
  if (existsSync(target)) throw new SnapshotError(`${target} exists; choose a new file name`);
  if (!existsSync(dirname(target))) throw new SnapshotError(`the directory ${dirname(target)} does not exist`);
  const partial = join(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`);
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    assertSigilDatabase(db, source);
    // The first step only opens the backup; then every remaining page in one step.
    await db.backup(partial, { progress: () => 0x7fffffff });
  } catch (err) {
    rmSync(partial, { force: true });
    throw err instanceof SnapshotError ? err : new SnapshotError(`backup failed: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  try {
    chmodSync(partial, 0o600);
    const summary = summarize(partial);
    syncFile(partial);
    renameSync(partial, target);
    syncFile(dirname(target));
    return { ...summary, file: target };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

/**
 * Replaces the database at `target` with the backup `backup`. Sigil must be
 * stopped: leaving WAL mode needs the only connection, so a running server
 * makes this fail before anything changes. The database it replaces is kept
 * beside it (`<name>.before-restore-<time>`), with its WAL folded in. The
 * restored change log starts over (see `restartChangeLog`).
 */
export async function restoreSqlite(backup: string, target: string, now = new Date()): Promise<SnapshotSummary & { readonly previous: string | null }> {
  if (!existsSync(backup)) throw new SnapshotError(`no backup at ${backup}`);
  const checked = new Database(backup, { readonly: true, fileMustExist: true });
  try {
    assertSigilDatabase(checked, backup);
    const problems = checked.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    if (problems[0]?.integrity_check !== 'ok') throw new SnapshotError(`${backup} is damaged: ${problems[0]?.integrity_check ?? 'integrity_check failed'}`);
  } finally {
    checked.close();
  }

  let previous: string | null = null;
  let previousSeq = 0;
  if (existsSync(target)) {
    previousSeq = assertNotInUse(target, 'restore');
    previous = `${target}.before-restore-${now.toISOString().replace(/[:.]/g, '-')}`;
  }

  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const partial = join(dirname(target), `.${basename(target)}.restore-${randomBytes(4).toString('hex')}`);
  const source = new Database(backup, { readonly: true, fileMustExist: true });
  try {
    await source.backup(partial, { progress: () => 0x7fffffff });
  } catch (err) {
    rmSync(partial, { force: true });
    throw new SnapshotError(`restore failed: ${(err as Error).message}`);
  } finally {
    source.close();
  }
  chmodSync(partial, 0o600);
  restartChangeLog(partial, previousSeq);
  const summary = summarize(partial);
  syncFile(partial);
  if (previous !== null) renameSync(target, previous);
  // Companions of the old file would be applied to the new one: none may be left.
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${target}${suffix}`, { force: true });
  renameSync(partial, target);
  syncFile(dirname(target));
  return { ...summary, file: target, previous };
}

/**
 * Throws unless no other connection (a running Sigil) has the database at
 * `file` open, and folds its WAL into the file. Leaving WAL mode needs the
 * only connection, so it is the test; WAL is turned back on after it.
 * Returns the change counter, read while alone with the file.
 */
export function assertNotInUse(file: string, action: string): number {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 0');
    const seq = latestSeqOf(db);
    const mode = db.pragma('journal_mode = DELETE', { simple: true });
    if (mode !== 'delete') throw new SnapshotError(`the database at ${file} is in use: stop Sigil, then ${action}`);
    db.pragma('journal_mode = WAL');
    return seq;
  } catch (err) {
    throw err instanceof SnapshotError ? err : new SnapshotError(`the database at ${file} is in use: stop Sigil, then ${action} (${(err as Error).message})`);
  } finally {
    db.close();
  }
}

/** The change counter: the last seq handed out (0 for a database that never had one). */
function latestSeqOf(db: Database.Database): number {
  try {
    return (db.prepare('SELECT last FROM change_counter WHERE id = 1').pluck().get() as number | undefined) ?? 0;
  } catch {
    return 0;
  }
}

/**
 * A restored database forgets what happened after its backup, but realtime
 * clients may have seen it: a client resuming at a seq the backup also had
 * would be sent the restored server's new changes under numbers it thinks
 * it has seen. So the restored log starts empty, with its counter past both
 * the backup's last seq and the replaced database's: every client's
 * position is then below the log's start and gets `resync` once (exactly
 * as after a long offline spell), and nothing is silently skipped.
 */
function restartChangeLog(file: string, previousSeq: number): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    const next = Math.max(latestSeqOf(db), previousSeq) + 1;
    db.transaction(() => {
      db.prepare('DELETE FROM changes').run();
      db.prepare('UPDATE change_counter SET last = ? WHERE id = 1').run(next);
    })();
  } finally {
    db.close();
  }
}

function assertSigilDatabase(db: Database.Database, file: string): void {
  let version: number | null;
  try {
    version = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v;
  } catch {
    throw new SnapshotError(`${file} is not a Sigil database`);
  }
  const known = SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
  if (version === null) throw new SnapshotError(`${file} is not a Sigil database (no migrations applied)`);
  if (version > known) throw new SnapshotError(`${file} is at schema version ${version}, newer than this Sigil knows (${known}): upgrade Sigil`);
}

/**
 * Reads what the copy holds. First takes it out of WAL mode (the copied
 * header says WAL, like the live database's): a backup is one
 * self-contained file, with no -wal or -shm beside it. Sigil turns WAL back
 * on when it opens the file.
 */
function summarize(file: string): Omit<SnapshotSummary, 'file'> {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    const one = (sql: string): number => (db.prepare(sql).pluck().get() as number | null) ?? 0;
    return {
      bytes: one('SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()'),
      schemaVersion: one('SELECT max(version) FROM schema_migrations'),
      users: one('SELECT count(*) FROM users'),
      collections: one('SELECT count(*) FROM collections'),
      latestSeq: one('SELECT coalesce((SELECT last FROM change_counter WHERE id = 1), 0)'),
    };
  } finally {
    db.close();
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
