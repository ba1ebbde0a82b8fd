// (c) The administrator: "Banks" -> "Import" a hash list file (the per-line error report for a
// bad line, then a good list), "Audit log" verified, the transparency report, a key shown once;
// a bank's entries (search by hash prefix, pages, disable; the API's error for a bad prefix); the
// list of keys and a revocation through its confirmation step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTakedown, consoleOrigin } from './lib/server.mjs';
import { launch, newContext, guardedPage, signIn, screenshot, assertAccessible, assertNoHorizontalScroll } from './lib/browser.mjs';

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
  // The counts come with GET /v1/banks (the live index).
  await page.locator('.bank-counts', { hasText: 'enabled: 2, disabled: 0' }).waitFor();
  const listed = await s.api(s.keys.admin, 'GET', '/v1/banks');
  assert.deepEqual(listed.body.banks.find((b) => b.name === 'known-ncii').entries, { enabled: 2, disabled: 0 });
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

// The console's page size for a bank's entries (views/admin.js ENTRY_PAGE_SIZE).
const PAGE = 50;
const md5 = (x) => createHash('md5').update(x).digest('hex');

test('admin: a bank\'s entries: find by hash prefix, next page, disable, the API\'s error for a bad prefix', async () => {
  const r1 = await s.api(s.keys.admin, 'POST', '/v1/banks', { name: 'many-md5', category: 'ncii', action: 'block' });
  assert.equal(r1.status, 201, JSON.stringify(r1.body));
  const hashes = Array.from({ length: PAGE + 11 }, (_, i) => md5(`entry ${i}`));
  const imp = await s.api(s.keys.admin, 'POST', '/v1/banks/many-md5/import?format=text&signal=md5&source=list-2026',
    hashes.join('\n') + '\n', { raw: true, contentType: 'text/plain' });
  assert.equal(imp.status, 201, JSON.stringify(imp.body));
  assert.equal(imp.body.imported, PAGE + 11);

  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.admin, '/console/banks');
  const row = page.getByRole('row', { name: /many-md5/ });
  await row.locator('.bank-counts', { hasText: `enabled: ${PAGE + 11}, disabled: 0` }).waitFor();
  await row.getByRole('link', { name: 'many-md5', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Entries of bank many-md5' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/console/banks/many-md5');

  // The first page, then the next (what is left), then back to the first.
  const rows = page.locator('table.entries tbody tr');
  await page.getByText(`Page 1: ${PAGE} entries`).waitFor();
  assert.equal(await rows.count(), PAGE);
  await page.getByRole('button', { name: 'Next page', exact: true }).click();
  await page.getByText('Page 2: 11 entries').waitFor();
  assert.equal(await rows.count(), 11);
  assert.equal(await page.getByRole('button', { name: 'Next page', exact: true }).count(), 0);
  const lastHash = hashes[hashes.length - 1];
  await page.locator('code.hash-short', { hasText: lastHash }).waitFor();
  await page.getByRole('button', { name: 'First page', exact: true }).click();
  await page.getByText(`Page 1: ${PAGE} entries`).waitFor();

  // Find one entry by the start of its MD5: the full value is the text (and the title).
  const target = hashes[42];
  const search = page.getByRole('search', { name: 'Search entries' });
  await search.getByLabel('Hash prefix').fill(target.slice(0, 10));
  await search.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByText('Page 1: 1 entry', { exact: true }).waitFor();
  assert.equal(await rows.count(), 1);
  const code = rows.first().locator('code.hash-short');
  assert.equal(await code.innerText(), target);
  assert.equal(await code.getAttribute('title'), target);
  const found = await s.api(s.keys.admin, 'GET', `/v1/banks/many-md5/entries?prefix=${target.slice(0, 10)}`);
  assert.equal(found.body.entries.length, 1);
  const id = found.body.entries[0].entry_id;
  assert.equal(await rows.first().locator('td').first().innerText(), String(id));
  await assertAccessible(page, 'bank-entries search en 1280');

  // Disable it: the row says so, the API agrees, the banks list counts one disabled.
  await page.getByRole('button', { name: `Disable entry ${id}`, exact: true }).click();
  await page.getByRole('button', { name: `Enable entry ${id}`, exact: true }).waitFor();
  await rows.first().getByText('disabled', { exact: true }).waitFor();
  const after = await s.api(s.keys.admin, 'GET', `/v1/banks/many-md5/entries?prefix=${target}`);
  assert.equal(after.body.entries[0].enabled, false);
  const disabledOnly = await s.api(s.keys.admin, 'GET', '/v1/banks/many-md5/entries?state=disabled');
  assert.deepEqual(disabledOnly.body.entries.map((e) => e.entry_id), [id]);
  // The state filter through the form.
  await search.getByLabel('Hash prefix').fill('');
  await search.getByLabel('State').selectOption('disabled');
  await search.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByText('Page 1: 1 entry', { exact: true }).waitFor();
  assert.equal(await rows.first().locator('td').first().innerText(), String(id));

  // A prefix that is not hex: the API's message beside the field.
  const bad = await s.api(s.keys.admin, 'GET', '/v1/banks/many-md5/entries?prefix=xyz');
  assert.equal(bad.status, 400);
  await search.getByLabel('Hash prefix').fill('xyz');
  await search.getByRole('button', { name: 'Search', exact: true }).click();
  const err = search.getByRole('alert');
  await err.getByText(bad.body.error.message, { exact: true }).waitFor();
  assert.equal(await search.getByLabel('Hash prefix').getAttribute('aria-invalid'), 'true');
  assert.match(await search.getByLabel('Hash prefix').getAttribute('aria-describedby'), new RegExp(await err.getAttribute('id')));
  await assertAccessible(page, 'bank-entries error en 1280');
  await screenshot(page, 'bank-entries-error', 'en', 1280);

  await page.getByRole('link', { name: 'Back to banks' }).click();
  await page.getByRole('row', { name: /many-md5/ }).locator('.bank-counts', { hasText: `enabled: ${PAGE + 10}, disabled: 1` }).waitFor();
  page.assertClean();
  await context.close();
});

test('admin: the keys list; revoking a key takes a confirmation step, then the API refuses it', async () => {
  const made = await s.api(s.keys.admin, 'POST', '/v1/keys', { name: 'Old Hotline', role: 'requester' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const { key, key_id: keyId } = made.body;
  assert.equal((await s.api(key, 'GET', '/v1/whoami')).status, 200);

  for (const [lang, width] of [['en', 1280], ['ko', 390]]) {
    const context = await newContext(browser, { lang, width });
    const page = await guardedPage(context, web.origin);
    await signIn(page, web.origin, s.keys.admin, '/console/keys', { lang });
    // Rows by their text (at 390 px the table is laid out as cards).
    await page.getByRole('heading', { level: 2, name: lang === 'ko' ? 'API 키 목록' : 'API keys' }).waitFor();
    const keyRow = (name) => page.locator('table.keys tbody tr', { hasText: name });
    for (const name of ['Ada Admin', 'Rita Reviewer', 'Hotline One', 'Example Platform', 'Old Hotline']) {
      await keyRow(name).waitFor();
    }
    if (width === 1280) await page.getByRole('table', { name: 'API keys' }).waitFor();
    // The signed-in key is marked and has no "Revoke".
    const own = keyRow('Ada Admin');
    await own.getByText(lang === 'ko' ? '내 키' : 'your key').waitFor();
    assert.equal(await own.getByRole('button').count(), 0);
    await keyRow('Old Hotline').getByRole('button', { name: lang === 'ko' ? `키 ${keyId} (Old Hotline) 폐기` : `Revoke key ${keyId} (Old Hotline)` }).waitFor();
    await assertAccessible(page, `keys list ${lang} ${width}`);
    await assertNoHorizontalScroll(page, `keys list ${lang} ${width}`);
    await context.close();
  }

  const context = await newContext(browser, { lang: 'en', width: 1280 });
  const page = await guardedPage(context, web.origin);
  await signIn(page, web.origin, s.keys.admin, '/console/keys');
  const row = page.locator('table.keys tbody tr', { hasText: 'Old Hotline' });
  await row.getByText('active', { exact: true }).waitFor();
  assert.equal(await row.locator('td').nth(2).innerText(), 'requester');

  // Revoke, then Cancel: nothing happens.
  await row.getByRole('button', { name: `Revoke key ${keyId} (Old Hotline)`, exact: true }).click();
  const confirm = row.getByRole('group', { name: `Revoke key ${keyId} (Old Hotline)? It stops working at once.` });
  await confirm.waitFor();
  await confirm.getByRole('button', { name: 'Cancel', exact: true }).click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal((await s.api(key, 'GET', '/v1/whoami')).status, 200);

  // Revoke, then "Yes, revoke".
  await row.getByRole('button', { name: `Revoke key ${keyId} (Old Hotline)`, exact: true }).click();
  await confirm.waitFor();
  // Focus moves to the question (after the render: wait for it, then assert it).
  const question = `Revoke key ${keyId} (Old Hotline)? It stops working at once.`;
  await page.waitForFunction((text) => document.activeElement && document.activeElement.textContent === text,
    question, { timeout: 5000 }).catch(() => {});
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.textContent), question);
  await assertAccessible(page, 'keys confirm en 1280');
  await screenshot(page, 'keys-revoke-confirm', 'en', 1280);
  await confirm.getByRole('button', { name: 'Yes, revoke', exact: true }).click();
  await page.getByRole('status').getByText(`Key ${keyId} (Old Hotline) revoked.`).waitFor();
  await row.getByText('revoked', { exact: true }).waitFor();
  assert.equal(await row.getByRole('button').count(), 0);

  assert.equal((await s.api(key, 'GET', '/v1/whoami')).status, 401);
  const keys = await s.api(s.keys.admin, 'GET', '/v1/keys');
  assert.equal(keys.body.keys.find((k) => k.key_id === keyId).revoked, true);
  assert.equal(keys.body.keys.find((k) => k.key_id === s.ids.admin).revoked, false);
  // After a reload too.
  await page.reload();
  await row.getByText('revoked', { exact: true }).waitFor();
  page.assertClean();
  await context.close();
});
