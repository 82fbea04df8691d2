import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The portal, built into dist/web and served by the Elevate server at `/` (src/server/portal.ts).
// Built by `npm run build` (vite build web): root is this folder. `npm run dev:web` serves it with
// hot reload on :5173 and passes /api and /auth to a server on :8080, which must then believe it is
// reached there (ELEVATE_PUBLIC_URL=http://localhost:5173) for its cookies and Origin check.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    // No inline scripts or data: modules: the Content-Security-Policy allows scripts from this origin only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/auth': 'http://127.0.0.1:8080' } },
});
