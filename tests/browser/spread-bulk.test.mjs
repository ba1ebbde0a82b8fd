// (f) The spread of a request (reviewers): copies over time with the first appearance marked, a
// graph of the chats it reached (inline SVG, one node per chat) with a table saying the same,
// the repeat uploaders, JSON and CSV downloads; in English and Korean at 1280 and 390 px.
// (g) Bulk decisions in the review queue: select, preview what would be removed, one reason,
// confirm: each request claimed and decided in turn; one claimed by another reviewer fails alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTakedown, consoleOrigin } from './lib/server.mjs';
import { launch, newContext, guardedPage, signIn, makeJpeg, screenshot, assertAccessible, assertNoHorizontalScroll } from './lib/browser.mjs';
import { recordCopies, notice, fileRequest, waitStatus, approve } from './lib/fixtures.mjs';

let s, web, browser, spreadId;
const bulk = {}; // name -> request id
// The spread request's picture: 5 uploads in 3 chats by 3 uploaders, in this order.
const UPLOADS = [['sp-1', 'chat-alpha', 'sp-u1'], ['sp-2', 'chat-alpha', 'sp-u2'], ['sp-3', 'chat-bravo', 'sp-u2'],
  ['sp-4', 'chat-charlie', 'sp-u3'], ['sp-5', 'chat-bravo', 'sp-u1']];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  // One strike (an acknowledged removal) makes a repeat uploader with an account action.
  s = await startTakedown({ extraArgs: ['--workflow.repeat_uploader_policy', 'ncii=1:warn'] });
  web = await consoleOrigin(s);
  browser = await launch();
  // sp-u1 already had an upload of another picture removed: a strike and a warning.
  const prior = await makeJpeg(browser, 51);
  const q = new URLSearchParams({ content_id: 'prior-1', chat_id: 'chat-prior', uploader_id: 'sp-u1' });
  assert.equal((await s.api(s.keys.platform, 'POST', `/v1/check/media?${q}`, prior)).status, 200);
  const priorId = await fileRequest(s, s.keys.requester, notice(prior));
  await waitStatus(s, priorId, 'pending_review');
  await approve(s, priorId);
  await waitStatus(s, priorId, 'confirmed');

  const jpeg = await makeJpeg(browser, 52);
  for (const [content_id, chat_id, uploader_id] of UPLOADS) {
    const r = await s.api(s.keys.platform, 'POST', `/v1/check/media?${new URLSearchParams({ content_id, chat_id, uploader_id })}`, jpeg);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await sleep(40); // recorded at different times
  }
  spreadId = await fileRequest(s, s.keys.requester, notice(jpeg));
  await waitStatus(s, spreadId, 'pending_review');

  // Five requests for the bulk decisions: a and b to approve (2 and 3 copies), c left pending,
  // d and e to reject (e claimed by another reviewer first).
  const counts = { a: 2, b: 3, c: 1, d: 1, e: 1 };
  let seed = 60;
  for (const [name, n] of Object.entries(counts)) {
    const img = await makeJpeg(browser, seed++);
    await recordCopies(s, img, `bk${name}`, n);
    bulk[name] = await fileRequest(s, s.keys.requester, notice(img));
  }
  for (const id of Object.values(bulk)) await waitStatus(s, id, 'pending_review');
});
after(async () => { await browser?.close(); await web?.stop(); await s?.stop(); });

async function settleSpread(page) {
  await page.locator('svg[role="img"]').waitFor();
  await page.waitForLoadState('networkidle').catch(() => {});
}

test('spread: timeline with the first appearance, one graph node per chat, chats table, uploaders, downloads', async () => {
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.reviewer, `/console/requests/${spreadId}`);
  await page.getByRole('link', { name: /Open the spread/ }).click();
  await page.waitForURL(new RegExp(`/console/requests/${spreadId}/spread$`));
  await page.getByRole('heading', { name: `Spread of request ${spreadId}`, exact: true }).waitFor();
  await settleSpread(page);
  assert.match(await page.title(), new RegExp(`Spread of request ${spreadId}`));

  // The timeline: in time order, the earliest copy marked as the first appearance.
  const timeline = page.getByRole('region', { name: 'Copies over time' });
  const ids = await timeline.locator('.copy .copy-id').allInnerTexts();
  assert.deepEqual(ids, UPLOADS.map((u) => u[0]));
  const first = timeline.locator('.copy.first');
  assert.equal(await first.count(), 1);
  assert.match(await first.innerText(), /First appearance/);
  assert.equal(await first.locator('.copy-id').innerText(), 'sp-1');
  assert.match(await timeline.locator('.first-line').innerText(), /First appearance: sp-1 · Chat chat-alpha · Uploader sp-u1/);
  assert.equal(await timeline.getByRole('heading', { level: 3 }).count() >= 1, true, 'grouped by day');

  // The graph: one node per chat, in the order reached; links between chats; a text summary.
  const svg = page.locator('svg[role="img"]');
  assert.equal(await svg.locator('g.g-node').count(), 3);
  assert.deepEqual(await svg.locator('g.g-node').evaluateAll((gs) => gs.map((g) => g.dataset.chat)), ['chat-alpha', 'chat-bravo', 'chat-charlie']);
  const xs = await svg.locator('g.g-node circle').evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('cx'))));
  assert.ok(xs[0] < xs[1] && xs[1] < xs[2], `left to right by first appearance: ${xs}`);
  assert.match(await svg.getAttribute('aria-label'), /3 chats.*first seen in chat-alpha/);
  const edges = await svg.locator('path.g-edge').evaluateAll((ps) => ps.map((p) => `${p.dataset.from}>${p.dataset.to}`).sort());
  assert.deepEqual(edges, ['chat-alpha>chat-bravo', 'chat-bravo>chat-charlie', 'chat-charlie>chat-bravo']);
  assert.equal(await page.locator('img').count(), 0, 'no <img> on the page');

  // The same as a table.
  const table = page.getByRole('table', { name: 'Chats in the order reached' });
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 3);
  assert.deepEqual(await table.getByRole('rowheader').allInnerTexts(), ['chat-alpha', 'chat-bravo', 'chat-charlie']);
  assert.match(await rows.nth(0).innerText(), /sp-1[\s\S]*2[\s\S]*First appearance/);
  assert.match(await rows.nth(1).innerText(), /sp-3[\s\S]*2[\s\S]*chat-alpha/);
  assert.match(await rows.nth(2).innerText(), /sp-4[\s\S]*1[\s\S]*chat-bravo/);

  // The repeat uploader: sp-u1's earlier removal, the warning.
  const ru = page.getByRole('region', { name: 'Repeat uploaders' });
  const ruRow = ru.locator('tbody tr', { has: page.getByRole('rowheader', { name: 'sp-u1', exact: true }) });
  await ruRow.waitFor();
  assert.match(await ruRow.innerText(), /ncii: 1/);
  assert.match(await ruRow.innerText(), /warn/);

  // Downloads: CSV (a header and one line per copy) and JSON (every copy).
  const csvDl = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download spread (CSV)', exact: true }).click();
  const csv = readFileSync(await (await csvDl).path(), 'utf8').trim().split(/\r?\n/);
  assert.match(csv[0], /^content_id,chat_id,uploader_id,recorded_at,state,media,signal,distance,from_content_id,from_how$/);
  assert.equal(csv.length, 1 + UPLOADS.length, csv.join('\n'));
  assert.deepEqual(csv.slice(1).map((l) => l.split(',')[0]), UPLOADS.map((u) => u[0]));
  const jsonDl = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download spread (JSON)', exact: true }).click();
  const json = JSON.parse(readFileSync(await (await jsonDl).path(), 'utf8'));
  assert.equal(json.copies.length, UPLOADS.length);
  assert.equal(json.first.content_id, 'sp-1');

  await assertAccessible(page, 'spread en 1280');
  await assertNoHorizontalScroll(page, 'spread en 1280');
  await screenshot(page, 'spread', 'en', 1280);
  page.assertClean();
  await context.close();
});

test('spread: English and Korean at 1280 and 390 px; a requester may not see it', async () => {
  const failures = [];
  for (const lang of ['en', 'ko']) {
    for (const width of [1280, 390]) {
      if (lang === 'en' && width === 1280) continue; // above
      const context = await newContext(browser, { lang, width });
      const page = await guardedPage(context, web.origin);
      await signIn(page, web.origin, s.keys.reviewer, `/console/requests/${spreadId}/spread`, { lang });
      await settleSpread(page);
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
      assert.equal(await page.locator('svg[role="img"] g.g-node').count(), 3);
      if (lang === 'ko') await page.getByRole('heading', { name: `요청 ${spreadId}의 확산 경로`, exact: true }).waitFor();
      try {
        await assertAccessible(page, `spread ${lang} ${width}`);
        await assertNoHorizontalScroll(page, `spread ${lang} ${width}`);
      } catch (e) { failures.push(e.message); }
      await screenshot(page, 'spread', lang, width);
      page.assertClean();
      await context.close();
    }
  }
  assert.deepEqual(failures, []);
  const refused = await s.api(s.keys.requester, 'GET', `/v1/requests/${spreadId}/spread`);
  assert.equal(refused.status, 403);
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.requester, `/console/requests/${spreadId}/spread`);
  await page.getByRole('alert').getByText('This page is not available to your role.').waitFor();
  page.assertClean();
  await context.close();
});

async function statusOf(id) {
  return (await s.api(s.keys.admin, 'GET', `/v1/requests/${id}`)).body.status;
}

test('bulk: select two, preview what approving removes, a reason, confirm: both decided, the third still pending', async () => {
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.reviewer, '/console/queue');
  const bar = page.getByRole('group', { name: 'Bulk decisions' });
  await page.getByLabel(`Select request ${bulk.a}`, { exact: true }).waitFor();

  // Select all on this page, then none.
  const all = bar.getByLabel('Select all on this page', { exact: true });
  await all.check();
  const boxes = page.locator('tbody input[type="checkbox"]');
  const n = await boxes.count();
  assert.ok(n >= 6, `rows: ${n}`);
  assert.equal(await boxes.evaluateAll((bs) => bs.filter((b) => b.checked).length), n);
  await bar.getByText(`${n} selected`).waitFor();
  await all.uncheck();
  assert.equal(await boxes.evaluateAll((bs) => bs.filter((b) => b.checked).length), 0);
  assert.equal(await bar.getByRole('button', { name: 'Approve selected' }).count(), 0, 'no actions without a selection');

  await page.getByLabel(`Select request ${bulk.a}`, { exact: true }).check();
  await page.getByLabel(`Select request ${bulk.b}`, { exact: true }).check();
  assert.equal(page.url(), `${web.origin}/console/queue`, 'a checkbox does not open the request');
  await bar.getByText('2 selected').waitFor();
  assert.equal(await all.evaluate((b) => b.indeterminate), true);
  await bar.getByRole('button', { name: 'Approve selected', exact: true }).click();

  // The preview: nothing changed yet; each request's copies and chats, the total.
  const preview = page.getByRole('region', { name: 'Approve 2 requests' });
  await preview.waitFor();
  const lineA = preview.locator(`li[data-id="${bulk.a}"]`), lineB = preview.locator(`li[data-id="${bulk.b}"]`);
  await lineA.getByText('2 copies in 2 chats').waitFor();
  await lineB.getByText('3 copies in 3 chats').waitFor();
  assert.match(await lineA.innerText(), new RegExp(`Request ${bulk.a}[\\s\\S]*bka-chat-1, bka-chat-2`));
  await preview.getByText('approving removes 5 copies in 5 chats').waitFor();
  assert.equal(await statusOf(bulk.a), 'pending_review', 'the preview changes nothing');
  await preview.getByRole('button', { name: 'Confirm', exact: true }).click();
  await preview.getByText('A reason is required.').waitFor();
  await preview.getByLabel('Policy ground').selectOption('ground_illegal');
  await preview.getByLabel('Reason', { exact: true }).fill('Each picture and its copies are the notifier’s intimate image');
  await assertAccessible(page, 'bulk preview');
  await screenshot(page, 'bulk-preview', 'en', 1280);

  await preview.getByRole('button', { name: 'Confirm', exact: true }).click();
  await preview.getByText('Finished: 2 of 2 decided.').waitFor({ timeout: 30000 });
  for (const id of [bulk.a, bulk.b]) assert.match(await preview.locator(`ol.bulk-results li[data-id="${id}"]`).innerText(), new RegExp(`Request ${id}: done`));
  assert.equal(await preview.locator('progress').evaluate((p) => `${p.value}/${p.max}`), '2/2');
  for (const id of [bulk.a, bulk.b]) {
    const st = await statusOf(id);
    assert.ok(['approved', 'actioned', 'confirmed'].includes(st), `request ${id}: ${st}`);
    const r = (await s.api(s.keys.admin, 'GET', `/v1/requests/${id}`)).body;
    assert.match(r.decision.reason, /^Each picture/);
    assert.equal(r.decision.ground, 'illegal_content');
  }
  assert.equal(await statusOf(bulk.c), 'pending_review');
  // The queue is refreshed: the decided requests are gone, the third is still there.
  await page.getByRole('link', { name: `Open request ${bulk.a}`, exact: true }).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: `Open request ${bulk.c}`, exact: true }).waitFor();
  await assertAccessible(page, 'bulk results');
  await screenshot(page, 'bulk-done', 'en', 1280);
  await preview.getByRole('button', { name: 'Close', exact: true }).click();
  await preview.waitFor({ state: 'detached' });
  page.assertClean();
  await context.close();
});

test('bulk: reject two, one claimed by another reviewer: its line names the claim, the other is rejected', async () => {
  const claimed = await s.api(s.keys.reviewer2, 'POST', `/v1/requests/${bulk.e}/claim`);
  assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
  const context = await newContext(browser, { lang: 'en', width: 390 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.reviewer, '/console/queue');
  await page.getByLabel(`Select request ${bulk.d}`, { exact: true }).check();
  await page.getByLabel(`Select request ${bulk.e}`, { exact: true }).check();
  await page.getByRole('button', { name: 'Reject selected', exact: true }).click();
  const preview = page.getByRole('region', { name: 'Reject 2 requests' });
  await preview.locator(`li[data-id="${bulk.e}"]`).getByText('1 copy in 1 chat').waitFor();
  await preview.getByText('rejecting keeps 2 copies in 2 chats').waitFor();
  await preview.getByLabel('Policy ground').selectOption('ground_insufficient');
  await preview.getByLabel('Reason', { exact: true }).fill('The notice does not show the picture is the notifier’s');
  await assertAccessible(page, 'bulk reject preview 390');
  await assertNoHorizontalScroll(page, 'bulk reject preview 390');
  await screenshot(page, 'bulk-preview', 'en', 390);
  await preview.getByRole('button', { name: 'Confirm', exact: true }).click();
  await preview.getByText('Finished: 1 of 2 decided.').waitFor({ timeout: 30000 });
  assert.match(await preview.locator(`ol.bulk-results li[data-id="${bulk.d}"]`).innerText(), /done \(Rejected\)/);
  const failed = preview.locator(`ol.bulk-results li[data-id="${bulk.e}"]`);
  assert.match(await failed.innerText(), /claimed by Ravi Reviewer/);
  assert.equal(await statusOf(bulk.d), 'rejected');
  assert.equal(await statusOf(bulk.e), 'pending_review');
  await assertNoHorizontalScroll(page, 'bulk results 390');
  await screenshot(page, 'bulk-failure', 'en', 390);
  page.assertClean();
  await context.close();
});
