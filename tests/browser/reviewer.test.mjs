// (a) The reviewer's path: sign in with the "API key" field, the review queue, the request,
// claim (a second reviewer is refused), reveal with a reason for 30 seconds, approve; the platform
// receives the removals and the request is confirmed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTakedown, consoleOrigin, poll } from './lib/server.mjs';
import { launch, newContext, guardedPage, signIn, screenshot, assertAccessible } from './lib/browser.mjs';
import { recordCopies, notice, fileRequest, waitStatus } from './lib/fixtures.mjs';

let s, web, browser, id, claimId, copies;

before(async () => {
  s = await startTakedown();
  web = await consoleOrigin(s);
  browser = await launch();
  const jpeg = await (await import('./lib/browser.mjs')).makeJpeg(browser, 11);
  copies = await recordCopies(s, jpeg, 'rv', 3);
  // An untrusted requester (the default profile): the request waits for review.
  id = await fileRequest(s, s.keys.requester, notice(jpeg, { evidence: [{ media: jpeg.toString('base64') }, { content_id: copies[0] }] }));
  claimId = await fileRequest(s, s.keys.requester, notice(await (await import('./lib/browser.mjs')).makeJpeg(browser, 12)));
  await waitStatus(s, id, 'pending_review');
  await waitStatus(s, claimId, 'pending_review');
});
after(async () => { await browser?.close(); await web?.stop(); await s?.stop(); });

test('reviewer: queue, request, reveal with a reason for 30 s, approve; removals reach the platform', async () => {
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  await context.clock.install();
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.reviewer);

  await page.getByRole('link', { name: 'Review queue', exact: true }).click();
  await page.waitForURL(/\/console\/queue$/);
  const row = page.locator('tr.clickable', { has: page.getByRole('link', { name: `Open request ${id}` }) });
  await row.waitFor();
  assert.match(await row.innerText(), /ncii/);
  assert.match(await row.locator('.countdown').innerText(), /left/);
  await row.locator('td').nth(2).click(); // the row, not its link
  await page.waitForURL(new RegExp(`/console/requests/${id}$`));
  await page.getByRole('heading', { name: `Request ${id}`, exact: true }).waitFor();
  // Every notice field, the evidence and the spread.
  const noticeText = await page.getByRole('region', { name: 'Notice' }).innerText();
  for (const v of ['Kim Minji', 'minji@example.org', 'shared without my consent']) assert.ok(noticeText.includes(v), v);
  const spread = page.getByRole('region', { name: 'What the sweep would remove' });
  for (const c of copies) await spread.getByRole('cell', { name: c, exact: true }).waitFor();

  // The preview is blurred; Reveal needs a reason (disabled without; the API answers 400).
  const evidence = page.getByRole('region', { name: 'Evidence' });
  const blurred = evidence.getByRole('img', { name: /Blurred greyscale preview of evidence item 1/ });
  await blurred.waitFor();
  assert.ok(await blurred.evaluate((img) => img.complete && img.naturalWidth > 0), 'the blurred preview loads');
  assert.doesNotMatch(await blurred.getAttribute('src'), /reveal/);
  const revealForm = evidence.locator('form.reveal-form').first();
  const revealButton = revealForm.getByRole('button', { name: 'Reveal', exact: true });
  assert.ok(await revealButton.isDisabled(), 'Reveal is disabled without a reason');
  await revealForm.getByLabel('Reason', { exact: true }).fill('Checking the match before approval');
  assert.ok(await revealButton.isEnabled());
  const revealResponse = page.waitForResponse((r) => r.url().includes('reveal=true'));
  await revealButton.click();
  const res = await revealResponse;
  assert.equal(res.status(), 200);
  assert.match(res.url(), /reason=Checking/);
  const clear = evidence.getByRole('img', { name: /Clear picture of evidence item 1/ });
  await clear.waitFor();
  assert.ok(await blurred.isHidden(), 'the blurred picture is replaced');
  // In colour (the blurred preview is greyscale): the picture is clear.
  const saturated = await clear.evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 40) n++;
    return n / (d.length / 4);
  });
  assert.ok(saturated > 0.2, `the revealed picture is in colour (${saturated})`);
  await evidence.getByText(/Clear picture shown for 30 s more/).waitFor();
  await screenshot(page, 'request-revealed', 'en', 1280);
  await page.clock.runFor(5000);
  await evidence.getByText(/Clear picture shown for 2[5-6] s more/).waitFor();
  await page.clock.runFor(26000);
  await blurred.waitFor({ state: 'visible' });
  assert.ok(await clear.isHidden(), 'back to blurred after 30 seconds');

  // Approve: a reason is required.
  const decision = page.getByRole('region', { name: 'Decision', exact: true });
  await decision.getByRole('button', { name: 'Approve', exact: true }).click();
  await decision.getByText('A reason is required.').waitFor();
  await decision.getByLabel('Policy ground').selectOption({ index: 0 });
  await decision.getByLabel('Reason', { exact: true }).fill('The reported picture and its copies are the notifier’s intimate image');
  await decision.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.getByRole('heading', { name: 'Approved', exact: true }).waitFor();
  await assertAccessible(page, 'request after approval');

  // The platform receives every removal (its webhook acknowledges them) and the request is confirmed.
  const done = await waitStatus(s, id, 'confirmed');
  assert.deepEqual(done.removals.map((r) => r.content_id).sort(), [...copies].sort());
  const removed = s.receiver.received.filter((a) => a && (a.kind === 'remove' || a.action === 'remove' || JSON.stringify(a).includes('"remove"')));
  for (const c of copies) assert.ok(JSON.stringify(removed).includes(c), `webhook for ${c}`);
  await page.getByRole('region', { name: 'Removed copies' }).getByRole('cell', { name: copies[0], exact: true }).waitFor({ timeout: 15000 });
  page.assertClean();
  await context.close();
});

// Needs the claim endpoints (POST/DELETE /v1/requests/{id}/claim) and the reveal reason check.
test('reviewer: claim; a second reviewer cannot claim it; a reveal without a reason is refused', async () => {
  const noReason = await s.api(s.keys.reviewer, 'GET', `/v1/requests/${claimId}/evidence/0/preview?reveal=true`);
  assert.equal(noReason.status, 400, 'a reveal without a reason is refused');
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.reviewer, `/console/requests/${claimId}`);
  const id = claimId;
  // Claim; a second reviewer is refused (API 409 and in the UI).
  const claimBox = page.getByRole('region', { name: 'Claim', exact: true });
  await claimBox.getByRole('button', { name: 'Claim', exact: true }).click();
  await claimBox.getByText(/Claimed by you until/).waitFor();
  const other = await s.api(s.keys.reviewer2, 'POST', `/v1/requests/${id}/claim`);
  assert.equal(other.status, 409, JSON.stringify(other.body));
  assert.equal(other.body.error.code, 'failed_precondition');
  assert.match(other.body.error.message, /Rita Reviewer/);
  {
    const ctx2 = await newContext(browser, { lang: 'en', width: 1280 });
    const p2 = await guardedPage(ctx2, web.origin);
    await signIn(p2, web.origin, s.keys.reviewer2, `/console/requests/${id}`);
    const box2 = p2.getByRole('region', { name: 'Claim', exact: true });
    await box2.getByText(/Claimed by Rita Reviewer until/).waitFor();
    await box2.getByRole('button', { name: 'Claim', exact: true }).click();
    await box2.getByRole('alert').getByText(/Rita Reviewer/).waitFor();
    p2.assertClean();
    await ctx2.close();
  }

  // Release: the second reviewer can claim it then.
  await claimBox.getByRole('button', { name: 'Release', exact: true }).click();
  await claimBox.getByText('Unclaimed').waitFor();
  assert.equal((await s.api(s.keys.reviewer2, 'POST', `/v1/requests/${claimId}/claim`)).status, 200);
  page.assertClean();
  await context.close();
});

test('reviewer: the language switch is remembered', async () => {
  const context = await newContext(browser, { lang: 'en', width: 390 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.reviewer);
  await page.getByLabel('Language').selectOption('ko');
  await page.getByRole('link', { name: '검토 대기열', exact: true }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ko');
  await page.reload();
  await page.getByRole('button', { name: '로그아웃', exact: true }).waitFor();
  await page.getByRole('button', { name: '로그아웃', exact: true }).click();
  await page.getByLabel('API 키', { exact: true }).waitFor();
  await page.getByRole('button', { name: '로그인', exact: true }).waitFor();
  page.assertClean();
  await context.close();
});
