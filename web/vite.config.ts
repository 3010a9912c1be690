// Builds the web console into web/dist, served by `kubecred serve` at /console. Preact through Vite's
// built-in oxc JSX transform; no inline scripts or styles, so the server's strict CSP holds.

import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // An inline polyfill script or data: URIs would need CSP exceptions: none are wanted.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // `npm run dev:console` against a local `kubecred serve` (self-signed TLS on 7443).
    proxy: { '/v1': { target: 'https://127.0.0.1:7443', secure: false } },
  },
});
