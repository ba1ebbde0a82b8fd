// The console's Korean wording of the API's messages (console/src/apitext.js), under Node: every
// catalogue entry is bound to the server's own wording (its `src` literal is found in src/, with
// C++'s adjacent string literals joined), is Korean, and uses only the groups its pattern has;
// whole messages and "field: problem" lists are translated part by part; a message the catalogue
// does not know is still led by a Korean sentence; English is left as the API wrote it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATALOG, apiMessage, problemText, splitProblems } from '../../console/src/apitext.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
function sources(dir) {
  let out = '';
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out += sources(p);
    else if (/\.(cc|h)$/.test(e.name)) out += readFileSync(p, 'utf8') + '\n';
  }
  return out;
}
const server = sources(join(root, 'src')).replace(/"\s*\n\s*"/g, '');
const HANGUL = /[\uac00-\ud7a3]/;

test('apitext: every catalogue entry is the server\'s wording, in Korean', () => {
  assert.ok(CATALOG.length >= 40, `a catalogue of the console's messages (${CATALOG.length})`);
  for (const e of CATALOG) {
    assert.ok(server.includes(e.src), `the server no longer says "${e.src}": update console/src/apitext.js (${e.en})`);
    assert.match(e.ko, HANGUL, `${e.en}: Korean`);
    const groups = new RegExp(`${e.en.source}|`).exec('').length - 1;
    for (const [, n] of e.ko.matchAll(/\$(\d)/g)) assert.ok(Number(n) <= groups, `${e.en}: $${n} but ${groups} groups`);
  }
});

test('apitext: a notice\'s problems are Korean field by field; unknown ones keep a Korean lead', () => {
  const msg = 'invalid request: explanation: missing: why the content is illegal (DSA Art. 16(2)(a)); ' +
    'notifier.email: not an email address; evidence[0].pdq: not 64 hex digits';
  assert.deepEqual(splitProblems(msg).map((p) => p.field), ['explanation', 'notifier.email', 'evidence[0].pdq']);
  const ko = apiMessage(msg, 'invalid_argument', 'ko');
  assert.equal(ko, 'explanation: 빠졌습니다: 콘텐츠가 불법인 이유 (DSA 제16조 제2항 (a)); ' +
    'notifier.email: 이메일 주소가 아닙니다; evidence[0].pdq: 16진수 64자리가 아닙니다');
  assert.equal(apiMessage(msg, 'invalid_argument', 'en'), msg, 'English stays the API\'s own');
  assert.equal(problemText('longer than 5000 characters', 'ko'), '5000자를 넘습니다');
  assert.equal(apiMessage('request 7 is claimed by Kim (key:3) until 2026-12-06T10:00:00Z: two reviewers never decide one request',
    'failed_precondition', 'ko'), '요청 7은(는) Kim 님(키 3)이 2026-12-06T10:00:00Z까지 담당합니다. 한 요청을 두 검토자가 결정하지 않습니다.');
  const unknown = apiMessage('something new went wrong', 'failed_precondition', 'ko');
  assert.match(unknown, /^지금 상태에서는 할 수 없습니다: something new went wrong$/);
  assert.match(apiMessage('413 Payload Too Large', 'http_413', 'ko'), /^한도를 넘었습니다: /);
  assert.match(apiMessage('x: y; z', 'weird_code', 'ko'), /^서비스가 요청을 거부했습니다: /);
  // A half-known list: the known part in Korean, the whole led by a Korean sentence.
  assert.equal(apiMessage('invalid request: a: not an email address; b: brand new problem', 'invalid_argument', 'ko'),
    '입력을 받을 수 없습니다: a: 이메일 주소가 아닙니다; b: brand new problem');
});
