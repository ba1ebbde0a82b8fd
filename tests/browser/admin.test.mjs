// (c) The administrator: "Banks" -> "Import" a hash list file (the per-line error report for a
// bad line, then a good list), "Audit log" verified, the transparency report, a key shown once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTakedown, consoleOrigin } from './lib/server.mjs';
import { launch, newContext, guardedPage, signIn, screenshot } from './lib/browser.mjs';

let s, web, browser;
const PDQ = ['f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22',
  '3f118151d606857a50bd9ce63b51dea654bc6a1deae6211980f621597f78d6e6'];

before(async () => {
  s = await startTakedown();
  web = await consoleOrigin(s);
  browser = await launch();
});
after(async () => { await browser?.close(); await web?.stop(); await s?.stop(); });

test('admin: create a bank, import a hash list (errors by line), audit log, report, keys', async () => {
  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.admin);
  await page.getByRole('link', { name: 'Banks', exact: true }).click();
  await page.getByRole('heading', { name: 'Banks', exact: true }).waitFor();

  const create = page.getByRole('form', { name: 'Create bank' });
  await create.getByLabel('Name').fill('known-ncii');
  await create.getByLabel('Category').fill('ncii');
  await create.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('cell', { name: 'known-ncii', exact: true }).waitFor();

  // A list with a bad third line: nothing imported, the line named.
  const imp = page.getByRole('form', { name: 'Import' });
  await imp.getByLabel('Bank').selectOption('known-ncii');
  await imp.getByLabel('Hash list file').setInputFiles({ name: 'bad.txt', mimeType: 'text/plain',
    buffer: Buffer.from(`# a list\n${PDQ[0]},100\nnot-a-hash\n`) });
  await imp.getByRole('button', { name: 'Import', exact: true }).click();
  const report = imp.getByRole('alert');
  await report.getByText(/line 3/).waitFor();
  assert.match(await report.innerText(), /line 3.*64 hex/s);
  await screenshot(page, 'banks-import-error', 'en', 1280);

  await imp.getByLabel('Hash list file').setInputFiles({ name: 'good.txt', mimeType: 'text/plain',
    buffer: Buffer.from(`# a list\n${PDQ[0]},100\n${PDQ[1]},90\n`) });
  await imp.getByRole('button', { name: 'Import', exact: true }).click();
  await imp.getByText('2 imported, 0 already present').waitFor();
  await page.locator('.bank-counts', { hasText: 'enabled: 2' }).waitFor();
  const banks = await s.api(s.keys.admin, 'GET', '/v1/banks/known-ncii/export?format=jsonl');
  assert.equal(String(banks.body).trim().split('\n').length, 2);

  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await page.getByText(/Chain verified: \d+ records intact\./).waitFor();

  await page.getByRole('link', { name: 'Transparency report', exact: true }).click();
  await page.getByRole('img', { name: /Time to removal .*: bar chart/ }).waitFor();
  assert.match(await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href'), /format=csv/);

  await page.getByRole('link', { name: 'Keys', exact: true }).click();
  const ck = page.getByRole('form', { name: 'Create key' });
  await ck.getByLabel('Name').fill('new reviewer');
  await ck.getByLabel('Role').selectOption('reviewer');
  await ck.getByRole('button', { name: 'Create', exact: true }).click();
  const key = await ck.getByLabel(/The new key/).inputValue();
  const who = await s.api(key, 'GET', '/v1/whoami');
  assert.equal(who.body.role, 'reviewer');
  page.assertClean();
  await context.close();
});
