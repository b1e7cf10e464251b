import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is built into the package (dist/dashboard) and served by the hub at /:
// every script, style and font is bundled, so it works offline and needs no CDN.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  build: {
    outDir: fileURLToPath(new URL('../../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 300,
  },
  server: {
    // `npx vite dashboards/web` during development: the API comes from a running hub.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
