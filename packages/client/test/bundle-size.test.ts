/**
 * The browser build of the client (auth, records, realtime, live queries;
 * esbuild, minified, gzipped) stays under 12 kB: the number `npm run bench`
 * prints, checked here too. Bundling for the browser platform also proves
 * the client pulls in no Node.js module.
 */
import { describe, expect, it } from 'vitest';
import { bundleClient, GZIP_BUDGET_BYTES, measureClientBundle } from '../../../bench/client-size.mjs';

describe('the browser build', () => {
  it('is under 12 kB minified and gzipped', async () => {
    const { minified, gzipped } = await measureClientBundle();
    console.log(`@sigil/client browser build: ${minified} B minified, ${gzipped} B gzipped`);
    expect(gzipped).toBeLessThan(GZIP_BUDGET_BYTES);
    expect(GZIP_BUDGET_BYTES).toBe(12_000);
  });

  it('holds the whole core and nothing of Node.js', async () => {
    const code = await bundleClient({ minify: false });
    for (const name of ['createClient', 'localStorageTokenStore', 'startLiveQuery', 'Realtime', 'LiveWindow', 'navigator', 'compareSortValues']) expect(code).toContain(name);
    expect(code).not.toMatch(/from\s*["']node:|require\(/);
  });
});
