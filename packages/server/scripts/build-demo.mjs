#!/usr/bin/env node
// Builds the demo page (GET /demo/) into packages/server/dist/demo/: the
// script packages/server/demo/demo.ts, written on @sigil/client, bundled by
// esbuild, next to the page and its stylesheet. The server reads the three
// files once at start. `npm run build` runs this after tsc.
import { build } from 'esbuild';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(SERVER, '../..');
export const DEMO_SOURCE_DIR = join(SERVER, 'demo');
export const DEMO_OUT_DIR = join(SERVER, 'dist/demo');

/** The workspace packages from their sources, so a bundle does not depend on tsc having run. */
export const WORKSPACE_SOURCES = {
  '@sigil/client': join(ROOT, 'packages/client/src/index.ts'),
  '@sigil/protocol': join(ROOT, 'packages/protocol/src/index.ts'),
};

/** One ES module for browsers from `entry` (a TypeScript file), as text. */
export async function bundleForBrowser(entry, { minify = true } = {}) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    alias: WORKSPACE_SOURCES,
    minify,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** Writes index.html, demo.css and demo.js to `outDir`; each by rename, so a server starting meanwhile never reads half a file. */
export async function buildDemo(outDir = DEMO_OUT_DIR) {
  const files = {
    'index.html': await readFile(join(DEMO_SOURCE_DIR, 'index.html'), 'utf8'),
    'demo.css': await readFile(join(DEMO_SOURCE_DIR, 'demo.css'), 'utf8'),
    'demo.js': await bundleForBrowser(join(DEMO_SOURCE_DIR, 'demo.ts')),
  };
  await mkdir(outDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    const temporary = join(outDir, `.${name}.${process.pid}.tmp`);
    await writeFile(temporary, text);
    await rename(temporary, join(outDir, name));
  }
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildDemo();
  } catch (error) {
    console.error(`build-demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
