import { defineConfig } from 'vite';

/**
 * Built into dist/ and served by `sigil serve` at /_/ (http/routes/dashboard-routes.ts).
 * Preact through Vite's own JSX transform (no plugin); `react` imports (the
 * client's `@sigil/client/react` binding) resolve to preact/compat.
 */
export default defineConfig({
  base: '/_/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    alias: { react: 'preact/compat', 'react-dom': 'preact/compat', 'react/jsx-runtime': 'preact/jsx-runtime' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Everything the page loads is a file of its own: the CSP allows 'self' scripts and styles only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
