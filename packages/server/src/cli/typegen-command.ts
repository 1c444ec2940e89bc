import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { openStore } from '../adapters/open-store.js';
import { generateTypes } from '../core/collections/typegen.js';
import { CliError, configFromEnvironment, parseFlags, type Command } from './command.js';

const HELP = `Usage: sigil typegen [--out file]

Prints TypeScript types for every collection in the configured database:
<Name>Fields (what a client sends), <Name>Record (what it gets back, with
id, createdAt, updatedAt, owner and version), and the maps Collections and
CollectionInputs from collection name to them.

  --out file   write to this file instead of standard output`;

export const typegenCommand: Command = {
  name: 'typegen',
  usage: 'typegen [--out file]',
  summary: 'TypeScript types for every collection',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseFlags({ args, options: { out: { type: 'string' } } });
    if (positionals.length > 0) throw new CliError('typegen takes no arguments; see "sigil typegen --help"');
    const config = configFromEnvironment();
    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    let source: string;
    let count: number;
    try {
      const collections = await store.collections.listCollections();
      source = generateTypes(collections);
      count = collections.length;
    } finally {
      await store.close();
    }
    if (values.out === undefined) {
      process.stdout.write(source);
      return 0;
    }
    const out = resolve(values.out);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, source);
    process.stdout.write(`Wrote types for ${count} collection(s) to ${out}.\n`);
    return 0;
  },
};
