#!/usr/bin/env node
import { adminCreateCommand } from './admin-create-command.js';
import { adminResetTwoFactorCommand } from './admin-reset-two-factor-command.js';
import { applyCommand } from './apply-command.js';
import { backupCommand, restoreCommand } from './backup-command.js';
import { migrateCommand } from './migrate-command.js';
import { CliError, type Command } from './command.js';
import { serveCommand } from './serve-command.js';
import { typegenCommand } from './typegen-command.js';

const COMMANDS: readonly Command[] = [serveCommand, adminCreateCommand, adminResetTwoFactorCommand, applyCommand, typegenCommand, backupCommand, restoreCommand, migrateCommand];

const USAGE = `Usage: sigil <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.usage.padEnd(40)} ${c.summary}`).join('\n')}

Run "sigil <command> --help" for a command's options.
Configuration comes from the environment and ./.env (see the README).`;

/** Finds the command whose words start argv (`admin create` is two words). */
function route(argv: readonly string[]): { command: Command; rest: string[] } | null {
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return null;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // `sigil` alone, or `sigil --port 3000`, serves.
  const routed = argv.length === 0 || argv[0]?.startsWith('-') ? { command: serveCommand, rest: [...argv] } : route(argv);
  if (!routed) throw new CliError(`unknown command "${argv.join(' ')}"; run "sigil --help"`);
  if (routed.rest.includes('--help') || routed.rest.includes('-h')) {
    process.stdout.write(`${routed.command.help}\n`);
    return 0;
  }
  return routed.command.run(routed.rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One line, no stack: configuration and usage errors are for people.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`sigil: ${message.split('\n')[0] ?? message}\n`);
    process.exitCode = 1;
  },
);
