// (a) The reviewer's path: sign in with the "API key" field, the review queue, the request,
// claim (a second reviewer is refused), reveal with a reason for 30 seconds, approve; the platform
// receives the removals and the request is confirmed. A video item is a strip of blurred keyframes,
// each revealed on its own (never played).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTakedown, consoleOrigin, poll } from './lib/server.mjs';
import { launch, newContext, guardedPage, signIn, screenshot, assertAccessible, assertNoHorizontalScroll } from './lib/browser.mjs';
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
  // A ground of the other outcome is said beside the ground, and nothing is sent.
  await decision.getByLabel('Policy ground').selectOption('ground_not_illegal');
  await decision.getByLabel('Reason', { exact: true }).fill('placeholder');
  await decision.getByRole('button', { name: 'Approve', exact: true }).click();
  await decision.getByText('This ground is for rejecting a request: choose a ground to approve it, or reject.').waitFor();
  assert.equal(await decision.getByLabel('Policy ground').getAttribute('aria-invalid'), 'true');
  assert.equal(await decision.getByText('A reason is required.').count(), 0, 'the reason, now given, is no longer marked');
  await decision.scrollIntoViewIfNeeded();
  await screenshot(page, 'decision-ground', 'en', 1280);
  assert.equal((await s.api(s.keys.admin, 'GET', `/v1/requests/${id}`)).body.status, 'pending_review', 'nothing decided');
  await decision.getByLabel('Policy ground').selectOption({ index: 0 });
  assert.equal(await decision.getByLabel('Policy ground').getAttribute('aria-invalid'), null, 'the ground\'s problem goes with the change');
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

// Pixels of an <img> or <canvas> further than 40 from grey (max - min of R, G, B), as a fraction.
function colourFraction(el) {
  let c = el;
  if (el instanceof HTMLImageElement) {
    c = document.createElement('canvas');
    c.width = el.naturalWidth; c.height = el.naturalHeight;
    c.getContext('2d').drawImage(el, 0, 0);
  }
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 40) n++;
  return n / (d.length / 4);
}

// Needs the preview's frame=0..5 for a video item (404 past its keyframes) and ffmpeg (Debian's,
// scripts/setup.sh) to make the video.
test('reviewer: a video item is a strip of blurred keyframes, never played; one keyframe revealed with a reason', async () => {
  // A requester files a 12-second colourful video (a keyframe every 1.2 s) as media evidence.
  const dir = mkdtempSync(join(tmpdir(), 'takedown-video-'));
  let video;
  try {
    await promisify(execFile)('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=10',
      '-t', '12', '-g', '12', '-pix_fmt', 'yuv420p', join(dir, 'clip.mp4')]);
    video = readFileSync(join(dir, 'clip.mp4'));
  } catch (e) {
    throw new Error(`ffmpeg could not make the test video (install Debian's ffmpeg: scripts/setup.sh): ${e.message}`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
  const vid = await fileRequest(s, s.keys.requester, notice(video, { explanation: 'A video of me shared without my consent.' }));
  await waitStatus(s, vid, 'pending_review');
  const item = (await s.api(s.keys.reviewer, 'GET', `/v1/requests/${vid}`)).body.evidence[0];
  assert.equal(item.kind, 'media');
  assert.ok(item.video && item.video.duration_s > 10, JSON.stringify(item));

  const context = await newContext(browser, { lang: 'en', width: 1280 });
  await context.clock.install();
  const page = await guardedPage(context, web.origin);
  const previews = [];
  page.on('response', (r) => { if (/\/evidence\/0\/preview/.test(r.url())) previews.push({ url: r.url(), status: r.status() }); });
  await signIn(page, web.origin, s.keys.reviewer, `/console/requests/${vid}`);
  const evidence = page.getByRole('region', { name: 'Evidence' });
  await evidence.getByText('Video: shown as keyframes; it is never played.', { exact: true }).waitFor();
  const strip = evidence.getByRole('list', { name: 'Keyframes of evidence item 1' });
  await strip.and(page.locator('[aria-busy="false"]')).waitFor();
  const tiles = strip.locator('li.kf-tile');
  const n = await tiles.count();
  assert.ok(n >= 4 && n <= 6, `at least 4 keyframe tiles (${n})`);
  await evidence.getByText(`${n} keyframes spread over the video.`, { exact: true }).waitFor();
  // Asked for in order, blurred (no reveal), until the first 404 (or the sixth).
  const asked = previews.map((p) => new URL(p.url).searchParams);
  assert.ok(asked.every((q) => !q.has('reveal') && !q.has('reason')), 'the strip loads without reveal');
  const frames = [...new Set(asked.map((q) => Number(q.get('frame'))))];
  assert.deepEqual(frames, Array.from({ length: Math.min(n + 1, 6) }, (_, k) => k), 'frames asked for in order');
  if (n < 6) assert.ok(previews.some((p) => p.url.includes(`frame=${n}`) && p.status === 404), 'stopped at the first 404');
  // Every tile blurred and grey, labelled, with its own Reveal (disabled without a reason).
  for (let k = 1; k <= n; k++) {
    const img = strip.getByRole('img', { name: `Keyframe ${k} of ${n} (blurred)`, exact: true });
    await img.waitFor();
    assert.ok(await img.evaluate((i) => i.complete && i.naturalWidth > 0), `keyframe ${k} loads`);
    const colour = await img.evaluate(colourFraction);
    assert.ok(colour < 0.01, `keyframe ${k} is grey (${colour})`);
    await strip.getByText(`Keyframe ${k} of ${n}`, { exact: true }).waitFor();
    assert.ok(await strip.getByRole('button', { name: `Reveal keyframe ${k} of ${n}`, exact: true }).isDisabled());
  }
  assert.equal(await page.locator('video, audio').count(), 0, 'no <video> or <audio> element');
  await assertAccessible(page, 'video request en 1280');

  // Reveal keyframe 2 with a reason: that tile is clear (in colour), the others stay blurred.
  await evidence.getByLabel('Reason', { exact: true }).fill('Checking who is shown in the video');
  const reveal2 = strip.getByRole('button', { name: `Reveal keyframe 2 of ${n}`, exact: true });
  assert.ok(await reveal2.isEnabled());
  const revealResponse = page.waitForResponse((r) => r.url().includes('reveal=true'));
  await reveal2.click();
  const res = await revealResponse;
  assert.equal(res.status(), 200);
  const q = new URL(res.url()).searchParams;
  assert.equal(q.get('frame'), '1');
  assert.equal(q.get('reason'), 'Checking who is shown in the video');
  const clear = strip.getByRole('img', { name: `Keyframe 2 of ${n} (clear)`, exact: true });
  await clear.waitFor();
  await page.waitForFunction(() => document.querySelector('canvas[data-revealed="true"]')?.width > 0);
  const colour = await clear.evaluate(colourFraction);
  assert.ok(colour > 0.2, `the revealed keyframe is in colour (${colour})`);
  assert.ok(await strip.getByRole('img', { name: `Keyframe 2 of ${n} (blurred)`, exact: true }).isHidden());
  for (let k = 1; k <= n; k++) {
    if (k === 2) continue;
    await strip.getByRole('img', { name: `Keyframe ${k} of ${n} (blurred)`, exact: true }).waitFor();
    assert.equal(await strip.getByRole('img', { name: `Keyframe ${k} of ${n} (clear)` }).count(), 0, `keyframe ${k} stays blurred`);
  }
  await strip.getByText('Clear for 30 s more', { exact: true }).waitFor();
  await evidence.getByText(/Reveals left this hour: \d+/).waitFor();
  assert.equal(await evidence.getByLabel('Reason', { exact: true }).inputValue(), '', 'each reveal needs its own reason');
  assert.equal(await page.locator('video, audio').count(), 0);
  await assertAccessible(page, 'video request, keyframe 2 revealed');
  await screenshot(page, 'request-video-revealed', 'en', 1280);
  await page.clock.runFor(31000);
  await strip.getByRole('img', { name: `Keyframe 2 of ${n} (blurred)`, exact: true }).waitFor();
  assert.ok(await clear.isHidden(), 'back to blurred after 30 seconds');
  await strip.getByRole('button', { name: `Reveal keyframe 2 of ${n}`, exact: true }).waitFor();
  page.assertClean();
  await context.close();

  // Audited: evidence.revealed with the keyframe's number (read from the store: no API lists records).
  const { stdout } = await promisify(execFile)('sqlite3', ['-readonly', '-json', s.store,
    "SELECT actor, payload FROM audit WHERE kind = 'evidence.revealed'"]).catch((e) => { throw new Error(`sqlite3 (scripts/setup.sh): ${e.message}`); });
  const revealed = JSON.parse(stdout || '[]').map((r) => JSON.parse(r.payload)).filter((p) => p.request_id === vid);
  assert.equal(revealed.length, 1, JSON.stringify(revealed));
  assert.equal(revealed[0].frame, 1);
  assert.equal(revealed[0].item, 0);
  assert.equal(revealed[0].reason, 'Checking who is shown in the video');

  // Over the hourly budget (a second reviewer's, spent through the API): the refusal is shown and
  // the keyframe stays blurred.
  {
    let refused;
    for (let i = 0; i < 100 && !refused; i++) {
      const r = await s.api(s.keys.reviewer2, 'GET', `/v1/requests/${vid}/evidence/0/preview?frame=0&reveal=true&reason=budget`);
      if (r.status === 429) refused = r.body.error.message; else assert.equal(r.status, 200);
    }
    assert.ok(refused, 'the reveal budget runs out');
    const ctx = await newContext(browser, { lang: 'en', width: 1280 });
    const p = await guardedPage(ctx, web.origin);
    await signIn(p, web.origin, s.keys.reviewer2, `/console/requests/${vid}`);
    const list = p.getByRole('list', { name: 'Keyframes of evidence item 1' });
    await list.and(p.locator('[aria-busy="false"]')).waitFor();
    await p.getByRole('region', { name: 'Evidence' }).getByLabel('Reason', { exact: true }).fill('One more look');
    const answer = p.waitForResponse((r) => r.url().includes('reveal=true'));
    await list.getByRole('button', { name: `Reveal keyframe 3 of ${n}`, exact: true }).click();
    assert.equal((await answer).status(), 429);
    await p.getByRole('region', { name: 'Evidence' }).getByRole('alert').getByText(refused, { exact: true }).waitFor();
    await list.getByRole('img', { name: `Keyframe 3 of ${n} (blurred)`, exact: true }).waitFor();
    assert.equal(await list.getByRole('img', { name: /\(clear\)/ }).count(), 0);
    p.assertClean();
    await ctx.close();
  }

  // English and Korean at 1280 and 390: the strip wraps, no horizontal scroll, axe clean.
  for (const lang of ['en', 'ko']) {
    for (const width of [1280, 390]) {
      const ctx = await newContext(browser, { lang, width });
      const p = await guardedPage(ctx, web.origin);
      await signIn(p, web.origin, s.keys.reviewer, `/console/requests/${vid}`, { lang });
      const list = p.getByRole('list', { name: lang === 'ko' ? '증거 항목 1의 키프레임' : 'Keyframes of evidence item 1' });
      await list.and(p.locator('[aria-busy="false"]')).waitFor();
      await list.getByRole('img', { name: lang === 'ko' ? `키프레임 ${n}/${n} (흐림)` : `Keyframe ${n} of ${n} (blurred)`, exact: true }).waitFor();
      await list.getByRole('button', { name: lang === 'ko' ? `키프레임 1/${n} 공개 보기` : `Reveal keyframe 1 of ${n}`, exact: true }).waitFor();
      await p.evaluate(() => Promise.all([...document.images].map((i) => (i.complete ? null : new Promise((r) => { i.onload = i.onerror = r; })))));
      assert.equal(await p.locator('video, audio').count(), 0);
      await assertAccessible(p, `video request ${lang} ${width}`);
      await assertNoHorizontalScroll(p, `video request ${lang} ${width}`);
      if (width === 390) {
        const tops = await list.locator('li.kf-tile').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
        assert.ok(new Set(tops).size > 1, `the tiles wrap at 390 px (${tops})`);
      }
      await screenshot(p, 'request-video', lang, width);
      p.assertClean();
      await ctx.close();
    }
  }
});
