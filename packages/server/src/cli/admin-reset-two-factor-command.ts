import { openStore } from '../adapters/open-store.js';
import { CliError, configFromEnvironment, parseFlags, type Command } from './command.js';

const HELP = `Usage: sigil admin reset-2fa <username>

Turns off the two-factor authentication of a user in the configured
database: their TOTP secret, recovery codes and open login challenges are
deleted, and they sign in with their password alone until they set it up
again. Their sessions stay. For an admin who lost their authenticator and
recovery codes when no other admin can reset it
(DELETE /api/users/:username/2fa).`;

export const adminResetTwoFactorCommand: Command = {
  name: 'admin reset-2fa',
  usage: 'admin reset-2fa <username>',
  summary: "turn off a user's two-factor authentication",
  help: HELP,
  async run(args) {
    const { positionals } = parseFlags({ args, options: {}, allowPositionals: true });
    if (positionals.length !== 1) throw new CliError('admin reset-2fa takes exactly one <username>; see "sigil admin reset-2fa --help"');
    const username = (positionals[0] ?? '').toLowerCase();
    const config = configFromEnvironment();
    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      const user = await store.users.findUserByUsername(username);
      if (!user) throw new CliError(`no user "${username}"`);
      await store.twoFactor.disableTwoFactor(user.id, new Date().toISOString());
      process.stdout.write(user.twoFactorEnabled ? `Two-factor authentication of "${user.username}" is off.\n` : `"${user.username}" had no two-factor authentication; nothing to do.\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};
