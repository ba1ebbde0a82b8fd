// (b) The requester's path: "Submit request" (the API's problems shown beside their fields, then a
// good notice with a file), "My requests" refreshed without reload until confirmed, the timeline
// and the confirmation downloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTakedown, consoleOrigin } from './lib/server.mjs';
import { launch, newContext, guardedPage, signIn, makeJpeg, screenshot } from './lib/browser.mjs';
import { recordCopies, waitStatus, approve } from './lib/fixtures.mjs';

let s, web, browser, jpeg, copies;

before(async () => {
  s = await startTakedown();
  web = await consoleOrigin(s);
  browser = await launch();
  jpeg = await makeJpeg(browser, 21);
  copies = await recordCopies(s, jpeg, 'rq', 2);
});
after(async () => { await browser?.close(); await web?.stop(); await s?.stop(); });

test('requester: submit request, follow My requests to confirmed, download the confirmation', async () => {
  const context = await newContext(browser, { lang: 'en', width: 390 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.requester);
  await page.getByRole('link', { name: 'Submit request', exact: true }).click();
  await page.getByRole('heading', { name: 'Submit request', exact: true }).waitFor();

  // A bad notice: the service's problems appear beside their fields.
  await page.getByLabel('Notifier email').fill('not-an-email');
  await page.getByLabel('Kind of item 1').selectOption('pdq');
  await page.getByLabel('Value of item 1').fill('abc');
  await page.getByRole('button', { name: 'Submit request', exact: true }).click();
  await page.locator('#nr-explanation-err').waitFor();
  assert.match(await page.locator('#nr-explanation-err').innerText(), /missing/);
  assert.match(await page.locator('#nr-email-err').innerText(), /email/);
  assert.match(await page.locator('#nr-accuracy-err').innerText(), /must be true/);
  assert.match(await page.locator('.item-row .error').first().innerText(), /pdq/);
  assert.equal(await page.getByLabel('Notifier email').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'new-errors', 'en', 390);

  // A good one, with the picture as a file.
  await page.getByLabel(/^Category/).selectOption('ncii');
  await page.getByLabel(/^Explanation/).fill('A private picture of me, shared in chats without my consent.');
  await page.getByLabel('Notifier name').fill('Lee Jiwoo');
  await page.getByLabel('Notifier email').fill('jiwoo@example.org');
  await page.getByLabel('I state that this notice is accurate and complete.').check();
  await page.getByLabel(/I believe in good faith/).check();
  await page.getByLabel('Signature').fill('Lee Jiwoo');
  await page.getByLabel('Kind of item 1').selectOption('media');
  await page.getByLabel('File of item 1').setInputFiles({ name: 'photo.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  await page.getByRole('button', { name: 'Add item', exact: true }).click();
  await page.getByLabel('Kind of item 2').selectOption('content_id');
  await page.getByLabel('Value of item 2').fill(copies[0]);
  await page.getByRole('button', { name: 'Submit request', exact: true }).click();
  await page.waitForURL(/\/console\/requests\/\d+$/);
  const id = Number(page.url().match(/(\d+)$/)[1]);
  const filed = await s.api(s.keys.requester, 'GET', `/v1/requests/${id}`);
  assert.equal(filed.body.notice.notifier.name, 'Lee Jiwoo');
  assert.equal(filed.body.evidence[0].kind, 'media');
  assert.equal(filed.body.evidence[1].content_id, copies[0]);

  // My requests, polled: the reviewer approves (API), the platform acknowledges, no reload.
  await page.getByRole('link', { name: 'My requests', exact: true }).click();
  const row = page.locator(`tr[data-request="${id}"]`);
  await row.waitFor();
  await page.evaluate(() => { window.__noReload = true; });
  await waitStatus(s, id, 'pending_review');
  await approve(s, id);
  await waitStatus(s, id, 'confirmed');
  await row.getByText('Confirmed', { exact: true }).waitFor({ timeout: 15000 });
  assert.equal(await page.evaluate(() => window.__noReload), true, 'refreshed without a reload');
  await screenshot(page, 'mine-confirmed', 'en', 390);

  // The timeline: received, approved with its reason, each removed copy, confirmed.
  await row.getByRole('link', { name: `Request ${id}` }).click();
  const timeline = page.getByRole('region', { name: 'Timeline' });
  for (const st of ['Received', 'Approved', 'Confirmed']) await timeline.getByText(st, { exact: true }).first().waitFor();
  assert.match(await timeline.innerText(), /verified by the reviewer/);
  const removed = page.getByRole('region', { name: 'Removed copies' });
  for (const c of copies) await removed.getByText(c, { exact: true }).waitFor();
  await screenshot(page, 'timeline', 'en', 390);

  // The confirmation, as downloads (needs GET /v1/requests/{id}/confirmation).
  for (const [name, format] of [['Download confirmation (CSV)', 'csv'], ['Download confirmation (JSON)', 'json']]) {
    const direct = await s.api(s.keys.requester, 'GET', `/v1/requests/${id}/confirmation?format=${format}`);
    assert.equal(direct.status, 200, `GET /v1/requests/${id}/confirmation?format=${format}: ${JSON.stringify(direct.body)}`);
    assert.match(direct.headers.get('content-disposition') || '', /attachment/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
    const text = readFileSync(await download.path(), 'utf8');
    assert.ok(download.suggestedFilename().length > 0);
    if (format === 'json') {
      const c = JSON.parse(text);
      assert.ok(JSON.stringify(c).includes(String(id)), 'the JSON names the request');
    }
    for (const c of copies) assert.ok(text.includes(c), `${format} lists ${c}`);
  }
  // Before confirmation the endpoint answers 409 (another request, still pending review).
  const pending = await s.api(s.keys.requester, 'POST', '/v1/requests', { category: 'ncii', explanation: 'another copy',
    notifier: { name: 'Lee Jiwoo', email: 'jiwoo@example.org' }, accuracy_statement: true, good_faith_statement: true,
    signature: 'Lee Jiwoo', evidence: [{ md5: '0123456789abcdef0123456789abcdef' }] });
  assert.equal(pending.status, 201, JSON.stringify(pending.body));
  const early = await s.api(s.keys.requester, 'GET', `/v1/requests/${pending.body.id}/confirmation?format=csv`);
  assert.equal(early.status, 409, JSON.stringify(early.body));
  page.assertClean();
  await context.close();
});

// The Korean console words the service's refusals in Korean (console/src/apitext.js): the same
// bad notice's problems beside their fields, none left in English.
test('requester (ko): the service\'s problems are shown in Korean beside their fields', async () => {
  const context = await newContext(browser, { lang: 'ko', width: 390 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.requester, '/console/', { lang: 'ko' });
  await page.getByRole('link', { name: '요청 제출', exact: true }).click();
  await page.getByRole('heading', { name: '요청 제출', exact: true }).waitFor();
  await page.locator('#nr-email').fill('not-an-email');
  await page.locator('select[id$="-kind"]').first().selectOption('pdq');
  await page.locator('input[id$="-value"]').first().fill('abc');
  await page.getByRole('button', { name: '요청 제출', exact: true }).click();
  await page.locator('#nr-explanation-err').waitFor();
  const shown = {
    explanation: await page.locator('#nr-explanation-err').innerText(),
    email: await page.locator('#nr-email-err').innerText(),
    accuracy: await page.locator('#nr-accuracy-err').innerText(),
    item: await page.locator('.item-row .error').first().innerText(),
  };
  assert.match(shown.explanation, /^빠졌습니다: 콘텐츠가 불법인 이유/);
  assert.equal(shown.email, '이메일 주소가 아닙니다');
  assert.match(shown.accuracy, /^확인해야 합니다: /);
  assert.match(shown.item, /16진수 64자리가 아닙니다/);
  for (const [field, text] of Object.entries(shown)) {
    assert.doesNotMatch(text, /\b(missing|must be|not an email|hex digits)\b/, `${field} in Korean: ${text}`);
  }
  assert.match(await page.locator('.new-request [role="alert"]').innerText(), /아래 표시된 항목을 고치세요/);
  await screenshot(page, 'new-errors', 'ko', 390);
  page.assertClean();
  await context.close();
});
