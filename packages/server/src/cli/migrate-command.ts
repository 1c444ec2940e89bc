import { parseDatabaseUrl } from '../adapters/open-store.js';
import { moveSqliteToPostgres } from '../adapters/migrate/sqlite-to-postgres.js';
import { SnapshotError } from '../adapters/sqlite/sqlite-backup.js';
import { isAppError } from '../core/errors.js';
import { CliError, configFromEnvironment, parseFlags, type Command } from './command.js';

const HELP = `Usage: sigil migrate --to <postgres://…>

Copies the configured SQLite app into an empty PostgreSQL database: users,
sessions (signed-in clients stay signed in), collections with their tables
and indexes, records, relations, and the change log with its seqs (realtime
clients resume across the move). Stop Sigil first. Everything is copied in
one transaction and compared row by row before it commits; on any problem
the PostgreSQL database is left empty. The SQLite file is not changed.

Then set DATABASE_URL to the PostgreSQL URL and start Sigil.`;

/** The URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the PostgreSQL URL';
  }
}

export const migrateCommand: Command = {
  name: 'migrate',
  usage: 'migrate --to <postgres://…>',
  summary: 'move a SQLite app into an empty PostgreSQL database',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseFlags({ args, options: { to: { type: 'string' } }, allowPositionals: true });
    if (positionals.length > 0 || values.to === undefined) throw new CliError('migrate needs --to <postgres://…>; see "sigil migrate --help"');
    if (!/^postgres(ql)?:\/\//i.test(values.to)) throw new CliError('--to must be a postgres:// URL');
    const config = configFromEnvironment();
    const source = parseDatabaseUrl(config.databaseUrl, config.dataDir);
    if (source.dialect !== 'sqlite') throw new CliError('migrate moves a SQLite app; DATABASE_URL is already PostgreSQL');
    if (source.filename === ':memory:') throw new CliError('an in-memory database cannot be moved');
    try {
      const summary = await moveSqliteToPostgres(source.filename, values.to);
      const users = summary.tables.get('users') ?? 0;
      const sessions = summary.tables.get('sessions') ?? 0;
      const changes = summary.tables.get('changes') ?? 0;
      process.stdout.write(
        `Moved ${source.filename} to ${redacted(values.to)}: ${users} users, ${sessions} sessions, ${summary.collections} collections, ` +
          `${summary.records} records, ${changes} changes (seq up to ${summary.latestSeq}); every row verified.\n` +
          'Set DATABASE_URL to it and start Sigil.\n',
      );
      return 0;
    } catch (err) {
      if (err instanceof SnapshotError) throw new CliError(err.message);
      if (isAppError(err)) throw new CliError(`PostgreSQL: ${err.message}`);
      throw err;
    }
  },
};
