import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Starts (or connects to) the PostgreSQL server the contract suites use; bundles the demo page the servers serve.
    globalSetup: ['packages/server/test/helpers/postgres-global-setup.ts', 'packages/server/test/helpers/demo-global-setup.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: 'test' },
  },
});
