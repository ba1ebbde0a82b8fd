// A fresh takedown for the browser tests: a new store with one key per role (and a second
// requester and reviewer), `takedown serve` on a free port with evidence retention on (so reviewers
// get previews), and a small webhook receiver standing in for the platform: it answers every
// signed action with 200, which acknowledges it (docs/configuration.md, webhook.url).
import { spawn, execFile } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SECRET = 'browser-test-webhook-secret';

function createKey(bin, store, role, name) {
  return run(bin, ['admin', 'create-key', '--create', '--role', role, '--name', name, '--store', store])
    .then(({ stdout }) => stdout.trim().split('\n').pop().trim());
}

// The platform's webhook receiver: verifies the signature, remembers the action, answers 200.
function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const ts = req.headers['x-takedown-timestamp'] || '';
      const sig = String(req.headers['x-takedown-signature'] || '').replace(/^v1=/, '');
      const want = createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
      const ok = sig.length === want.length && timingSafeEqual(Buffer.from(sig), Buffer.from(want));
      if (!ok) { res.writeHead(401); res.end('bad signature'); return; }
      try { received.push(JSON.parse(body)); } catch { received.push(body); }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, received, port: server.address().port })));
}

// port: 0 (a free one, printed) or one chosen beforehand (freePort()), for settings that name it.
export async function startTakedown({ binary = process.env.TAKEDOWN_BINARY, extraArgs = [], port = 0 } = {}) {
  if (!binary || !existsSync(binary)) throw new Error(`TAKEDOWN_BINARY not found: ${binary}`);
  const dir = mkdtempSync(join(tmpdir(), 'takedown-browser-'));
  const store = join(dir, 'takedown.db');
  const keys = {};
  // Sequential: the first call creates the store.
  for (const [slot, role, name] of [['admin', 'admin', 'Ada Admin'], ['reviewer', 'reviewer', 'Rita Reviewer'],
    ['reviewer2', 'reviewer', 'Ravi Reviewer'], ['requester', 'requester', 'Hotline One'],
    ['requester2', 'requester', 'Hotline Two'], ['platform', 'platform', 'Example Platform']]) {
    keys[slot] = await createKey(binary, store, role, name);
  }
  const receiver = await startReceiver();
  const args = ['serve', '--store.path', store, '--server.port', String(port),
    '--webhook.url', `http://127.0.0.1:${receiver.port}/takedown/webhook`,
    '--evidence.retention_days', '7', ...extraArgs];
  const child = spawn(binary, args, {
    env: { ...process.env, TAKEDOWN_WEBHOOK_SECRET: SECRET, ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stderr.on('data', (d) => { err += d; if (err.length > 200000) err = err.slice(-100000); });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`takedown serve did not print its address in 60 s\n${err}`)), 60000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^listening on (http:\/\/\S+)$/m);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`takedown serve exited ${code}\n${err}`)); });
  });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${url}/readyz`)).ok) break; } catch { /* not yet */ }
    if (i > 600) throw new Error(`takedown not ready: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = makeApi(url);
  const ids = {};
  for (const [name, key] of Object.entries(keys)) ids[name] = (await api(key, 'GET', '/v1/whoami')).body.key_id;
  return {
    url, keys, ids, dir, store, receiver, api, stderr: () => err,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 10000); child.on('exit', () => { clearTimeout(t); r(); }); });
      }
      await new Promise((r) => receiver.server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// api(key, method, path, body?, {raw, contentType}) -> {status, body, headers}
export function makeApi(url) {
  return async (key, method, path, body, opts = {}) => {
    const headers = { authorization: `Bearer ${key}` };
    let payload;
    if (body !== undefined) {
      if (opts.raw !== undefined || Buffer.isBuffer(body) || typeof body === 'string') {
        payload = body; headers['content-type'] = opts.contentType || 'application/octet-stream';
      } else { payload = JSON.stringify(body); headers['content-type'] = 'application/json'; }
    }
    const res = await fetch(url + path, { method, headers, body: payload });
    const text = await res.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* text */ }
    return { status: res.status, body: parsed, headers: res.headers };
  };
}

export async function poll(fn, { timeoutMs = 30000, intervalMs = 250, what = 'condition' } = {}) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeoutMs) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// A port free on 127.0.0.1 now (for a server started right after).
export function freePort() {
  return new Promise((r) => { const srv = createServer(); srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => r(p)); }); });
}

// Where the console is served. takedown serves the built console at /console/; until a build with
// it is at hand, TAKEDOWN_CONSOLE_PREVIEW=1 serves console/dist with `vite preview` (same CSP,
// the API proxied to takedown), so the tests can run against the console alone; =force always
// does (to test a console/dist newer than the one embedded in the binary).
// path: the page to look for (the report page: '/report', which vite preview answers as well).
export async function consoleOrigin(s, { path = '/console/' } = {}) {
  const res = await fetch(`${s.url}${path}`).catch(() => null);
  const type = res ? res.headers.get('content-type') || '' : '';
  const mode = process.env.TAKEDOWN_CONSOLE_PREVIEW || '';
  if (mode !== 'force' && res && res.ok && type.includes('text/html')) return { origin: s.url, stop: async () => {} };
  if (mode !== '1' && mode !== 'force') {
    throw new Error(`${s.url}${path} is not the console (status ${res && res.status}, ${type}): build takedown with the console ` +
      'embedded, or set TAKEDOWN_CONSOLE_PREVIEW=1 to test console/dist through vite preview');
  }
  const consoleDir = new URL('../../../console/', import.meta.url).pathname;
  const port = await freePort();
  // --bypass-lock: a test may preview for a second takedown while the first one's preview runs.
  const child = spawn(join(consoleDir, 'node_modules/.bin/vite'), ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--bypass-lock'],
    { cwd: consoleDir, env: { ...process.env, TAKEDOWN_URL: s.url }, stdio: ['ignore', 'pipe', 'pipe'] });
  const origin = `http://127.0.0.1:${port}`;
  await poll(async () => (await fetch(`${origin}${path}`).catch(() => null))?.ok, { timeoutMs: 20000, what: 'vite preview' });
  return { origin, stop: async () => { child.kill('SIGTERM'); } };
}
