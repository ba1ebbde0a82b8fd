// (d) Refusals: a requester going by URL to screens of other roles and to another requester's
// request sees a refusal or "not found", as the API answers 403/404; deep links survive sign-in;
// an ended session goes back to the sign-in screen with a message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTakedown, consoleOrigin } from './lib/server.mjs';
import { launch, newContext, guardedPage, signIn } from './lib/browser.mjs';
import { fileRequest, notice } from './lib/fixtures.mjs';

let s, web, browser, own, others;

before(async () => {
  s = await startTakedown();
  web = await consoleOrigin(s);
  browser = await launch();
  const hashOnly = (md5) => ({ ...notice(Buffer.alloc(0)), evidence: [{ md5 }] });
  own = await fileRequest(s, s.keys.requester, hashOnly('00112233445566778899aabbccddeeff'));
  others = await fileRequest(s, s.keys.requester2, hashOnly('ffeeddccbbaa99887766554433221100'));
});
after(async () => { await browser?.close(); await web?.stop(); await s?.stop(); });

test('requester: other roles\' screens and another requester\'s request are refused', async () => {
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.requester);
  // The navigation offers only the requester's screens.
  assert.equal(await page.getByRole('link', { name: 'Review queue' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Banks' }).count(), 0);

  for (const [path, api] of [['/console/queue', '/v1/review/queue'], ['/console/banks', '/v1/banks'],
    ['/console/audit', '/v1/audit/verify'], ['/console/appeals', '/v1/appeals']]) {
    await page.goto(web.origin + path);
    await page.getByRole('alert').getByText('This page is not available to your role.').waitFor();
    assert.equal((await s.api(s.keys.requester, 'GET', api)).status, 403, api);
  }
  await page.goto(`${web.origin}/console/requests/${others}`);
  await page.getByRole('alert').getByText(/Not found/).waitFor();
  assert.equal((await s.api(s.keys.requester, 'GET', `/v1/requests/${others}`)).status, 404);
  await page.goto(`${web.origin}/console/requests/${own}`);
  await page.getByRole('region', { name: 'Timeline' }).waitFor();
  await page.goto(`${web.origin}/console/no-such-page`);
  await page.getByRole('alert').getByText('There is no such page.').waitFor();
  page.assertClean();
  await context.close();
});

test('sign-in: wrong and platform keys refused; deep link kept; ended session back to sign-in', async () => {
  const context = await newContext(browser, { lang: 'en', width: 390 });
  const page = await guardedPage(context, web.origin);
  await page.goto(`${web.origin}/console/requests/${own}`);
  await page.getByLabel('API key', { exact: true }).fill('td_not-a-key');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').waitFor();
  await page.getByLabel('API key', { exact: true }).fill(s.keys.platform);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: /platform|not allowed|forbidden|role/i }).waitFor();
  await page.getByLabel('API key', { exact: true }).fill(s.keys.reviewer);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: `Request ${own}`, exact: true }).waitFor();
  assert.match(page.url(), new RegExp(`/console/requests/${own}$`));
  // The session ends (the cookie is gone): the next call (the page's 5 s refresh) answers 401 ->
  // the sign-in screen, with a message.
  await context.clearCookies();
  await page.getByText(/Your session ended/).waitFor({ timeout: 10000 });
  await page.getByLabel('API key', { exact: true }).waitFor();
  page.assertClean();
  await context.close();
});
