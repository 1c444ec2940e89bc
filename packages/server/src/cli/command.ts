import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config/config.js';
import { readEnvironment } from '../config/env-file.js';

export interface Command {
  /** The words that select it, e.g. `admin create`. */
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly help: string;
  run(args: string[]): Promise<number>;
}

/** A usage or input error: printed as one line, exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** `parseArgs` in strict mode, with its errors turned into one-line CLI errors. */
export function parseFlags<T extends ParseArgsConfig>(config: T): Parsed<T> {
  try {
    // strict defaults to true in parseArgs: unknown flags are errors.
    return parseArgs(config);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** The configuration from the environment and ./.env, with command-line overrides applied first. */
export function configFromEnvironment(overrides: Record<string, string | undefined> = {}): Config {
  const env = readEnvironment(process.cwd());
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) env[key] = value;
  return loadConfig(env, { cwd: process.cwd() });
}
