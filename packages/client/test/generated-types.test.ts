/**
 * `types/generated-schema.ts` is what `sigil typegen` emits for the fixture
 * collections, checked in so that `npm run typecheck` compiles the client's
 * typed use of it (`types/typed-generated.ts`). This fails when typegen's
 * output changed and the file was not regenerated (`SIGIL_UPDATE_GENERATED=1
 * npx vitest run packages/client/test/generated-types.test.ts` rewrites it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { generateTypes } from '../../server/src/core/collections/typegen.js';
import { FIXTURE_COLLECTIONS } from './types/fixture-collections.js';

const FILE = fileURLToPath(new URL('./types/generated-schema.ts', import.meta.url));

it('the checked-in generated types are what sigil typegen emits now', () => {
  const generated = generateTypes(FIXTURE_COLLECTIONS);
  if (process.env['SIGIL_UPDATE_GENERATED'] === '1') writeFileSync(FILE, generated);
  expect(readFileSync(FILE, 'utf8')).toBe(generated);
  expect(generated).toContain('export interface SigilSchema {');
});
