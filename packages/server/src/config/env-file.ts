import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * The process environment with `<cwd>/.env` underneath it: a variable set in
 * the real environment always wins over the file. A missing file is fine; an
 * unreadable one is an error.
 */
export function readEnvironment(cwd: string, processEnv: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  let text: string;
  try {
    text = readFileSync(join(cwd, '.env'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...processEnv };
    throw new Error(`Cannot read ${join(cwd, '.env')}: ${(err as Error).message}`);
  }
  return { ...parseEnv(text), ...processEnv };
}
