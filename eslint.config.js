// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      // noUncheckedIndexedAccess is on; `!` marks an index the code has just bounds-checked.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Lengths are Unicode code points on purpose (SPEC: passwords of 8–128 characters).
      '@typescript-eslint/no-misused-spread': 'off',
      // The storage interface is async; the SQLite adapter fulfils it synchronously.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests poke at internals on purpose (replacing a method to simulate a failing database).
    files: ['**/test/**/*.ts', '**/test/**/*.tsx', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Lengths are Unicode code points on purpose (SPEC: passwords of 8–128 characters).
      '@typescript-eslint/no-misused-spread': 'off',
      // The storage interface is async; the SQLite adapter fulfils it synchronously.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The domain core knows nothing of transports or database drivers.
    files: ['packages/server/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['fastify', '@fastify/*', 'ws', 'better-sqlite3', 'pg', 'pino'], message: 'core/ must not depend on transports, drivers or logging.' },
            { group: ['**/http/**', '**/ws/**', '**/adapters/**', '**/cli/**'], message: 'Dependencies point inward: core/ must not import outer layers.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/protocol/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./)', message: 'protocol has zero dependencies.' }] }],
    },
  },
  {
    // The client runs in browsers: it depends on the protocol and nothing else (no Node.js modules).
    files: ['packages/client/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./|@sigil/protocol$)', message: 'the client depends only on @sigil/protocol.' }] }],
    },
  },
  {
    // The React entry (@sigil/client/react) alone may import React, its optional peer.
    files: ['packages/client/src/react.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./|@sigil/protocol$|react$)', message: 'the React entry depends only on @sigil/protocol and react.' }] }],
    },
  },
  {
    // The dashboard talks to the server only through the client (SPEC §5.1): no fetch, no WebSocket of its own.
    files: ['packages/dashboard/src/**/*.ts', 'packages/dashboard/src/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./|\\.\\./|@sigil/client(/react)?$|preact(/hooks|/compat)?$)', message: 'the dashboard uses @sigil/client and preact only.' }] }],
      'no-restricted-globals': ['error', { name: 'fetch', message: 'talk to the server through the client' }, { name: 'WebSocket', message: 'realtime goes through the client' }, { name: 'XMLHttpRequest', message: 'talk to the server through the client' }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', fetch: 'readonly', Buffer: 'readonly', AbortController: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
  },
);
