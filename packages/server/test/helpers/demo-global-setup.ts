/**
 * The in-process servers of the tests serve the demo page from
 * packages/server/dist/demo/ like the built one: bundle it first (esbuild,
 * well under a second), so a suite run without `npm run build` finds it.
 */
import { buildDemo } from '../../scripts/build-demo.mjs';

export default async function setup(): Promise<void> {
  await buildDemo();
}
