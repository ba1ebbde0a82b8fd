// The console's benchmark (run by scripts/bench-console.sh): a fresh takedown with ITEMS content
// items (random MD5 and PDQ, backfilled through POST /v1/content/batch, 10,000 a call) and PENDING
// requests pending review (an untrusted requester's hash evidence; filed through POST /v1/requests,
// CONCURRENCY in flight), then in Chromium (1280x800, signed in as a reviewer through the UI):
//   (a) navigation to /console/queue until the first page of rows is visible and a row is clickable;
//   (b) navigation to /console/requests/ID (a request in the middle, whose evidence matches a few
//       content items, so its spread has copies) until its Summary heading and an enabled Approve
//       button are visible;
// a warm-up and RUNS runs each, median and max, with where the time went (from the page's own
// Resource Timing: the console starting up, the API answering, the rows being drawn), and the
// server's time for the same API calls measured directly. Then the console's assets (/console/ and
// everything it references), raw and gzip -9. Goals (issue): each page < 1 s, assets < 300 KB
// compressed. Prints figures, not a verdict: the exit status is 0 unless the benchmark fails.
// Usage: node bench/console/measure.mjs --binary PATH [--pending N] [--items N] [--runs N]
//                                       [--concurrency N] [--asan]
import { randomBytes } from 'node:crypto';
import { gzipSync, constants as zc } from 'node:zlib';
import { startTakedown } from '../../tests/browser/lib/server.mjs';
import { launch, newContext, signIn } from '../../tests/browser/lib/browser.mjs';

// ---- arguments ------------------------------------------------------------------------------
const opt = { pending: 10000, items: 1000000, runs: 5, concurrency: 16, binary: '', asan: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const want = (k) => { const v = process.argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
  if (a === '--pending') opt.pending = Number(want());
  else if (a === '--items') opt.items = Number(want());
  else if (a === '--runs') opt.runs = Number(want());
  else if (a === '--concurrency') opt.concurrency = Number(want());
  else if (a === '--binary') opt.binary = want();
  else if (a === '--asan') opt.asan = true;
  else throw new Error(`unknown argument ${a}`);
}
for (const k of ['pending', 'items', 'runs', 'concurrency']) {
  if (!Number.isInteger(opt[k]) || opt[k] < (k === 'items' ? 0 : 1)) throw new Error(`--${k} must be a positive integer`);
}
if (!opt.binary) throw new Error('--binary PATH is required');

const BATCH = 10000;
const GOAL_MS = 1000;
// The queue page's page size (console/src/views/queue.js asks for this many).
const QUEUE_PAGE = 200;
const GOAL_ASSETS = 300 * 1000; // bytes, compressed (KB = 1000 bytes: the stricter reading)
const COPIES = 5; // content items planted per reported picture (its spread)
const GROUPS = Math.max(1, Math.min(50, Math.floor(opt.items / COPIES), opt.pending));

// ---- small helpers --------------------------------------------------------------------------
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n) => n.toLocaleString('en-US');
const ms = (v) => (v === undefined || v === null || Number.isNaN(v) ? '   n/a' : `${v.toFixed(0).padStart(6)}`);
const kb = (b) => `${(b / 1000).toFixed(1)} KB`;
function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
const max = (xs) => Math.max(...xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)));
function log(line) { process.stdout.write(`${line}\n`); }
function elapsed(t0) { return `${((now() - t0) / 1000).toFixed(1)} s`; }

// Random hex, drawn in bulk (one randomBytes call per batch).
function hexPool(bytes) {
  const buf = randomBytes(bytes);
  let off = 0;
  return (n) => { const s = buf.toString('hex', off, off + n); off += n; return s; };
}
// A near copy's PDQ: `bits` distinct bits of `hex` flipped.
function flipBits(hex, bits, seed) {
  const b = Buffer.from(hex, 'hex');
  const used = new Set();
  let s = Math.imul(seed + 1, 2654435761) >>> 0;
  while (used.size < bits) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; used.add(s >>> 24); }
  for (const bit of used) b[bit >> 3] ^= 1 << (bit & 7);
  return b.toString('hex');
}

// The reported pictures: GROUPS of them, each with COPIES copies spread through the content index
// (copy 0 identical, copy 1 the same MD5 (a re-upload), the rest near copies: a few PDQ bits off,
// another MD5), and one request per picture among the pending requests.
const groups = Array.from({ length: GROUPS }, (_, g) => {
  const md5 = randomBytes(16).toString('hex'), pdq = randomBytes(32).toString('hex');
  return {
    md5, pdq,
    copies: Array.from({ length: COPIES }, (_, c) => (c <= 1 ? { md5, pdq } : { md5: randomBytes(16).toString('hex'), pdq: flipBits(pdq, 2 * c, g * 31 + c) })),
  };
});
const plantStride = Math.max(1, Math.floor(opt.items / (GROUPS * COPIES)));
const reqStride = Math.max(1, Math.floor(opt.pending / GROUPS));
const target = reqStride * Math.floor(GROUPS / 2); // the request measured: one with copies, in the middle

function contentBatch(from, n) {
  const hex = hexPool(n * 48);
  const items = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = from + k;
    let md5 = hex(16), pdq = hex(32);
    if (i % plantStride === 0 && i / plantStride < GROUPS * COPIES) {
      const p = i / plantStride, g = groups[p % GROUPS], c = Math.floor(p / GROUPS);
      ({ md5, pdq } = g.copies[c]);
    }
    items[k] = {
      content_id: `bench-c${i}`,
      chat_id: `bench-chat${(i * 7919) % 20011}`,
      uploader_id: `bench-u${(i * 104729) % 100003}`,
      md5, pdq, quality: 90,
    };
  }
  return { items };
}

function requestBody(j) {
  const evidence = j % reqStride === 0 && j / reqStride < GROUPS
    ? [{ md5: groups[j / reqStride].md5 }, { pdq: groups[j / reqStride].pdq, quality: 100 }]
    : [{ md5: randomBytes(16).toString('hex') }];
  return {
    category: 'ncii',
    explanation: `Benchmark request ${j}: an intimate picture shared without consent.`,
    notifier: { name: 'Kim Minji', email: 'minji@example.org' },
    accuracy_statement: true, good_faith_statement: true, signature: 'Kim Minji',
    evidence,
  };
}

// ---- cleanup, also on error and signals -----------------------------------------------------
let server = null, browser = null, cleaning = null;
function cleanup() {
  if (!cleaning) {
    cleaning = (async () => {
      try { if (browser) await browser.close(); } catch { /* gone */ }
      try { if (server) await server.stop(); } catch { /* gone */ }
    })();
  }
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { log(`\n${sig}: stopping the server and removing the store`); cleanup().finally(() => process.exit(130)); });
}

// ---- the API, timed -------------------------------------------------------------------------
async function call(key, method, path, body) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const t0 = now();
  const res = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await res.text();
  const t = now() - t0;
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* text */ }
  return { status: res.status, body: parsed, ms: t, bytes: Buffer.byteLength(text) };
}

async function loadContent() {
  if (opt.items === 0) return { seconds: 0, rate: 0 };
  log(`loading ${fmt(opt.items)} content items (${Math.ceil(opt.items / BATCH)} batches of up to ${fmt(BATCH)})...`);
  const t0 = now();
  let done = 0, nextLog = 100000;
  // One batch in flight while the next is made.
  let next = JSON.stringify(contentBatch(0, Math.min(BATCH, opt.items)));
  for (let from = 0; from < opt.items; from += BATCH) {
    const n = Math.min(BATCH, opt.items - from);
    const pending = call(server.keys.platform, 'POST', '/v1/content/batch', next);
    next = from + BATCH < opt.items ? JSON.stringify(contentBatch(from + BATCH, Math.min(BATCH, opt.items - from - BATCH))) : null;
    const r = await pending;
    if (r.status !== 200) throw new Error(`POST /v1/content/batch: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
    done += n;
    if (done >= nextLog || done === opt.items) {
      const s = (now() - t0) / 1000;
      log(`  ${fmt(done).padStart(9)} items  ${s.toFixed(1)} s  ${fmt(Math.round(done / s))} items/s`);
      while (nextLog <= done) nextLog += 100000;
    }
  }
  const seconds = (now() - t0) / 1000;
  return { seconds, rate: opt.items / seconds };
}

async function fileRequests() {
  log(`filing ${fmt(opt.pending)} requests (${opt.concurrency} in flight)...`);
  const ids = new Array(opt.pending);
  const t0 = now();
  let next = 0, done = 0;
  const latencies = [];
  async function worker() {
    for (;;) {
      const j = next++;
      if (j >= opt.pending) return;
      const r = await call(server.keys.requester, 'POST', '/v1/requests', requestBody(j));
      if (r.status !== 201) throw new Error(`POST /v1/requests: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
      ids[j] = r.body.id;
      latencies.push(r.ms);
      if (++done % 1000 === 0 || done === opt.pending) {
        const s = (now() - t0) / 1000;
        log(`  ${fmt(done).padStart(7)} requests  ${s.toFixed(1)} s  ${fmt(Math.round(done / s))} requests/s`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(opt.concurrency, opt.pending) }, worker));
  const seconds = (now() - t0) / 1000;
  // Every request pending review (hash evidence has nothing to hash; it should be at once).
  const tw = now();
  let total = 0;
  for (;;) {
    const q = await call(server.keys.reviewer, 'GET', '/v1/review/queue?limit=1');
    if (q.status !== 200) throw new Error(`GET /v1/review/queue: ${q.status} ${JSON.stringify(q.body).slice(0, 300)}`);
    total = q.body.total;
    if (total >= opt.pending) break;
    if (now() - tw > 600000) throw new Error(`only ${total} of ${opt.pending} requests pending review after 10 minutes`);
    await sleep(1000);
  }
  return { ids, seconds, rate: opt.pending / seconds, p50: median(latencies), total };
}

// The server's own time for the calls the two pages make (no browser), median of RUNS.
async function serverTimes(id) {
  const calls = [
    [`GET /v1/review/queue?limit=${QUEUE_PAGE}`, `/v1/review/queue?limit=${QUEUE_PAGE}`],
    ['GET /v1/review/queue?limit=1 (what the page size costs)', '/v1/review/queue?limit=1'],
    [`GET /v1/requests/${id}`, `/v1/requests/${id}`],
    [`GET /v1/requests/${id}/spread`, `/v1/requests/${id}/spread`],
  ];
  const out = [];
  for (const [label, path] of calls) {
    await call(server.keys.reviewer, 'GET', path); // warm
    const t = [];
    let bytes = 0, body;
    for (let i = 0; i < opt.runs; i++) {
      const r = await call(server.keys.reviewer, 'GET', path);
      if (r.status !== 200) throw new Error(`${label}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      t.push(r.ms); bytes = r.bytes; body = r.body;
    }
    out.push({ label, median: median(t), max: max(t), bytes, body });
  }
  return out;
}

// ---- the browser ----------------------------------------------------------------------------
// Marks set by the page itself (performance.now(), from the navigation's start) when the elements
// we wait for first appear: a MutationObserver installed before the console's script runs.
function installMarks() {
  window.__bench = {};
  const m = window.__bench;
  const check = () => {
    const t = performance.now();
    if (!m.row && document.querySelector('tr.clickable')) {
      m.row = t;
      // The next frame after the rows' insertion: layout and paint done (approximately).
      requestAnimationFrame(() => setTimeout(() => { m.rowPaint = performance.now(); }, 0));
    }
    if (!m.summary && document.getElementById('sum-h')) m.summary = t;
    if (!m.approve) {
      const b = document.querySelector('button[value="approve"]');
      if (b && !b.disabled) m.approve = t;
    }
    if (!m.spread) {
      const s = document.querySelector('section[aria-labelledby="spread-h"]');
      if (s && !s.querySelector('[role="status"]')) m.spread = t;
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
}

// Resource Timing of the API calls (startTime, TTFB, end) relative to the navigation's start.
async function apiTimings(page) {
  return page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/v1/') || e.name.includes('/console/session'))
    .map((e) => ({ url: new URL(e.name).pathname + new URL(e.name).search, start: e.startTime, requestStart: e.requestStart, responseStart: e.responseStart, end: e.responseEnd, size: e.encodedBodySize })));
}

async function measure(page, path, waitReady, markNames) {
  await page.goto('about:blank');
  const t0 = now();
  await page.goto(server.url + path, { waitUntil: 'commit' });
  await waitReady();
  const wall = now() - t0;
  // Let the marks that come after "ready" (the spread) land, without counting them in `wall`.
  if (markNames.includes('spread')) {
    await page.waitForFunction(() => window.__bench && window.__bench.spread, null, { timeout: 120000 }).catch(() => {});
  }
  const marks = await page.evaluate(() => ({ ...window.__bench, rows: document.querySelectorAll('tr.clickable').length }));
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n ? { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd } : {};
  });
  return { wall, marks, nav, api: await apiTimings(page) };
}

// The first call whose path (and query) starts with `prefix` and, with exact, is nothing more.
function breakdown(run, prefix, mark, exact = false) {
  const e = run.api.find((a) => (exact ? a.url === prefix : a.url.startsWith(prefix)));
  if (!e) return {};
  return {
    fetchStart: e.start,
    server: e.responseStart - e.requestStart,
    download: e.end - e.responseStart,
    fetchEnd: e.end,
    render: run.marks[mark] !== undefined ? run.marks[mark] - e.end : NaN,
    size: e.size,
  };
}

async function assets() {
  const seen = new Map();
  const queue = ['/console/'];
  let encoding = '';
  while (queue.length) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    const res = await fetch(server.url + path);
    if (path === '/console/') encoding = res.headers.get('content-encoding') || 'none';
    if (!res.ok) { seen.set(path, { status: res.status, raw: 0, gz: 0 }); continue; }
    const buf = Buffer.from(await res.arrayBuffer());
    seen.set(path, { status: res.status, raw: buf.length, gz: gzipSync(buf, { level: 9 }).length, type: res.headers.get('content-type') || '' });
    const text = buf.toString('utf8');
    const refs = new Set();
    if (/\.html?$|\/$/.test(path)) for (const m of text.matchAll(/(?:src|href)\s*=\s*["']([^"'#?]+)/g)) refs.add(m[1]);
    if (/\.css$/.test(path)) for (const m of text.matchAll(/url\(\s*["']?([^"')#?]+)/g)) refs.add(m[1]);
    if (/\.m?js$/.test(path)) for (const m of text.matchAll(/["'`]((?:\.{1,2}\/|\/console\/)[\w./-]+\.(?:m?js|css|svg|png|woff2?|json|webmanifest))["'`]/g)) refs.add(m[1]);
    for (const r of refs) {
      if (/^[a-z]+:/i.test(r) && !r.startsWith(server.url)) continue; // another origin (there should be none)
      const u = new URL(r, server.url + path);
      if (u.origin === new URL(server.url).origin && u.pathname.startsWith('/console/')) queue.push(u.pathname);
    }
  }
  const list = [...seen].map(([path, v]) => ({ path, ...v }));
  return { list, raw: list.reduce((s, a) => s + a.raw, 0), gz: list.reduce((s, a) => s + a.gz, 0), encoding };
}

// ---- main -----------------------------------------------------------------------------------
async function main() {
  const tStart = now();
  log(`scale: ${fmt(opt.pending)} pending requests, ${fmt(opt.items)} content items; ${opt.runs} runs after a warm-up`);
  log(`binary: ${opt.binary}${opt.asan ? ' (AddressSanitizer build: figures are pessimistic)' : ''}`);
  server = await startTakedown({ binary: opt.binary, extraArgs: ['--log.level', 'warn'] });
  log(`server: ${server.url} (store ${server.store})`);

  const content = await loadContent();
  const reqs = await fileRequests();
  const id = reqs.ids[target];
  log(`loaded in ${elapsed(tStart)}; ${fmt(reqs.total)} pending review; measuring request ${id} (filed ${target + 1} of ${fmt(opt.pending)})`);

  log('\nthe server alone (no browser), reviewer key, median of runs:');
  const st = await serverTimes(id);
  for (const s of st) log(`  ${s.label.padEnd(58)} ${ms(s.median)} ms (max ${ms(s.max).trim()})  ${kb(s.bytes)}`);
  const spreadBody = st[3].body;
  log(`  the request's spread: ${spreadBody.totals.copies} copies in ${spreadBody.totals.chats} chats`);

  browser = await launch();
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  await context.addInitScript(installMarks);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, server.url, server.keys.reviewer);

  const queueReady = async () => {
    const row = page.locator('tr.clickable').first();
    await row.waitFor({ state: 'visible', timeout: 120000 });
    await row.click({ trial: true, timeout: 120000 }); // actionable: visible, stable, receives the click
  };
  const requestReady = async () => {
    await page.getByRole('heading', { name: 'Summary', exact: true }).waitFor({ state: 'visible', timeout: 120000 });
    await page.getByRole('button', { name: 'Approve', exact: true }).click({ trial: true, timeout: 120000 }); // visible and enabled
  };

  const results = {};
  for (const [name, path, ready, marks] of [
    ['queue', '/console/queue', queueReady, ['row']],
    ['request', `/console/requests/${id}`, requestReady, ['summary', 'approve', 'spread']],
  ]) {
    log(`\n${name === 'queue' ? '(a) /console/queue: first page of rows visible and clickable' : `(b) /console/requests/${id}: Summary and an enabled Approve button`}`);
    await measure(page, path, ready, marks); // warm-up
    const runs = [];
    for (let i = 0; i < opt.runs; i++) {
      const r = await measure(page, path, ready, marks);
      runs.push(r);
      if (name === 'queue') {
        const q = breakdown(r, '/v1/review/queue', 'row');
        log(`  run ${i + 1}: ${ms(r.wall)} ms  (in page: rows at ${ms(r.marks.row).trim()}, painted ${ms(r.marks.rowPaint).trim()}; queue fetch starts ${ms(q.fetchStart).trim()}, ` +
          `server ${ms(q.server).trim()}, body ${ms(q.download).trim()}; drawn ${ms(r.marks.row - q.fetchEnd).trim()} after the answer)`);
      } else {
        const q = breakdown(r, `/v1/requests/${id}`, 'summary', true), sp = breakdown(r, `/v1/requests/${id}/spread`, 'spread');
        log(`  run ${i + 1}: ${ms(r.wall)} ms  (in page: Summary at ${ms(r.marks.summary).trim()}, Approve at ${ms(r.marks.approve).trim()}; ` +
          `request fetch starts ${ms(q.fetchStart).trim()}, server ${ms(q.server).trim()}; spread shown at ${ms(r.marks.spread).trim()}, its server ${ms(sp.server).trim()})`);
      }
    }
    results[name] = runs;
  }
  log(`\nthe queue's first page: ${results.queue[0].marks.rows} rows`);
  if (errors.length) log(`\npage errors:\n  ${errors.join('\n  ')}`);

  const a = await assets();
  log(`\nthe console's assets (served with content-encoding: ${a.encoding}):`);
  for (const x of a.list) log(`  ${x.path.padEnd(42)} ${String(x.status).padEnd(4)} ${kb(x.raw).padStart(10)} raw ${kb(x.gz).padStart(10)} gzip -9`);

  // ---- summary ----
  const qWall = results.queue.map((r) => r.wall), rWall = results.request.map((r) => r.wall);
  const qRow = results.queue.map((r) => r.marks.row);
  const qb = results.queue.map((r) => breakdown(r, '/v1/review/queue', 'row'));
  const rb = results.request.map((r) => breakdown(r, `/v1/requests/${id}`, 'summary', true));
  const drawn = results.queue.map((r, i) => r.marks.row - qb[i].fetchEnd);
  const verdict = (ok) => (ok ? 'goal met' : 'NOT met');
  const qm = median(qWall), rm = median(rWall);
  const lines = [
    '',
    '==================== console benchmark: summary ====================',
    `binary         ${opt.binary}${opt.asan ? '  (ASan: pessimistic figures)' : ''}`,
    `scale          ${fmt(reqs.total)} pending requests, ${fmt(opt.items)} content items`,
    `load           content: ${fmt(Math.round(content.rate))} items/s (${content.seconds.toFixed(1)} s); ` +
      `requests: ${fmt(Math.round(reqs.rate))} requests/s (${reqs.seconds.toFixed(1)} s, ${opt.concurrency} in flight, median ${reqs.p50.toFixed(0)} ms each)`,
    `queue page     median ${qm.toFixed(0)} ms, max ${max(qWall).toFixed(0)} ms (${opt.runs} runs)     goal < 1000 ms: ${verdict(qm < GOAL_MS)}${max(qWall) >= GOAL_MS && qm < GOAL_MS ? ' (median; the max is over)' : ''}`,
    `  in page      ${results.queue[0].marks.rows} rows drawn at ${median(qRow).toFixed(0)} ms after navigation; GET /v1/review/queue?limit=${QUEUE_PAGE} starts at ${median(qb.map((x) => x.fetchStart)).toFixed(0)} ms,` +
      ` server ${median(qb.map((x) => x.server)).toFixed(0)} ms + body ${median(qb.map((x) => x.download)).toFixed(0)} ms (${kb(median(qb.map((x) => x.size)))});` +
      ` rows in the DOM ${median(drawn).toFixed(0)} ms after the answer,` +
      ` painted ${median(results.queue.map((r) => r.marks.rowPaint)).toFixed(0)} ms after navigation`,
    `  server alone GET /v1/review/queue?limit=${QUEUE_PAGE} ${st[0].median.toFixed(0)} ms (limit=1: ${st[1].median.toFixed(0)} ms)`,
    `request page   median ${rm.toFixed(0)} ms, max ${max(rWall).toFixed(0)} ms (${opt.runs} runs)     goal < 1000 ms: ${verdict(rm < GOAL_MS)}${max(rWall) >= GOAL_MS && rm < GOAL_MS ? ' (median; the max is over)' : ''}`,
    `  in page      Summary at ${median(results.request.map((r) => r.marks.summary)).toFixed(0)} ms, Approve at ${median(results.request.map((r) => r.marks.approve)).toFixed(0)} ms;` +
      ` GET /v1/requests/${id} server ${median(rb.map((x) => x.server)).toFixed(0)} ms; spread (${spreadBody.totals.copies} copies) shown at ${median(results.request.map((r) => r.marks.spread)).toFixed(0)} ms`,
    `  server alone GET /v1/requests/${id} ${st[2].median.toFixed(0)} ms, GET /v1/requests/${id}/spread ${st[3].median.toFixed(0)} ms`,
    `assets         ${a.list.length} files: ${kb(a.raw)} raw, ${kb(a.gz)} gzip -9 (served ${a.encoding === 'none' ? 'uncompressed' : a.encoding})     goal < 300 KB compressed: ${verdict(a.gz < GOAL_ASSETS)}`,
    `total time     ${elapsed(tStart)}`,
    '====================================================================',
  ];
  for (const l of lines) log(l);
}

main().then(async () => { await cleanup(); process.exit(0); }, async (e) => {
  process.stderr.write(`bench-console: ${e && e.stack ? e.stack : e}\n`);
  if (server) process.stderr.write(`server's stderr (last 2000 chars):\n${server.stderr().slice(-2000)}\n`);
  await cleanup();
  process.exit(1);
});
