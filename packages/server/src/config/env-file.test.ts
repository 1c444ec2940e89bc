import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEnvironment } from './env-file.js';

describe('readEnvironment', () => {
  it('reads .env and lets the real environment win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-env-'));
    writeFileSync(join(dir, '.env'), 'PORT=3000\nHOST=0.0.0.0\n# comment\nLOG_LEVEL="debug"\n');
    const env = readEnvironment(dir, { PORT: '4000' });
    expect(env).toMatchObject({ PORT: '4000', HOST: '0.0.0.0', LOG_LEVEL: 'debug' });
  });

  it('is the plain environment without a .env file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-env-'));
    expect(readEnvironment(dir, { A: '1' })).toEqual({ A: '1' });
  });
});
