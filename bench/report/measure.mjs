// The victims' form's benchmark: in Chromium (Debian's, through playwright-core; 390x844, a phone's
// width), the time the report page takes to hash, in its Web Worker,
//   (a) a generated 12-megapixel JPEG (ffmpeg testsrc2 4000x3000 with noise, -q:v 2): PDQ, the 8
//       dihedral hashes, the bank variants, MD5 and SHA-256 (the WebAssembly build of
//       `takedown hash --bank`): cold (a fresh page, the file chosen the moment the picker shows:
//       the worker's start and the module's compile, begun when the page loads, partly included),
//       first (a fresh page, the file chosen --pick-ms after the picker shows, as a person
//       would: the first photo a person hashes) and warm (the same page again), each split into
//       reading the file and hashing it;
//   (b) each video under ../shared/media/videos: MD5 and SHA-256 streamed over file.stream(), then
//       the frames the browser can decode (two moments a second, at most 120: drawn from a
//       <video> element, hashed in the worker as the server hashes a bank video's frame);
// then (c) the report page's JavaScript and WebAssembly (report.html and everything it loads, the
// worker and its .wasm included), raw and gzip -9.
// The page comes from a takedown binary that serves /report (--binary), or else from a built
// console folder (--dist, default console/dist: `cd console && npx vite build`) served here with
// the report page's CSP. Prints figures, not a verdict: the exit status is 0 unless it fails.
// Usage: node bench/report/measure.mjs [--binary PATH | --dist DIR] [--runs N] [--pick-ms MS (1000)]
import { execFileSync, execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync, constants as zc } from 'node:zlib';
import { startTakedown } from '../../tests/browser/lib/server.mjs';
import { launch, newContext } from '../../tests/browser/lib/browser.mjs';

const REPO = resolve(new URL('../../', import.meta.url).pathname);
const opt = { binary: '', dist: join(REPO, 'console/dist'), runs: 5, pickMs: 1000 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const want = () => { const v = process.argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
  if (a === '--binary') opt.binary = resolve(want());
  else if (a === '--dist') opt.dist = resolve(want());
  else if (a === '--runs') opt.runs = Number(want());
  else if (a === '--pick-ms') opt.pickMs = Number(want());
  else throw new Error(`unknown argument ${a} (usage: measure.mjs [--binary PATH | --dist DIR] [--runs N] [--pick-ms MS])`);
}
if (!Number.isInteger(opt.runs) || opt.runs < 1) throw new Error('--runs must be a positive integer');
if (!Number.isInteger(opt.pickMs) || opt.pickMs < 0) throw new Error('--pick-ms must be a whole number of milliseconds');

const log = (l) => process.stdout.write(`${l}\n`);
const kb = (b) => `${(b / 1000).toFixed(1)} KB`;
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
function median(xs) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ---- where the page comes from ----------------------------------------------------------------
const REPORT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'; " +
  "img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.json': 'application/json' };

function serveDist(dist) {
  if (!existsSync(join(dist, 'report.html'))) throw new Error(`${dist}/report.html is missing: build the console (cd console && npx vite build) or pass --binary`);
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    let file = null;
    if (path === '/report' || path === '/report/case') file = join(dist, 'report.html');
    else if (path.startsWith('/console/')) file = join(dist, path.slice('/console/'.length));
    if (!file || file.includes('..') || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'content-security-policy': REPORT_CSP, 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${server.address().port}`, stop: () => new Promise((d) => server.close(d)) })));
}

// ---- inputs -----------------------------------------------------------------------------------
function makeJpeg(dir) {
  const out = join(dir, 'twelve-megapixels.jpg');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=4000x3000', '-vf', 'noise=alls=24:allf=t',
    '-frames:v', '1', '-q:v', '2', '-y', out]);
  return out;
}

// ---- the page ---------------------------------------------------------------------------------
// Marks of each file row's stage changes (queued, reading, hashing, done), from the page itself.
function installMarks() {
  window.__marks = [];
  document.addEventListener('change', (e) => { if (e.target && e.target.type === 'file') window.__marks.push({ row: -1, stage: 'chosen', t: performance.now() }); }, true);
  new MutationObserver((records) => {
    const t = performance.now();
    for (const r of records) {
      const el = r.target;
      if (r.type === 'attributes' && el.classList && el.classList.contains('file-row')) {
        window.__marks.push({ row: Number(el.dataset.file), stage: el.dataset.stage, t });
      } else if (r.type === 'childList') {
        for (const n of r.addedNodes) {
          const rows = n.nodeType === 1 ? [...(n.matches('.file-row') ? [n] : []), ...n.querySelectorAll('.file-row')] : [];
          for (const row of rows) window.__marks.push({ row: Number(row.dataset.file), stage: row.dataset.stage, t });
        }
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-stage'] });
}

// Hash one file in the page (its row index `row` once added); the times of its stages.
async function hashOnce(page, file, row) {
  await page.evaluate(() => { window.__marks = window.__marks.filter((m) => m.stage !== 'chosen'); });
  await page.getByLabel('Choose photos or videos', { exact: true }).setInputFiles(file);
  await page.waitForFunction((row) => {
    const r = document.querySelectorAll('.file-row')[row];
    return r && ['done', 'low', 'error'].includes(r.dataset.stage);
  }, row, { timeout: 600000, polling: 50 });
  const { marks, stage, text } = await page.evaluate((row) => {
    const r = document.querySelectorAll('.file-row')[row];
    return { marks: window.__marks, stage: r.dataset.stage, text: r.innerText };
  }, row);
  if (stage === 'error') throw new Error(`hashing ${file} failed in the page: ${text}`);
  const chosen = marks.find((m) => m.stage === 'chosen').t;
  const at = (s) => { const m = marks.find((x) => x.row === row && x.stage === s); return m ? m.t : NaN; };
  const done = at(stage);
  const hashing = at('hashing');
  const frames = /of (\d+) moments/.exec(text);
  return { total: done - chosen, reading: (Number.isFinite(hashing) ? hashing : done) - chosen, hashing: Number.isFinite(hashing) ? done - hashing : NaN,
    frames: frames ? Number(frames[1]) : 0 };
}

async function assets(origin) {
  const seen = new Map();
  const queue = ['/report'];
  while (queue.length) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    const res = await fetch(origin + path);
    const buf = Buffer.from(await res.arrayBuffer());
    seen.set(path, { status: res.status, raw: buf.length, gz: gzipSync(buf, { level: zc.Z_BEST_COMPRESSION }).length, encoding: res.headers.get('content-encoding') || 'none' });
    if (!res.ok) continue;
    const text = /\.(wasm)$/.test(path) ? '' : buf.toString('utf8');
    const refs = new Set();
    if (path === '/report') for (const m of text.matchAll(/(?:src|href)\s*=\s*["']([^"'#?]+)/g)) refs.add(m[1]);
    if (/\.m?js$/.test(path)) for (const m of text.matchAll(/["'`]((?:\.{1,2}\/|\/console\/)[\w./-]+\.(?:m?js|css|wasm))["'`]/g)) refs.add(m[1]);
    for (const r of refs) {
      const u = new URL(r, origin + path);
      if (u.origin === origin && u.pathname.startsWith('/console/')) queue.push(u.pathname);
    }
  }
  return [...seen].map(([path, v]) => ({ path, ...v }));
}

// ---- main -------------------------------------------------------------------------------------
let server = null, browser = null;
const work = mkdtempSync(join(tmpdir(), 'bench-report-'));
async function cleanup() {
  try { if (browser) await browser.close(); } catch { /* gone */ }
  try { if (server) await server.stop(); } catch { /* gone */ }
  rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup().finally(() => process.exit(130)); });

async function main() {
  if (opt.binary) {
    server = await startTakedown({ binary: opt.binary, extraArgs: ['--log.level', 'warn'] });
    const r = await fetch(`${server.url}/report`);
    if (!r.ok || !(r.headers.get('content-type') || '').includes('text/html')) throw new Error(`${opt.binary} does not serve /report (status ${r.status}): use --dist`);
    log(`page: ${server.url}/report (takedown ${opt.binary})`);
  } else {
    server = await serveDist(opt.dist);
    log(`page: ${server.url}/report (${opt.dist}, served here with the report page's CSP)`);
  }
  const origin = server.url;
  const jpeg = makeJpeg(work);
  const jpegSize = statSync(jpeg).size;
  log(`input: ${jpeg.replace(work, '<tmp>')} 4000x3000, ${mb(jpegSize)}`);
  let native = null;
  if (opt.binary) {
    const t0 = performance.now();
    await promisify(execFile)(opt.binary, ['hash', '--format', 'jsonl', '--bank', jpeg], { maxBuffer: 1 << 26, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    native = performance.now() - t0;
  }

  browser = await launch();
  const context = await newContext(browser, { lang: 'en', width: 390 });
  await context.addInitScript(installMarks);
  const errors = [];
  const cold = [], first = [], warm = [];
  log(`\n(a) the 12-megapixel JPEG, ${opt.runs} runs (cold: a fresh page, chosen at once; first: a fresh page, chosen ${opt.pickMs} ms after the picker shows; warm: the same page again)`);
  const fresh = async () => {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/report`);
    await page.getByLabel('Choose photos or videos', { exact: true }).waitFor();
    return page;
  };
  const line = (x) => `${ms(x.total)} (reading ${ms(x.reading)}, hashing ${ms(x.hashing)})`;
  for (let i = 0; i < opt.runs; i++) {
    let page = await fresh();
    const c = await hashOnce(page, jpeg, 0);
    const w = await hashOnce(page, jpeg, 1);
    await page.close();
    page = await fresh();
    await new Promise((r) => setTimeout(r, opt.pickMs));
    const f = await hashOnce(page, jpeg, 0);
    await page.close();
    cold.push(c); first.push(f); warm.push(w);
    log(`  run ${i + 1}: cold ${line(c)};  first ${line(f)};  warm ${line(w)}`);
  }

  const videoDir = join(REPO, '../shared/media/videos');
  const videos = [];
  if (existsSync(videoDir)) {
    log('\n(b) videos: MD5 and SHA-256 streamed in the worker, then the frames the browser decodes (median of runs, warm page)');
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/report`);
    await page.getByLabel('Choose photos or videos', { exact: true }).waitFor();
    let row = 0;
    for (const name of readdirSync(videoDir).sort()) {
      const file = join(videoDir, name);
      const size = statSync(file).size;
      const times = [];
      let frames = 0;
      for (let i = 0; i < opt.runs; i++) {
        const r = await hashOnce(page, file, row++);
        times.push(r.total);
        frames = r.frames;
      }
      const m = median(times);
      videos.push({ name, size, median: m, frames });
      log(`  ${name.padEnd(16)} ${mb(size).padStart(8)}  ${ms(m).padStart(8)}  ${frames ? `${frames} frames` : 'not decoded by this browser: digests only'}`);
    }
    await page.close();
  } else log(`\n(b) SKIPPED: ${videoDir} is missing (../shared)`);

  const list = await assets(origin);
  log('\n(c) the report page\'s files (report.html and what it loads, the worker and its .wasm):');
  for (const a of list) log(`  ${a.path.padEnd(48)} ${String(a.status).padEnd(4)} ${kb(a.raw).padStart(10)} raw ${kb(a.gz).padStart(10)} gzip -9`);
  const sum = (f) => list.filter(f).reduce((n, a) => n + a.gz, 0);
  const sumRaw = (f) => list.filter(f).reduce((n, a) => n + a.raw, 0);
  const isJs = (a) => /\.m?js$/.test(a.path), isWasm = (a) => /\.wasm$/.test(a.path);
  if (errors.length) log(`\npage errors:\n  ${errors.join('\n  ')}`);

  const med = (xs) => `${ms(median(xs.map((x) => x.total)))} (reading ${ms(median(xs.map((x) => x.reading)))}, hashing ${ms(median(xs.map((x) => x.hashing)))})`;
  const lines = [
    '',
    '==================== report page benchmark: summary ====================',
    `page           ${opt.binary ? `takedown ${opt.binary}` : opt.dist}; Chromium at 390x844`,
    `12 MP JPEG     ${mb(jpegSize)}, medians of ${opt.runs} runs: first photo (chosen ${opt.pickMs} ms after the picker shows) ${med(first)};` +
      ` cold (chosen at once) ${med(cold)}; warm ${med(warm)}` +
      (native !== null ? `; takedown hash --bank (CLI, process start included) ${ms(native)}` : ''),
    ...videos.map((v) => `video          ${v.name}: ${mb(v.size)} in ${ms(v.median)}: MD5+SHA-256` +
      (v.frames ? ` and ${v.frames} frames (${ms(v.median / v.frames)} a frame)` : ', frames not decodable by this browser')),
    `JS             ${list.filter(isJs).length} files: ${kb(sumRaw(isJs))} raw, ${kb(sum(isJs))} gzip -9`,
    `wasm           ${list.filter(isWasm).length} file: ${kb(sumRaw(isWasm))} raw, ${kb(sum(isWasm))} gzip -9`,
    `JS + wasm      ${kb(sum((a) => isJs(a) || isWasm(a)))} gzip -9 (all files with HTML and CSS: ${kb(sum(() => true))}; served ${list[0].encoding === 'none' ? 'uncompressed' : list[0].encoding})`,
    '=========================================================================',
  ];
  for (const l of lines) log(l);
}

main().then(async () => { await cleanup(); process.exit(0); }, async (e) => {
  process.stderr.write(`bench-report: ${e && e.stack ? e.stack : e}\n`);
  await cleanup();
  process.exit(1);
});
