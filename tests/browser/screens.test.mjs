// (e) Every screen in English and Korean at 1280 and 390 px: axe clean (serious/critical), no
// horizontal scroll, a screenshot each (SCREENSHOT_DIR/{screen}-{en|ko}-{1280|390}.png). Also the
// appeals decision (the reviewer who decided the removal is refused by the service).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTakedown, consoleOrigin } from './lib/server.mjs';
import { launch, newContext, guardedPage, signIn, makeJpeg, screenshot, assertAccessible, assertNoHorizontalScroll } from './lib/browser.mjs';
import { recordCopies, notice, fileRequest, waitStatus, approve } from './lib/fixtures.mjs';

let s, web, browser, pending, confirmed, appealId;

before(async () => {
  s = await startTakedown();
  web = await consoleOrigin(s);
  browser = await launch();
  const a = await makeJpeg(browser, 31), b = await makeJpeg(browser, 32);
  await recordCopies(s, a, 'sa', 2);
  await recordCopies(s, b, 'sb', 2);
  confirmed = await fileRequest(s, s.keys.requester, notice(a));
  pending = await fileRequest(s, s.keys.requester, notice(b, { case_reference: 'HL-2026-0042' }));
  await waitStatus(s, confirmed, 'pending_review');
  await approve(s, confirmed);
  const done = await waitStatus(s, confirmed, 'confirmed');
  const appeal = await s.api(s.keys.platform, 'POST', '/v1/appeals',
    { action_id: done.removals[0].action_id, reason: 'This is my own picture, posted with consent.', uploader_id: 'sa-user-1' });
  assert.equal(appeal.status, 201, JSON.stringify(appeal.body));
  appealId = appeal.body.id;
  await s.api(s.keys.admin, 'POST', '/v1/banks', { name: 'known-ncii', category: 'ncii', action: 'block' });
  await s.api(s.keys.admin, 'POST', '/v1/banks/known-ncii/import', 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100\n', { raw: true, contentType: 'text/plain' });
  // An entry with all three hashes, and a disabled one, for the bank's entries screen.
  await s.api(s.keys.admin, 'POST', '/v1/banks/known-ncii/import?format=jsonl&source=hotline-list',
    '{"pdq":"3f118151d606857a50bd9ce63b51dea654bc6a1deae6211980f621597f78d6e6","quality":90,' +
    '"md5":"9e107d9d372bb6826bd81d3542a419d6","sha256":"d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"}\n',
    { raw: true, contentType: 'application/x-ndjson' });
  const listed = await s.api(s.keys.admin, 'GET', '/v1/banks/known-ncii/entries');
  await s.api(s.keys.admin, 'POST', `/v1/entries/${listed.body.entries[0].entry_id}/disable`, {});
  await s.api(s.keys.admin, 'POST', `/v1/requesters/${s.ids.requester2}`, { source_type: 'hotline', trusted: true, deadline_hours: 24 });
  await waitStatus(s, pending, 'pending_review');
});
after(async () => { await browser?.close(); await web?.stop(); await s?.stop(); });

const SCREENS = {
  reviewer: [['queue', '/console/queue'], ['request', () => `/console/requests/${pending}`], ['appeals', '/console/appeals']],
  requester: [['new', '/console/new'], ['mine', '/console/mine'], ['timeline', () => `/console/requests/${confirmed}`]],
  admin: [['banks', '/console/banks'], ['bank-entries', '/console/banks/known-ncii'], ['keys', '/console/keys'], ['requesters', '/console/requesters'], ['mail', '/console/mail'],
    ['audit', '/console/audit'], ['report', '/console/report'], ['health', '/console/health']],
};

async function settle(page) {
  await page.locator('main h1').first().waitFor();
  await page.waitForFunction(() => ![...document.querySelectorAll('main [role="status"]')].some((e) => /Loading|불러오는/.test(e.textContent)));
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.evaluate(() => Promise.all([...document.images].map((i) => (i.complete ? null : new Promise((r) => { i.onload = i.onerror = r; })))));
}

async function check(page, screen, lang, width) {
  await settle(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
  await assertAccessible(page, `${screen} ${lang} ${width}`);
  await assertNoHorizontalScroll(page, `${screen} ${lang} ${width}`);
  await screenshot(page, screen, lang, width);
}

for (const lang of ['en', 'ko']) {
  for (const width of [1280, 390]) {
    test(`screens ${lang} ${width}`, async () => {
      const failures = [];
      {
        const context = await newContext(browser, { lang, width });
        const page = await guardedPage(context, web.origin);
        await page.goto(`${web.origin}/console/`);
        await page.getByLabel(lang === 'ko' ? 'API 키' : 'API key', { exact: true }).waitFor();
        try { await check(page, 'signin', lang, width); } catch (e) { failures.push(e.message); }
        page.assertClean();
        await context.close();
      }
      for (const [role, screens] of Object.entries(SCREENS)) {
        const context = await newContext(browser, { lang, width });
        const page = await guardedPage(context, web.origin);
        await signIn(page, web.origin, s.keys[role], '/console/', { lang });
        for (const [screen, path] of screens) {
          await page.goto(web.origin + (typeof path === 'function' ? path() : path));
          try { await check(page, screen, lang, width); } catch (e) { failures.push(e.message); }
        }
        page.assertClean();
        await context.close();
      }
      assert.deepEqual(failures, []);
    });
  }
}

test('appeals: the reviewer who decided the removal is refused; another reviewer decides', async () => {
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.reviewer, '/console/appeals');
  const item = page.locator('li', { has: page.getByRole('heading', { name: new RegExp(`Appeal ${appealId}`) }) });
  await item.getByLabel('Outcome').selectOption('upheld');
  await item.getByLabel('Reason', { exact: true }).fill('Consent shown');
  const answer = page.waitForResponse((r) => r.url().endsWith(`/v1/appeals/${appealId}/decision`));
  await item.getByRole('button', { name: 'Decide', exact: true }).click();
  const res = await answer;
  assert.notEqual(res.status(), 200, 'the service let the reviewer who decided the removal decide its appeal');
  const body = await res.json();
  await item.getByRole('alert').getByText(body.error.message, { exact: true }).waitFor();
  await screenshot(page, 'appeal-refused', 'en', 1280);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await signIn(page, web.origin, s.keys.reviewer2, '/console/appeals');
  const item2 = page.locator('li', { has: page.getByRole('heading', { name: new RegExp(`Appeal ${appealId}`) }) });
  await item2.getByLabel('Reason', { exact: true }).fill('The removal stands: no consent shown');
  await item2.getByRole('button', { name: 'Decide', exact: true }).click();
  await item2.waitFor({ state: 'detached' });
  const list = await s.api(s.keys.admin, 'GET', '/v1/appeals?status=rejected');
  assert.ok(list.body.appeals.some((x) => x.id === appealId));
  page.assertClean();
  await context.close();
});
