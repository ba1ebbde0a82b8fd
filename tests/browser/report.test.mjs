// (h) The victims' form (/report, /report/case): pictures hashed in the browser (the WebAssembly
// build of `takedown hash --bank`) to the same hashes as the server's CLI, nothing of a file in any
// request, a case filed and followed to its removal with its case number and PIN, more images
// added, withdrawal (the upload gate then allows the picture), a lost PIN replaced through a link
// mailed to the case's address (a second takedown with an SMTP sink), wrong PINs throttled; the controls
// by their accessible names, problems beside their fields, axe-core and screenshots in English and
// Korean at 1280 and 390 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startTakedown, consoleOrigin, poll, freePort } from './lib/server.mjs';
import { startSmtpSink } from './lib/smtp-sink.mjs';
import { launch, newContext, guardedPage, makeJpeg, screenshot, assertAccessible, assertNoHorizontalScroll } from './lib/browser.mjs';
import { recordCopies, approve } from './lib/fixtures.mjs';

const run = promisify(execFile);
const REPO = resolve(new URL('../../', import.meta.url).pathname);
const SHARED = resolve(REPO, '../shared');
const PDQ_REF = join(SHARED, 'reference/pdq');
const WAIT_HASHED_MS = 300000;

let s, web, browser;
let filed = null; // the case the full submission filed: {case, pin}

before(async () => {
  s = await startTakedown();
  // takedown serves report.html at /report; TAKEDOWN_CONSOLE_PREVIEW=1 falls back to console/dist
  // through vite preview (which answers /report too) while the binary has no report page yet.
  web = await consoleOrigin(s, { path: '/report' });
  browser = await launch();
});
after(async () => { await browser?.close(); await web?.stop(); await s?.stop(); });

// ---- helpers ----------------------------------------------------------------------------------
const L = {
  en: { files: 'Choose photos or videos', submit: 'Submit', caseNo: 'Case number', pin: 'PIN', check: 'Check case', withdraw: 'Withdraw',
    tech: 'Technical details', title: 'Report intimate images shared without consent', caseTitle: 'Check a case' },
  ko: { files: '사진 또는 동영상 선택', submit: '제출', caseNo: '신고 번호', pin: 'PIN', check: '신고 확인', withdraw: '철회',
    tech: '기술 정보', title: '동의 없이 공유된 사적인 이미지 신고', caseTitle: '신고 확인' },
};
const NO_MATCH = 'No case matches this case number and PIN.';

async function openPage(context, path = '/report', lang = 'en', origin = web.origin) {
  const page = await guardedPage(context, origin, { allowBlob: true });
  await page.goto(origin + path);
  await page.getByRole('heading', { level: 1, name: path === '/report' ? L[lang].title : L[lang].caseTitle, exact: true }).waitFor();
  return page;
}

// Every file row hashed (ready, left out, or failed).
async function waitHashed(page, n) {
  await page.waitForFunction((n) => {
    const rows = [...document.querySelectorAll('.file-row')];
    return rows.length === n && rows.every((r) => ['done', 'low', 'error'].includes(r.dataset.stage));
  }, n, { timeout: WAIT_HASHED_MS, polling: 250 });
}

// The hashes the page shows under "Technical details", by file name.
async function readTechnical(page, lang = 'en') {
  const details = page.locator('details.tech');
  if (!(await details.evaluate((d) => d.open))) await details.getByText(L[lang].tech, { exact: true }).click();
  const rows = await page.locator('li.tech-file').evaluateAll((lis) => lis.map((li) => {
    const text = (k) => { const e = li.querySelector(`[data-k="${k}"]`); return e ? e.textContent.trim() : undefined; };
    return {
      name: li.dataset.name, kind: li.dataset.kind, pdq: text('pdq'), quality: text('quality') === undefined ? undefined : Number(text('quality')),
      dihedral: Object.fromEntries([...li.querySelectorAll('[data-k="dihedral"]')].map((c) => [c.dataset.d, c.textContent.trim()])),
      md5: text('md5'), sha256: text('sha256'),
    };
  }));
  return new Map(rows.map((r) => [r.name, r]));
}

// `takedown hash --format jsonl --bank FILE...` by file name.
async function nativeHashes(files) {
  const { stdout } = await run(process.env.TAKEDOWN_BINARY, ['hash', '--format', 'jsonl', '--bank', '-j', '4', ...files],
    { maxBuffer: 1 << 28, env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=0' } });
  const out = new Map();
  for (const line of stdout.split('\n').filter(Boolean)) { const d = JSON.parse(line); out.set(basename(d.file), d); }
  return out;
}

function hamming(a, b) {
  let n = 0;
  for (let i = 0; i < a.length; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) { n += x & 1; x >>>= 1; }
  }
  return n;
}

// A PNG's IHDR and chunks: 16-bit samples, an alpha channel (colour type 4 or 6, or tRNS).
function pngInfo(buf) {
  const depth = buf[24], colour = buf[25];
  let trns = false;
  for (let off = 8; off + 8 <= buf.length;) {
    const len = buf.readUInt32BE(off), type = buf.toString('latin1', off + 4, off + 8);
    if (type === 'tRNS') trns = true;
    if (type === 'IEND') break;
    off += 12 + len;
  }
  return { depth16: depth === 16, alpha: colour === 4 || colour === 6 || trns };
}

function filesUnder(dir) {
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else if (/\.(jpe?g|webp|png)$/i.test(e)) out.push(p);
  }
  return out.sort();
}

// A flat picture: PDQ quality 0, too plain to be matched.
async function makePlainJpeg() {
  const page = await browser.newPage();
  try {
    const b64 = await page.evaluate(async () => {
      const c = document.createElement('canvas'); c.width = 200; c.height = 150;
      const g = c.getContext('2d'); g.fillStyle = '#808080'; g.fillRect(0, 0, 200, 150);
      const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.9));
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let bin = ''; for (const b of bytes) bin += String.fromCharCode(b);
      return btoa(bin);
    });
    return Buffer.from(b64, 'base64');
  } finally { await page.close(); }
}

// The form filled in (files already hashed), then Submit; resolves to {case, pin} once shown.
async function fillAndSubmit(page, { category = 'ncii', signature = 'Kim Minji', email = '', locations = '' } = {}) {
  await page.locator(`#rp-cat-${category}`).check();
  if (locations) await page.getByLabel('Where did you see it? (optional)').fill(locations);
  await page.getByLabel(/^I state in good faith/).check();
  await page.getByLabel(/^Signature/).fill(signature);
  if (email) await page.getByLabel('Email (optional)').fill(email);
  await page.getByRole('button', { name: L.en.submit, exact: true }).click();
  await page.getByRole('heading', { name: 'Your report was received', exact: true }).waitFor({ timeout: 120000 });
  const caseNo = (await page.locator('output[data-k="case"]').innerText()).trim();
  const pin = (await page.locator('output[data-k="pin"]').innerText()).trim();
  assert.match(caseNo, /^TD-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  assert.match(pin, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  return { case: caseNo, pin };
}

// A case filed through the page with these files (Buffers or {name, mimeType, buffer}).
async function fileThroughPage(files, { origin = web.origin, ...opts } = {}) {
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await openPage(context, '/report', 'en', origin);
  await page.getByLabel(L.en.files, { exact: true }).setInputFiles(files);
  await waitHashed(page, files.length);
  const creds = await fillAndSubmit(page, opts);
  page.assertClean();
  await context.close();
  return creds;
}

// The sign-in form (not "Lost your PIN?", which has a case number too).
async function checkCase(page, creds, lang = 'en') {
  const form = page.locator('form.check-form');
  await form.getByLabel(L[lang].caseNo, { exact: true }).fill(creds.case);
  await form.getByLabel(L[lang].pin, { exact: true }).fill(creds.pin);
  await form.getByRole('button', { name: L[lang].check, exact: true }).click();
}

async function statusOf(page) {
  const line = page.locator('.status-line');
  await line.waitFor();
  return { status: await line.getAttribute('data-status'), text: (await line.innerText()).trim(),
    copies: Number(await page.locator('[data-k="copies_removed"]').innerText()), items: Number(await page.locator('[data-k="items"]').innerText()) };
}

// The review queue's request for the case whose evidence has this SHA-256.
async function requestOf(sha256) {
  return poll(async () => {
    const q = await s.api(s.keys.reviewer, 'GET', '/v1/review/queue?limit=1000');
    const it = q.status === 200 && q.body.queue.find((r) => (r.evidence || []).some((e) => e.sha256 === sha256));
    return it ? it.id : null;
  }, { what: `a request in the review queue with evidence sha256 ${sha256.slice(0, 12)}…`, timeoutMs: 30000 });
}

let gateSeq = 0;
async function gate(jpeg) {
  const q = new URLSearchParams({ content_id: `report-gate-${++gateSeq}`, chat_id: 'report-gate-chat', uploader_id: 'report-gate-user' });
  const r = await s.api(s.keys.platform, 'POST', `/v1/check/media?${q}`, jpeg);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.decision;
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// No 32-byte window of any file anywhere in any request body.
function assertNoFileBytes(files, bodies, W = 32) {
  const windows = new Set();
  for (const b of bodies) for (let i = 0; i + W <= b.length; i++) windows.add(b.toString('latin1', i, i + W));
  for (const [name, f] of files) {
    for (let i = 0; i + W <= f.length; i++) {
      if (windows.has(f.toString('latin1', i, i + W))) assert.fail(`${W} bytes of ${name} at offset ${i} were sent in a request`);
    }
  }
}

// ---- tests ------------------------------------------------------------------------------------
test('the page hashes every reference picture as `takedown hash --bank` does', async (t) => {
  if (!existsSync(SHARED)) {
    console.log('\n!!!!!!!!!! SKIPPED: ../shared missing: the reference pictures (../shared/reference/pdq) are not here !!!!!!!!!!\n');
    t.skip('SKIPPED: ../shared missing');
    return;
  }
  const files = filesUnder(PDQ_REF);
  assert.ok(files.length >= 40, `reference pictures under ${PDQ_REF}: ${files.length}`);
  const native = await nativeHashes(files);
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await openPage(context);
  await page.getByLabel(L.en.files, { exact: true }).setInputFiles(files);
  await waitHashed(page, files.length);
  const errors = await page.locator('.file-row[data-stage="error"]').allInnerTexts();
  assert.deepEqual(errors, [], 'every reference picture hashed');
  const shown = await readTechnical(page);
  const problems = [];
  const distances = [];
  for (const file of files) {
    const name = basename(file), want = native.get(name), got = shown.get(name);
    assert.ok(want, `takedown hash gave nothing for ${name}`);
    assert.ok(got, `the page shows no hashes for ${name}`);
    const bytes = readFileSync(file);
    assert.equal(got.md5, createHash('md5').update(bytes).digest('hex'), `${name}: MD5 of the file`);
    const same = [['md5', got.md5, want.md5], ['sha256', got.sha256, want.sha256]];
    const png = /\.png$/i.test(name);
    if (png) {
      const info = pngInfo(bytes);
      const d = hamming(got.pdq, want.pdq);
      const dd = Object.keys(want.dihedral).map((k) => hamming(got.dihedral[k] || '', want.dihedral[k]));
      distances.push(`${name}: PDQ distance ${d}, dihedral ${dd.join(',')}, quality ${got.quality} vs ${want.quality}` +
        `${info.alpha ? ' (alpha channel)' : ''}${info.depth16 ? ' (16-bit)' : ''}`);
      if (!info.alpha && !info.depth16) {
        same.push(['pdq', got.pdq, want.pdq], ['quality', got.quality, want.quality]);
        for (const k of Object.keys(want.dihedral)) same.push([`dihedral.${k}`, got.dihedral[k], want.dihedral[k]]);
      }
    } else {
      same.push(['pdq', got.pdq, want.pdq], ['quality', got.quality, want.quality]);
      assert.deepEqual(Object.keys(got.dihedral), Object.keys(want.dihedral), `${name}: the 8 dihedral names in order`);
      for (const k of Object.keys(want.dihedral)) same.push([`dihedral.${k}`, got.dihedral[k], want.dihedral[k]]);
    }
    for (const [what, a, b] of same) if (a !== b) problems.push(`${name}: ${what} ${a} != ${b}`);
  }
  console.log(`PNG pictures (browser-decoded) against takedown hash:\n  ${distances.join('\n  ')}`);
  console.log(`${files.length} reference pictures compared (${files.length - distances.length} JPEG/WebP exactly)`);
  assert.deepEqual(problems, [], 'the page\'s hashes equal takedown hash --bank');
  // Left out below quality 50, said so beside the file.
  for (const [name, got] of shown) {
    if (got.kind !== 'image' || got.quality >= 50) continue;
    const row = page.locator('.file-row', { hasText: name }).first();
    assert.equal(await row.getAttribute('data-stage'), 'low', `${name} (quality ${got.quality}) left out`);
    assert.match(await row.innerText(), /Too plain or blurred to be matched/);
  }
  page.assertClean();
  await context.close();
});

test('the form: controls by name, problems beside their fields, axe and screenshots (en, ko; 1280, 390)', async () => {
  for (const lang of ['en', 'ko']) {
    for (const width of [1280, 390]) {
      const context = await newContext(browser, { lang, width });
      const page = await openPage(context, '/report', lang);
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
      await page.getByLabel(L[lang].files, { exact: true }).waitFor();
      assert.equal(await page.getByLabel(L[lang].files, { exact: true }).getAttribute('type'), 'file');
      await page.getByRole('button', { name: L[lang].submit, exact: true }).waitFor();
      await assertAccessible(page, `/report ${lang} ${width}`);
      await assertNoHorizontalScroll(page, `/report ${lang} ${width}`);
      await screenshot(page, 'report', lang, width);

      await page.getByRole('link', { name: lang === 'en' ? 'Check a case' : '신고 확인', exact: true }).click();
      await page.getByRole('heading', { level: 1, name: L[lang].caseTitle, exact: true }).waitFor();
      assert.match(page.url(), /\/report\/case$/);
      for (const name of [L[lang].caseNo, L[lang].pin]) await page.getByLabel(name, { exact: true }).waitFor();
      await page.getByRole('button', { name: L[lang].check, exact: true }).waitFor();
      await assertAccessible(page, `/report/case ${lang} ${width}`);
      await assertNoHorizontalScroll(page, `/report/case ${lang} ${width}`);
      await screenshot(page, 'report-case', lang, width);
      page.assertClean();
      await context.close();
    }
  }

  // Client-side checks, beside their fields; the language switch.
  const context = await newContext(browser, { lang: 'en', width: 390 });
  const page = await openPage(context);
  await page.getByLabel('Language', { exact: true }).selectOption('ko');
  await page.getByRole('heading', { level: 1, name: L.ko.title, exact: true }).waitFor();
  await page.getByLabel(L.ko.files, { exact: true }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ko');
  await page.getByLabel('언어', { exact: true }).selectOption('en');
  await page.getByRole('heading', { level: 1, name: L.en.title, exact: true }).waitFor();
  await page.getByLabel('Email (optional)').fill('not-an-email');
  await page.getByRole('button', { name: 'Submit', exact: true }).click();
  await page.locator('#rp-cat-err').waitFor();
  assert.match(await page.locator('#rp-cat-err').innerText(), /Choose what kind/);
  assert.match(await page.locator('#rp-statement-err').innerText(), /statement is needed/);
  assert.match(await page.locator('#rp-signature-err').innerText(), /full name/);
  assert.match(await page.locator('#rp-email-err').innerText(), /email address/);
  assert.match(await page.locator('#rp-files-err').innerText(), /at least one photo or video/);
  assert.equal(await page.getByLabel(/^Signature/).getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Choose photos or videos', { exact: true }).getAttribute('aria-invalid'), 'true');
  await assertAccessible(page, '/report with problems');
  await screenshot(page, 'report-problems', 'en', 390);

  // A flat picture is left out (too plain), a good one is ready: hide, show, remove.
  const plain = await makePlainJpeg();
  const jpeg = await makeJpeg(browser, 71);
  await page.getByLabel('Choose photos or videos', { exact: true }).setInputFiles([
    { name: 'plain.jpg', mimeType: 'image/jpeg', buffer: plain }, { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: jpeg }]);
  await waitHashed(page, 2);
  assert.equal(await page.locator('#rp-files-err').count(), 0, 'the files\' problem goes once files are chosen');
  const plainRow = page.locator('.file-row', { hasText: 'plain.jpg' });
  assert.equal(await plainRow.getAttribute('data-stage'), 'low');
  assert.match(await plainRow.innerText(), /Quality \d+ of 100/);
  assert.match(await plainRow.innerText(), /Too plain or blurred/);
  const photoRow = page.locator('.file-row', { hasText: 'photo.jpg' });
  assert.equal(await photoRow.getAttribute('data-stage'), 'done');
  await photoRow.getByRole('img').waitFor(); // the greyscale thumbnail (a canvas)
  const hide = photoRow.getByRole('button', { name: /^Hide/ });
  await hide.click();
  assert.equal(await hide.getAttribute('aria-pressed'), 'true');
  assert.equal(await photoRow.getByRole('img').count(), 0);
  await hide.click();
  await photoRow.getByRole('img').waitFor();
  await plainRow.getByRole('button', { name: /^Remove/ }).click();
  assert.equal(await page.locator('.file-row').count(), 1);
  await assertNoHorizontalScroll(page, '/report with files 390');
  await screenshot(page, 'report-files', 'en', 390);

  // The server's problems beside their fields (items[0] beside its file): an answer made up here.
  await page.route('**/v1/report/cases', (route) => route.fulfill({
    status: 400, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'invalid_argument', message: 'invalid request', fields: [
      { field: 'items[0].quality', problem: 'below the bank minimum' }, { field: 'email', problem: 'the domain has no mail server' },
      { field: 'locations[1]', problem: 'not a link or message id' }] } }),
  }));
  await page.locator('#rp-cat-deepfake_sexual').check();
  await page.getByLabel('Where did you see it? (optional)').fill('https://example.org/a\n???');
  await page.getByLabel(/^I state in good faith/).check();
  await page.getByLabel(/^Signature/).fill('Kim Minji');
  await page.getByLabel('Email (optional)').fill('minji@example.org');
  await page.getByRole('button', { name: 'Submit', exact: true }).click();
  await photoRow.locator('.error').waitFor({ timeout: 60000 });
  assert.match(await photoRow.locator('.error').innerText(), /quality: below the bank minimum/);
  assert.match(await page.locator('#rp-email-err').innerText(), /no mail server/);
  assert.match(await page.locator('#rp-locations-err').innerText(), /locations\[1\]: not a link/);
  assert.match(await page.getByRole('alert').first().innerText(), /fix the problems/);
  page.assertClean();
  await context.close();
});

test('a case filed: only hashes are sent; approved, the copies removed; the person sees it with case number and PIN', async () => {
  const jpeg = await makeJpeg(browser, 81, 640, 480);
  const copies = await recordCopies(s, jpeg, 'report', 2); // the platform has 2 copies
  const second = await makeJpeg(browser, 82, 480, 360);
  const plain = await makePlainJpeg();
  const uploads = [['photo-one.jpg', jpeg], ['photo-two.jpg', second], ['flat.jpg', plain]];
  if (existsSync(join(SHARED, 'media/videos/realshort.mp4'))) uploads.push(['clip.mp4', readFileSync(join(SHARED, 'media/videos/realshort.mp4'))]);
  else console.log('SKIPPED (video in the submission): ../shared missing');

  const context = await newContext(browser, { lang: 'en', width: 390 });
  // Every request of the page and of its worker, with its body.
  const sent = [];
  await context.route('**/*', async (route) => {
    const r = route.request();
    sent.push({ url: r.url(), method: r.method(), body: r.postDataBuffer() || Buffer.alloc(0), via: 'route' });
    await route.continue();
  });
  context.on('request', (r) => sent.push({ url: r.url(), method: r.method(), body: r.postDataBuffer() || Buffer.alloc(0), via: 'event' }));
  const page = await openPage(context);
  await page.getByLabel('Choose photos or videos', { exact: true }).setInputFiles(
    uploads.map(([name, buffer]) => ({ name, mimeType: name.endsWith('.mp4') ? 'video/mp4' : 'image/jpeg', buffer })));
  await waitHashed(page, uploads.length);
  const shown = await readTechnical(page);
  const native = await nativeHashesOf(uploads.filter(([n]) => n.endsWith('.jpg')));
  for (const [name] of uploads.filter(([n]) => n.endsWith('.jpg'))) {
    assert.equal(shown.get(name).pdq, native.get(name).pdq, `${name}: PDQ as takedown hash`);
    assert.equal(shown.get(name).sha256, native.get(name).sha256, `${name}: SHA-256`);
  }
  const creds = await fillAndSubmit(page, { email: 'minji@example.org', locations: 'https://chat.example/m/123\nmsg-456' });
  filed = creds;
  await page.getByText('The PIN cannot be shown again', { exact: false }).waitFor();
  // This server sends no email: without the PIN the case cannot be opened, said so.
  assert.match(await page.locator('[data-k="pin-lost"]').innerText(), /^Without the PIN, the case cannot be opened/);
  await assertAccessible(page, '/report filed');
  await screenshot(page, 'report-filed', 'en', 390);

  // Download as a file: the case number and the PIN.
  const dl = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download as a file', exact: true }).click();
  const text = readFileSync(await (await dl).path(), 'utf8');
  assert.match(text, new RegExp(creds.case));
  assert.match(text, new RegExp(creds.pin));

  // What went over the network: hashes only. The worker's requests are seen too (its .wasm).
  const urls = sent.map((x) => x.url);
  assert.ok(sent.some((x) => x.via === 'route' && /\/console\/assets\/takedown-hash-[\w-]+\.wasm$/.test(x.url)),
    `the worker's request for the .wasm captured: ${[...new Set(urls)].join(' ')}`);
  const posts = sent.filter((x) => x.method === 'POST');
  const filing = posts.find((x) => x.url.endsWith('/v1/report/cases'));
  assert.ok(filing, 'POST /v1/report/cases');
  const body = JSON.parse(filing.body.toString('utf8'));
  assert.deepEqual(Object.keys(body).sort(), ['category', 'challenge', 'email', 'items', 'language', 'locations', 'nonce', 'signature', 'statement']);
  assert.deepEqual(body.locations, ['https://chat.example/m/123', 'msg-456']);
  assert.equal(body.items.length, uploads.length - 1, 'the flat picture left out');
  for (const it of body.items) {
    if (it.kind === 'video') {
      // Its frames where this browser decodes H.264 (the next test measures them); digests always.
      const keys = Object.keys(it).sort();
      assert.ok(['kind,md5,sha256', 'kind,md5,sha256,video'].includes(keys.join()), keys.join());
      if (it.video) assert.ok(it.video.frames.length > 0 && it.video.frames.every((f) => f.pdq && f.norm && f.crops));
      continue;
    }
    assert.deepEqual(Object.keys(it).sort(), ['dihedral', 'kind', 'md5', 'pdq', 'quality', 'robust', 'sha256']);
    assert.equal(it.dihedral.length, 8);
    assert.ok(Array.isArray(it.robust.norm) && it.robust.variants.length > 0);
  }
  assert.equal(body.items[0].sha256, sha256(jpeg));
  assert.deepEqual(body.items[0].dihedral, Object.values(native.get('photo-one.jpg').dihedral));
  assert.deepEqual(body.items[0].robust.variants, Object.values(native.get('photo-one.jpg').variants).map((v) => [v.pdq, v.quality]));
  const everyBody = sent.map((x) => x.body).filter((b) => b.length);
  for (const b of everyBody) for (const [name] of uploads) assert.ok(!b.includes(name), `the file name ${name} was sent`);
  assertNoFileBytes(uploads, everyBody);
  console.log(`network: ${new Set(urls).size} URLs, ${posts.length} POST bodies (${everyBody.reduce((n, b) => n + b.length, 0)} bytes): no 32-byte window of any file`);
  // "Check this case": the case page with both filled in (in memory; not in the URL).
  await page.getByRole('link', { name: 'Check this case', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Check a case', exact: true }).waitFor();
  assert.equal(await page.getByLabel('Case number', { exact: true }).inputValue(), creds.case);
  assert.equal(await page.getByLabel('PIN', { exact: true }).inputValue(), creds.pin);
  assert.ok(!page.url().includes(creds.pin) && page.url().endsWith('/report/case'), page.url());
  page.assertClean();
  await context.close();

  // A reviewer approves; the sweep removes the platform's copies; the webhook receiver acknowledges.
  const id = await requestOf(sha256(jpeg));
  await approve(s, id, 'Illegal content (ncii): the victim\'s report, verified by the reviewer');
  await poll(() => copies.every((c) => s.receiver.received.some((a) => a && a.kind === 'remove' && a.content_id === c)) || null,
    { what: `the platform's removal webhooks for ${copies.join(', ')}`, timeoutMs: 30000 });

  // The person, later, with the case number and PIN.
  const c2 = await newContext(browser, { lang: 'en', width: 390 });
  const p2 = await openPage(c2, '/report/case');
  await checkCase(p2, creds);
  await p2.getByRole('heading', { level: 1, name: `Case ${creds.case}` }).waitFor();
  let st = await statusOf(p2);
  for (let i = 0; i < 60 && !(['removed', 'confirmed'].includes(st.status) && st.copies === copies.length); i++) {
    await new Promise((r) => setTimeout(r, 500));
    await p2.getByRole('button', { name: 'Refresh', exact: true }).click();
    await p2.waitForLoadState('networkidle').catch(() => {});
    st = await statusOf(p2);
  }
  assert.ok(['removed', 'confirmed'].includes(st.status), `status ${st.status}: ${st.text}`);
  assert.equal(st.copies, copies.length, 'copies removed');
  if (st.status === 'removed') assert.equal(st.text, `Removed: ${copies.length} copies removed.`);
  assert.match(await p2.locator('.case-status').innerText(), new RegExp(`Copies removed\\s+${copies.length}`));
  assert.equal(st.items, uploads.length - 1);
  assert.ok(!p2.url().includes(creds.pin), 'the PIN is not in the URL');
  assert.equal(await p2.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })).then((x) => x.includes(creds.pin)), false,
    'the PIN is not in the browser\'s storage');
  await assertAccessible(p2, '/report/case status');
  await screenshot(p2, 'report-case-status', 'en', 390);

  // Add more images: hashed the same way, a new proof of work, the case counts them.
  const more = await makeJpeg(browser, 83);
  await p2.getByRole('heading', { name: 'Add more images', exact: true }).waitFor();
  await p2.getByLabel('Choose photos or videos', { exact: true }).setInputFiles({ name: 'more.jpg', mimeType: 'image/jpeg', buffer: more });
  await waitHashed(p2, 1);
  await p2.getByRole('button', { name: 'Add to case', exact: true }).click();
  await p2.getByText(`Added. The case now has ${uploads.length} fingerprinted files.`).waitFor({ timeout: 120000 });
  assert.equal((await statusOf(p2)).items, uploads.length);
  p2.assertClean();
  await c2.close();
});

// `ffmpeg ARGS...` (Debian's FFmpeg).
async function ffmpeg(...args) {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { maxBuffer: 1 << 24 });
}

test('a video: its frames hashed in the browser as the server hashes them; approved, a re-encoded copy is removed and an unrelated video is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'td-report-video-'));
  try {
    // The person's video (VP9 in WebM, which Chromium always decodes), the platform's copy of it
    // (resized and re-encoded with another codec: no byte in common) and an unrelated video.
    const mine = join(dir, 'mine.webm'), copy = join(dir, 'copy.mp4'), other = join(dir, 'other.mp4');
    await ffmpeg('-f', 'lavfi', '-i', 'mandelbrot=size=480x360:rate=25', '-t', '8', '-c:v', 'libvpx-vp9', '-b:v', '600k', '-pix_fmt', 'yuv420p', mine);
    await ffmpeg('-i', mine, '-vf', 'scale=400:300', '-c:v', 'mpeg4', '-q:v', '6', copy);
    await ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=480x360:rate=25', '-t', '8', '-c:v', 'mpeg4', '-q:v', '4', other);
    const ids = { copy: `report-video-copy-${Date.now()}`, other: `report-video-other-${Date.now()}` };
    for (const [file, id] of [[copy, ids.copy], [other, ids.other]]) {
      const r = await s.api(s.keys.platform, 'POST', `/v1/check/media?${new URLSearchParams({ content_id: id, chat_id: 'report-video-chat', uploader_id: 'report-video-user' })}`, readFileSync(file));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.decision, 'allow');
    }
    const files = [{ name: 'mine.webm', mimeType: 'video/webm', buffer: readFileSync(mine) }];
    const h264 = join(SHARED, 'media/videos/realshort.mp4');
    if (existsSync(h264)) files.push({ name: 'real.mp4', mimeType: 'video/mp4', buffer: readFileSync(h264) });
    else console.log('SKIPPED (an H.264 video decoded in the browser): ../shared missing');

    const context = await newContext(browser, { lang: 'en', width: 1280 });
    let filing = null;
    await context.route('**/v1/report/cases', async (route) => { filing = JSON.parse(route.request().postData()); await route.continue(); });
    const page = await openPage(context);
    const t0 = Date.now();
    await page.getByLabel(L.en.files, { exact: true }).setInputFiles(files);
    await waitHashed(page, files.length);
    const took = Date.now() - t0;
    const row = page.locator('.file-row').first();
    assert.equal(await row.getAttribute('data-stage'), 'done');
    // Two a second over its 8 s (a 17th when the container says a little over 8 s).
    assert.match((await row.locator('.file-status').innerText()).trim(), /^Ready \(video fingerprints of 1[67] moments\)$/);
    await readTechnical(page);
    assert.match(await page.locator('li.tech-file[data-name="mine.webm"] [data-k="frames"]').innerText(), /^1[67] moments/);
    await screenshot(page, 'report-video-hashed', 'en', 1280);
    await fillAndSubmit(page);
    page.assertClean();
    await context.close();

    // The browser's frames against the server's own hashing of the same file (`takedown hash
    // --bank`: every frame): the same moments, PDQ a few bits apart (two decoders, two scalers).
    const sent = filing.items.find((it) => it.sha256 === sha256(readFileSync(mine)));
    assert.ok(sent && sent.video, 'the video item carries its frames');
    const count = sent.video.frames.length;
    assert.ok(count === 16 || count === 17, `${count} frames`);
    assert.deepEqual(sent.video.frames.map((f) => f.t), Array.from({ length: count }, (_, k) => k / 2));
    // Per frame, the distances to the native frame shown at the same time (the one whose interval
    // holds it: at or just before t).
    const distancesOf = async (item, file) => {
      const native = (await nativeHashes([file])).get(basename(file)).video.frames;
      const d = { pdq: [], norm: [] };
      for (const f of item.video.frames) {
        const n = native.filter((x) => x.t <= f.t + 1e-6).at(-1);
        d.pdq.push(hamming(f.pdq[0], n.pdq[0]));
        d.norm.push(hamming(f.norm[0], n.norm[0]));
        assert.equal(f.crops.length, n.crops.length);
      }
      return d;
    };
    const stats = (d) => { const x = [...d].sort((a, b) => a - b); return `median ${x[x.length >> 1]}, max ${x.at(-1)}`; };
    const distances = await distancesOf(sent, mine);
    console.log(`browser vs takedown hash, mine.webm (VP9 480x360, ${count} frames): PDQ ${stats(distances.pdq)}; norm ${stats(distances.norm)} bits; hashed in ${took} ms with ${files.length} file(s)`);
    assert.ok(Math.max(...distances.pdq) <= 16, `PDQ distances ${distances.pdq}`);
    const real = files[1] && filing.items.find((it) => it.sha256 === sha256(files[1].buffer));
    if (real && real.video) {
      writeFileSync(join(dir, 'real.mp4'), files[1].buffer);
      const d = await distancesOf(real, join(dir, 'real.mp4'));
      console.log(`browser vs takedown hash, real.mp4 (H.264, ${real.video.frames.length} frames): PDQ ${stats(d.pdq)}; norm ${stats(d.norm)} bits`);
      assert.ok(Math.max(...d.pdq) <= 16, `PDQ distances ${d.pdq}`);
    } else if (real) console.log('real.mp4 (H.264): not decoded by this browser: digests only');

    // Approved: the re-encoded copy is found by its frames and removed; the unrelated video stays.
    const id = await requestOf(sha256(readFileSync(mine)));
    await approve(s, id, 'Illegal content (ncii): the victim\'s video, verified by the reviewer');
    await poll(() => s.receiver.received.some((a) => a && a.kind === 'remove' && a.content_id === ids.copy) || null,
      { what: `the removal webhook for the re-encoded copy ${ids.copy}`, timeoutMs: 30000 });
    assert.ok(!s.receiver.received.some((a) => a && a.content_id === ids.other), 'the unrelated video is left alone');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('withdrawal: the case shows withdrawn and the upload gate then allows the picture', async () => {
  const jpeg = await makeJpeg(browser, 91, 600, 400);
  const creds = await fileThroughPage([{ name: 'mine.jpg', mimeType: 'image/jpeg', buffer: jpeg }], { category: 'deepfake_sexual' });
  const id = await requestOf(sha256(jpeg));
  await approve(s, id, 'Illegal content (deepfake-sexual): verified by the reviewer');
  await poll(async () => (await gate(jpeg)) === 'block' || null, { what: 'the upload gate to block the approved picture', timeoutMs: 30000 });

  const context = await newContext(browser, { lang: 'en', width: 390 });
  const page = await openPage(context, '/report/case');
  await checkCase(page, creds);
  await page.getByRole('heading', { level: 1, name: `Case ${creds.case}` }).waitFor();
  await page.getByRole('button', { name: 'Withdraw', exact: true }).click();
  await page.getByText(`Withdraw case ${creds.case}? This cannot be undone.`).waitFor();
  await screenshot(page, 'report-withdraw-confirm', 'en', 390);
  await page.getByRole('button', { name: 'Yes, withdraw', exact: true }).click();
  await page.locator('.status-line[data-status="withdrawn"]').waitFor();
  assert.equal((await statusOf(page)).text, 'Withdrawn.');
  assert.equal(await page.getByRole('button', { name: 'Withdraw', exact: true }).count(), 0, 'nothing more to withdraw');
  await poll(async () => (await gate(jpeg)) === 'allow' || null, { what: 'the upload gate to allow the picture after withdrawal', timeoutMs: 30000 });

  // Checked again later: still withdrawn.
  const again = await openPage(context, '/report/case');
  await checkCase(again, creds);
  await again.locator('.status-line[data-status="withdrawn"]').waitFor();
  page.assertClean(); again.assertClean();
  await context.close();
});

// The screen in English and Korean at 1280 and 390 px (the language switch and the viewport of the
// same page, so what is in its memory stays): axe, no horizontal scroll at 390, a screenshot each.
async function everyLook(page, screen) {
  for (const [lang, width] of [['en', 1280], ['en', 390], ['ko', 390], ['ko', 1280]]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
    await page.locator('#lang-select').selectOption(lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    await assertAccessible(page, `${screen} ${lang} ${width}`);
    if (width === 390) await assertNoHorizontalScroll(page, `${screen} ${lang} ${width}`);
    await screenshot(page, screen, lang, width);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.locator('#lang-select').selectOption('en');
}

// The case page once the server said whether it offers links by email (its challenge answered).
async function openCasePage(context, origin) {
  const page = await guardedPage(context, origin, { allowBlob: true });
  const asked = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/report/challenge');
  await page.goto(`${origin}/report/case`);
  await page.getByRole('heading', { level: 1, name: L.en.caseTitle, exact: true }).waitFor();
  await asked;
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50))); // its answer rendered
  return page;
}

const LOST = 'Lost your PIN?';
const SENT = /^If the case has this email address, a link is on its way to it\. The link works once, for 60 minutes\./;
const DEAD = /^This link does not work any more\. A link works only once, and only for a limited time\. You can ask for a new one under “Lost your PIN\?”\.$/;

// "Send me a link" with this case number and address: the answer (202) and its status line.
async function askForLink(page, caseNo, email) {
  const lost = page.getByRole('region', { name: LOST, exact: true });
  await lost.getByLabel('Case number', { exact: true }).fill(caseNo);
  await lost.getByLabel('Email address', { exact: true }).fill(email);
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/report/cases/recover', { timeout: 120000 });
  await lost.getByRole('button', { name: 'Send me a link', exact: true }).click();
  const res = await answered;
  assert.equal(res.status(), 202, await res.text());
  const status = lost.getByRole('status').filter({ hasText: SENT });
  await status.waitFor();
  return (await status.innerText()).trim();
}

test('recovery: a lost PIN is replaced through the link mailed to the case\'s address', async () => {
  // The default server sends no email: no "Lost your PIN?", the email field's hint as before.
  {
    const context = await newContext(browser, { lang: 'en', width: 1280 });
    const page = await openCasePage(context, web.origin);
    assert.equal(await page.getByRole('heading', { name: LOST, exact: true }).count(), 0, '"Lost your PIN?" without email');
    assert.equal(await page.getByRole('button', { name: 'Send me a link', exact: true }).count(), 0);
    const form = await openPage(context, '/report');
    await page.close();
    await form.evaluate(() => new Promise((r) => setTimeout(r, 300)));
    assert.match(await form.locator('#rp-email-hint').innerText(), /^Optional: the people who review your report can write to you there\. Either way/);
    form.assertClean();
    await context.close();
  }

  // A takedown that mails recovery links (to the sink), its page's address the link's start.
  const sink = await startSmtpSink();
  const port = await freePort();
  const s2 = await startTakedown({ port, extraArgs: ['--report.public_url', `http://127.0.0.1:${port}`,
    '--mail.smtp_url', `smtp://127.0.0.1:${sink.port}`, '--mail.address', 'takedown@platform.test', '--mail.require_tls', 'false'] });
  let web2;
  try {
    web2 = await consoleOrigin(s2, { path: '/report' });
    const EMAIL = 'minji.recovers@example.org';

    // Filed with an email address: the hint and the filed screen say a lost PIN can be replaced.
    const c1 = await newContext(browser, { lang: 'en', width: 1280 });
    const p1 = await openPage(c1, '/report', 'en', web2.origin);
    await p1.locator('#rp-email-hint').filter({ hasText: 'if you lose your PIN, a link to get a new one can be sent to this address' }).waitFor();
    await p1.getByLabel(L.en.files, { exact: true }).setInputFiles({ name: 'lost.jpg', mimeType: 'image/jpeg', buffer: await makeJpeg(browser, 97) });
    await waitHashed(p1, 1);
    const old = await fillAndSubmit(p1, { email: EMAIL });
    assert.match(await p1.locator('[data-k="pin-lost"]').innerText(), /^If you lose the PIN, you can get a new one: on the case page, under “Lost your PIN\?”/);
    p1.assertClean();
    await c1.close();

    // "Lost your PIN?" with the case number and that address: the status, then the mail.
    const c2 = await newContext(browser, { lang: 'en', width: 1280 });
    const p2 = await openCasePage(c2, web2.origin);
    const lost = p2.getByRole('region', { name: LOST, exact: true });
    await lost.waitFor();
    assert.equal(await lost.getByLabel('Email address', { exact: true }).getAttribute('aria-describedby'), 'lp-email-hint');
    // Problems beside their fields, before anything is sent.
    await lost.getByRole('button', { name: 'Send me a link', exact: true }).click();
    await p2.locator('#lp-case-err').waitFor();
    assert.match(await p2.locator('#lp-case-err').innerText(), /Enter the case number/);
    assert.match(await p2.locator('#lp-email-err').innerText(), /Enter the email address you gave/);
    assert.equal(await p2.evaluate(() => document.activeElement.id), 'lp-case', 'focus on the first problem');
    assert.equal(await lost.getByLabel('Case number', { exact: true }).getAttribute('aria-describedby'), 'lp-case-err');
    const said = await askForLink(p2, old.case, EMAIL.toUpperCase());
    const mail = await poll(() => sink.messages[0], { what: 'the recovery mail at the SMTP sink', timeoutMs: 30000 });
    assert.deepEqual(mail.to, [EMAIL]);
    assert.equal(mail.headers.to, EMAIL);
    assert.match(mail.headers.subject, new RegExp(old.case));
    const m = mail.text.match(/(http:\/\/127\.0\.0\.1:(\d+))\/report\/case#recover=(TD-[0-9A-Z-]+)\.([0-9a-f]{64})\b/);
    assert.ok(m, `a recovery link in the mail:\n${mail.text}`);
    assert.equal(Number(m[2]), port, 'the link starts with report.public_url');
    assert.equal(m[3], old.case);
    // Another address: the same answer, and no mail.
    assert.equal(await askForLink(p2, old.case, 'someone.else@example.org'), said);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sink.messages.length, 1, 'no mail for an address the case does not have');
    await everyLook(p2, 'report-case-lost');
    p2.assertClean();
    await c2.close();

    // The link (on the page's own origin: the preview's when the console is previewed).
    const link = `${web2.origin}/report/case#recover=${m[3]}.${m[4]}`;
    const c3 = await newContext(browser, { lang: 'en', width: 1280 });
    const p3 = await guardedPage(c3, web2.origin, { allowBlob: true });
    await p3.goto(link);
    const offer = p3.getByRole('heading', { level: 2, name: 'Get a new PIN', exact: true });
    await offer.waitFor();
    assert.equal(await p3.evaluate(() => location.hash), '', 'the token is taken out of the address');
    assert.ok(!p3.url().includes(m[4]) && p3.url().endsWith('/report/case'), p3.url());
    await p3.waitForFunction(() => document.activeElement && document.activeElement.id === 'rc-h');
    assert.match(await p3.locator('.recover-panel').innerText(), /Your old PIN stops working as soon as you get the new one/);
    assert.equal(await p3.locator('form.check-form').count(), 0, 'only the offer while the link waits');
    await everyLook(p3, 'report-case-recover');
    // "Not now" puts the offer away (the link is not used); opened again, it is offered again.
    await p3.getByRole('button', { name: 'Not now', exact: true }).click();
    await p3.waitForFunction(() => document.activeElement && document.activeElement.id === 'cs-case');
    assert.equal(await offer.count(), 0);
    await p3.goto(link);
    await offer.waitFor();
    assert.equal(await p3.evaluate(() => location.hash), '');
    await p3.getByRole('button', { name: 'Get a new PIN', exact: true }).click();
    await p3.getByRole('heading', { level: 2, name: 'Your new PIN', exact: true }).waitFor();
    await p3.waitForFunction(() => document.activeElement && document.activeElement.id === 'np-h');
    await p3.getByRole('heading', { level: 1, name: `Case ${old.case}`, exact: true }).waitFor();
    assert.equal((await p3.locator('output[data-k="case"]').innerText()).trim(), old.case);
    const pin = (await p3.locator('output[data-k="pin"]').innerText()).trim();
    assert.match(pin, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    assert.notEqual(pin, old.pin, 'a new PIN');
    assert.match(await p3.locator('[data-k="pin-lost"]').innerText(), /Lost your PIN\?/);
    const st = await statusOf(p3);
    assert.equal(st.status, 'in_review', st.text);
    assert.equal(st.items, 1);
    await p3.getByRole('heading', { name: 'Add more images', exact: true }).waitFor();
    await p3.getByRole('button', { name: 'Withdraw', exact: true }).waitFor();
    const dl = p3.waitForEvent('download');
    await p3.getByRole('button', { name: 'Download as a file', exact: true }).click();
    const text = readFileSync(await (await dl).path(), 'utf8');
    assert.ok(text.includes(old.case) && text.includes(pin), text);
    assert.ok(!p3.url().includes(pin), 'the PIN is not in the URL');
    await everyLook(p3, 'report-case-newpin');
    await p3.getByRole('button', { name: 'Refresh', exact: true }).click(); // signed in with the new PIN
    await p3.waitForLoadState('networkidle').catch(() => {});
    assert.equal(await p3.locator('.case .notice').count(), 0, 'refreshed with the new PIN');
    p3.assertClean();
    await c3.close();

    // The old PIN no longer opens the case; the new one does.
    const c4 = await newContext(browser, { lang: 'en', width: 390 });
    const p4 = await openCasePage(c4, web2.origin);
    await checkCase(p4, old);
    await p4.getByRole('alert').getByText(NO_MATCH, { exact: true }).waitFor();
    await checkCase(p4, { case: old.case, pin });
    await p4.getByRole('heading', { level: 1, name: `Case ${old.case}`, exact: true }).waitFor();
    assert.equal((await statusOf(p4)).status, 'in_review');
    assert.equal(await p4.getByRole('heading', { name: 'Your new PIN', exact: true }).count(), 0, 'the PIN is shown once');

    // The same link again: it does not work any more, and says where to ask for a new one.
    await p4.goto(link);
    await p4.getByRole('button', { name: 'Get a new PIN', exact: true }).click();
    const dead = p4.getByRole('alert').filter({ hasText: DEAD });
    await dead.waitFor();
    await p4.waitForFunction(() => document.activeElement && document.activeElement.id === 'rc-h');
    await p4.locator('form.check-form').waitFor(); // the forms are back
    await assertAccessible(p4, 'recovery link used');
    await assertNoHorizontalScroll(p4, 'recovery link used 390');
    await screenshot(p4, 'report-case-recover-dead', 'en', 390);
    await p4.getByRole('button', { name: 'Ask for a new link', exact: true }).click();
    await p4.waitForFunction(() => document.activeElement && document.activeElement.id === 'lp-email');
    const lost4 = p4.getByRole('region', { name: LOST, exact: true });
    await p4.waitForFunction((c) => document.getElementById('lp-case').value === c, old.case);
    assert.equal(await lost4.getByLabel('Case number', { exact: true }).inputValue(), old.case);
    assert.equal(sink.messages.length, 1);
    // A link cut short: said so, nothing sent.
    await p4.goto(`${web2.origin}/report/case#recover=${m[3]}.${m[4].slice(0, 40)}`);
    await p4.getByRole('alert').filter({ hasText: /^This link is not complete\./ }).waitFor();
    assert.equal(await p4.evaluate(() => location.hash), '');
    p4.assertClean();
    await c4.close();
  } finally {
    await web2?.stop();
    await s2.stop();
    await sink.stop();
  }
});

// Last: the wrong PINs may hold back this address's checks for a while.
test('wrong PINs: "No case matches", then the wait message (429)', async () => {
  const creds = filed || await fileThroughPage([{ name: 'pin.jpg', mimeType: 'image/jpeg', buffer: await makeJpeg(browser, 95) }]);
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await openPage(context, '/report/case');
  const alert = page.getByRole('alert');
  // No such case and a wrong PIN read the same.
  await checkCase(page, { case: 'TD-0000-0000-0000', pin: 'AAAA-BBBB-CCCC' });
  await alert.getByText(NO_MATCH, { exact: true }).waitFor();
  let waited = null;
  for (let i = 0; i < 40 && !waited; i++) {
    await checkCase(page, { case: creds.case, pin: `WRNG-${String(i).padStart(4, '0')}-PIN0` });
    await page.waitForFunction(() => !document.querySelector('button[type="submit"]').disabled);
    const text = (await alert.innerText()).trim();
    if (/^Too many attempts/.test(text)) waited = text;
    else assert.equal(text, NO_MATCH, `attempt ${i + 1}`);
  }
  assert.ok(waited, 'the wait message after repeated wrong PINs');
  assert.match(waited, /^Too many attempts\. Please wait (\d+ (minutes?|seconds?)|1 minute|a while) and try again\.$/);
  console.log(`wrong PINs: ${waited}`);
  await screenshot(page, 'report-case-wait', 'en', 1280);
  page.assertClean();
  await context.close();
});

// takedown hash of in-memory files (written to a scratch folder).
async function nativeHashesOf(named) {
  const dir = mkdtempSync(join(tmpdir(), 'report-hash-'));
  try {
    const paths = named.map(([name, buf]) => { const p = join(dir, name); writeFileSync(p, buf); return p; });
    return await nativeHashes(paths);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}
