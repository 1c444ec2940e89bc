import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where `npm run build` (scripts/build-demo.mjs) writes the demo page:
 * packages/server/dist/demo/, seen from src/ (tests) and dist/ alike.
 */
export const DEMO_DIR = fileURLToPath(new URL('../../../dist/demo/', import.meta.url));

/** The demo page's files, read once at start. */
export interface DemoAssets {
  readonly html: string;
  readonly css: string;
  /** The bundle of packages/server/demo/demo.ts and @sigil/client. */
  readonly script: string;
}

/** Reads the built demo page; a missing file is a clear start-up error, not a 404 later. */
export function loadDemoAssets(dir: string = DEMO_DIR): DemoAssets {
  const read = (name: string): string => {
    const path = join(dir, name);
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new Error(`the demo page is not built: ${path} is missing. Run "npm run build" (it bundles packages/server/demo/ with esbuild).`);
    }
  };
  const script = read('demo.js');
  return { html: read('index.html'), css: read('demo.css'), script };
}
