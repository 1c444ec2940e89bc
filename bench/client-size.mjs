#!/usr/bin/env node
// The browser build of @sigil/client (auth, records, realtime, live
// queries): one ES module bundled with esbuild for browsers, minified, then
// gzipped (level 9). Prints the sizes; exits 1 when the gzipped size is not
// under the budget. `npm run bench` and `npm run bench:client` run it; the
// client's test suite checks the same number (test/bundle-size.test.ts).
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLIENT_ENTRY = resolve(ROOT, 'packages/client/src/index.ts');
/** 12 kB, counted as 12,000 bytes. */
export const GZIP_BUDGET_BYTES = 12_000;

/** Bundles the client for browsers; `minify` for the measured build. */
export async function bundleClient({ minify = true } = {}) {
  const result = await build({
    entryPoints: [CLIENT_ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** { minified, gzipped } byte counts of the browser build. */
export async function measureClientBundle() {
  const code = await bundleClient();
  return { minified: Buffer.byteLength(code), gzipped: gzipSync(code, { level: 9 }).length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await measureClientBundle();
  const ok = gzipped < GZIP_BUDGET_BYTES;
  console.log(`@sigil/client browser build: ${minified} bytes minified, ${gzipped} bytes gzipped (budget ${GZIP_BUDGET_BYTES}): ${ok ? 'PASS' : 'FAIL'}`);
  process.exitCode = ok ? 0 : 1;
}
