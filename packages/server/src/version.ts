import { readFileSync } from 'node:fs';

/** The server's version, from its package.json (read once). */
export const SERVER_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
