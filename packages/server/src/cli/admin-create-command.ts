import { openStore } from '../adapters/open-store.js';
import { createIdentityCache } from '../core/auth/identity-cache.js';
import { createPasswordHasher } from '../core/auth/password.js';
import { systemClock } from '../core/clock.js';
import { isAppError } from '../core/errors.js';
import { createCollectionCatalog } from '../core/collections/collection-catalog.js';
import { createRelationIntegrity } from '../core/records/relation-integrity.js';
import { createUserService } from '../core/users/user-service.js';
import { CliError, configFromEnvironment, parseFlags, type Command } from './command.js';
import { readPassword } from './read-password.js';

const HELP = `Usage: sigil admin create <username> [--password-stdin]

Creates an admin user in the configured database.
The password is asked for at a prompt (not echoed), or read from standard
input with --password-stdin (one line), for scripts:

  printf '%s\\n' "$ADMIN_PASSWORD" | sigil admin create alice --password-stdin`;

export const adminCreateCommand: Command = {
  name: 'admin create',
  usage: 'admin create <username> [--password-stdin]',
  summary: 'create an admin user',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseFlags({ args, options: { 'password-stdin': { type: 'boolean' } }, allowPositionals: true });
    if (positionals.length !== 1) throw new CliError('admin create takes exactly one <username>; see "sigil admin create --help"');
    const username = positionals[0] ?? '';
    const config = configFromEnvironment();
    const password = await readPassword({ fromStdin: values['password-stdin'] === true });

    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      const identities = createIdentityCache({ ttlMs: 0, clock: systemClock });
      const catalog = createCollectionCatalog({ store, clock: systemClock, cacheTtlMs: 0 });
      const relations = createRelationIntegrity({ catalog, now: () => new Date().toISOString() });
      const users = createUserService({ store, passwords: createPasswordHasher(), clock: systemClock, identities, relations });
      const admin = await users.createAdmin(username, password);
      process.stdout.write(`Created admin "${admin.username}" (${admin.id}).\n`);
      return 0;
    } catch (err) {
      if (isAppError(err)) {
        const detail = err.details?.[0];
        const reason = err.code === 'conflict' ? `user "${username.toLowerCase()}" already exists` : detail ? `${detail.path.slice(1)} ${detail.message}` : err.message;
        throw new CliError(reason);
      }
      throw err;
    } finally {
      await store.close();
    }
  },
};
