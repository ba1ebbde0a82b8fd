// The console's build: static files under /console/, embedded into the takedown binary by the
// project's build. No inline scripts or styles, no data: URIs (the server's CSP forbids them).
// Development: TAKEDOWN_URL=http://127.0.0.1:PORT npx vite (or vite preview) proxies the API to a
// running `takedown serve`, so the console stays same-origin as in production.
import { defineConfig } from 'vite';

const target = process.env.TAKEDOWN_URL || 'http://127.0.0.1:8080';
const proxied = ['/v1', '/console/session', '/openapi.json', '/readyz', '/metrics'];
const proxy = Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: false }]));
// The CSP takedown serves the console with; preview uses it too so violations show in tests.
export const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
  "frame-ancestors 'none'";

export default defineConfig({
  base: '/console/',
  build: {
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    outDir: 'dist',
    emptyOutDir: true,
  },
  server: { proxy },
  preview: { proxy, headers: { 'Content-Security-Policy': csp } },
});
