// The console's build: static files under /console/, embedded into the takedown binary by the
// project's build. No inline scripts or styles, no data: URIs (the server's CSP forbids them).
// Two pages: index.html (the console, /console/) and report.html (the victims' form, served by
// takedown at /report and /report/case), each with its own entry, sharing only what they import.
// Development: TAKEDOWN_URL=http://127.0.0.1:PORT npx vite (or vite preview) proxies the API to a
// running `takedown serve`, so the console stays same-origin as in production; /report and
// /report/case answer with report.html there too.
import { defineConfig } from 'vite';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const here = fileURLToPath(new URL('.', import.meta.url));

// The WebAssembly hashing module (wasm/, scripts/build-wasm.sh): the project's build passes its
// folder in TAKEDOWN_WASM_DIR; by hand, the ASan build tree's copy.
let wasmDir = process.env.TAKEDOWN_WASM_DIR;
if (!wasmDir) {
  wasmDir = resolve(here, '../build-asan/src/http/wasm-dist');
  console.warn(`vite.config.js: TAKEDOWN_WASM_DIR is not set: using ${wasmDir} (the hashing module of the ASan build tree)`);
}
wasmDir = resolve(wasmDir);
if (!existsSync(resolve(wasmDir, 'takedown-hash.mjs')) || !existsSync(resolve(wasmDir, 'takedown-hash.wasm'))) {
  console.warn(`vite.config.js: ${wasmDir} has no takedown-hash.mjs and takedown-hash.wasm: ` +
    'the report page cannot be built (build the project, or scripts/build-wasm.sh WORK_DIR OUT_DIR)');
}

const target = process.env.TAKEDOWN_URL || 'http://127.0.0.1:8080';
const proxied = ['/v1', '/console/session', '/openapi.json', '/readyz', '/metrics'];
const proxy = Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: false }]));
// The CSP takedown serves the console with; preview uses it too so violations show in tests.
export const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
  "frame-ancestors 'none'";
// The report page's: WebAssembly in its worker, thumbnails drawn from blob: URLs.
export const reportCsp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
  "style-src 'self'; img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
  "form-action 'self'; frame-ancestors 'none'";

// /report and /report/case answer with report.html, as takedown serves them; each answer gets the
// CSP takedown sends with it: the report's for its page and its worker (a worker is governed by
// its own script's CSP), the console's for the rest. Preview only: the development server
// injects inline scripts of its own, which no CSP here would let through.
function reportRoutes() {
  const middleware = (req, res, next) => {
    const path = (req.url || '').split('?')[0];
    const report = /^\/report(\/case)?\/?$/.test(path);
    if (report) {
      req.url = '/console/report.html';
      res.setHeader('Cache-Control', 'no-store');
    }
    res.setHeader('Content-Security-Policy', report || /^\/console\/assets\/report-worker-/.test(path) ? reportCsp : csp);
    next();
  };
  return {
    name: 'takedown-report-routes',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (/^\/report(\/case)?\/?$/.test((req.url || '').split('?')[0])) req.url = '/console/report.html';
        next();
      });
    },
    configurePreviewServer(server) { server.middlewares.use(middleware); },
  };
}

export default defineConfig({
  base: '/console/',
  resolve: { alias: { 'takedown-wasm': wasmDir } },
  plugins: [reportRoutes()],
  build: {
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    outDir: 'dist',
    emptyOutDir: true,
    rolldownOptions: {
      input: { index: resolve(here, 'index.html'), report: resolve(here, 'report.html') },
      // What both pages load (Preact and htm) in one chunk of its own name.
      output: { codeSplitting: { groups: [{ name: 'preact', test: /node_modules[\\/](preact|htm)[\\/]/ }] } },
    },
  },
  worker: {
    format: 'es',
    rolldownOptions: { output: { entryFileNames: 'assets/report-worker-[hash].js', chunkFileNames: 'assets/report-worker-[name]-[hash].js' } },
  },
  server: { proxy, fs: { allow: [here, wasmDir] } },
  preview: { proxy }, // CSP: reportRoutes()
});
