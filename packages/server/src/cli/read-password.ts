import { createInterface } from 'node:readline';
import { CliError } from './command.js';

/**
 * Reads a password: the first line of standard input with `fromStdin`, else
 * from an interactive prompt with echo turned off, asked twice.
 */
export async function readPassword(opts: { readonly fromStdin: boolean }): Promise<string> {
  if (opts.fromStdin) {
    const line = await firstLine(process.stdin);
    if (line === null || line === '') throw new CliError('no password on standard input');
    return line;
  }
  if (!process.stdin.isTTY) throw new CliError('standard input is not a terminal; use --password-stdin');
  const first = await prompt('Password: ');
  const second = await prompt('Repeat password: ');
  if (first !== second) throw new CliError('the passwords do not match');
  return first;
}

async function firstLine(input: NodeJS.ReadableStream): Promise<string | null> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) return line;
    return null;
  } finally {
    rl.close();
  }
}

function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    process.stdout.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stdout.write('\n');
          resolve(value);
          return;
        }
        if (char === '\u0003') process.exit(130); // Ctrl-C
        if (char === '\u007f') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}
