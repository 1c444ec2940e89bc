import { resolve } from 'node:path';
import { parseDatabaseUrl } from '../adapters/open-store.js';
import { backupSqlite, restoreSqlite, SnapshotError, type SnapshotSummary } from '../adapters/sqlite/sqlite-backup.js';
import { CliError, configFromEnvironment, parseFlags, type Command } from './command.js';

const BACKUP_HELP = `Usage: sigil backup <file>

Writes a consistent copy of the configured SQLite database to <file> (a new
file), while Sigil keeps running and writing: the copy holds every write
acknowledged before the backup began. The file is private (0600).

PostgreSQL: use pg_dump (see docs/operations.md#backups).`;

const RESTORE_HELP = `Usage: sigil restore <file>

Replaces the configured SQLite database with the backup <file>. Stop Sigil
first: a database in use is refused, and nothing changes. The database it
replaces is kept beside it as <name>.before-restore-<time>.

PostgreSQL: use pg_restore or psql (see docs/operations.md#backups).`;

/** The SQLite file the configuration names; PostgreSQL has its own tools. */
function sqliteFile(verb: 'backup' | 'restore'): string {
  const config = configFromEnvironment();
  const location = parseDatabaseUrl(config.databaseUrl, config.dataDir);
  if (location.dialect === 'postgres') {
    const tool = verb === 'backup' ? 'pg_dump' : 'pg_restore';
    throw new CliError(`sigil ${verb} is for SQLite; DATABASE_URL is PostgreSQL: use ${tool} (see docs/operations.md#backups)`);
  }
  if (location.filename === ':memory:') throw new CliError(`an in-memory database cannot be ${verb === 'backup' ? 'backed up' : 'restored'}`);
  return location.filename;
}

function oneFile(args: string[], verb: string): string {
  const { positionals } = parseFlags({ args, options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new CliError(`${verb} takes exactly one <file>; see "sigil ${verb} --help"`);
  return resolve(positionals[0]!);
}

function report(summary: SnapshotSummary): string {
  return `${summary.users} users, ${summary.collections} collections, change log up to seq ${summary.latestSeq}, schema version ${summary.schemaVersion}, ${summary.bytes} bytes`;
}

async function cliErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof SnapshotError) throw new CliError(err.message);
    throw err;
  }
}

export const backupCommand: Command = {
  name: 'backup',
  usage: 'backup <file>',
  summary: 'copy the running SQLite database to a file',
  help: BACKUP_HELP,
  async run(args) {
    const target = oneFile(args, 'backup');
    const source = sqliteFile('backup');
    const summary = await cliErrors(() => backupSqlite(source, target));
    process.stdout.write(`Backed up ${source} to ${summary.file}: ${report(summary)}.\n`);
    return 0;
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  usage: 'restore <file>',
  summary: 'replace the SQLite database with a backup (Sigil stopped)',
  help: RESTORE_HELP,
  async run(args) {
    const backup = oneFile(args, 'restore');
    const target = sqliteFile('restore');
    const summary = await cliErrors(() => restoreSqlite(backup, target));
    const kept = summary.previous === null ? '' : ` The previous database is kept as ${summary.previous}.`;
    process.stdout.write(`Restored ${backup} to ${target}: ${report(summary)}.${kept}\n`);
    return 0;
  },
};
