// Small pieces the report's two screens share.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { t, locale, getLang } from './i18n.js';
import { apiMessage, problemText } from '../apitext.js';
import { recoveryByEmail } from './api.js';

export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

// A labelled control with its problem beside it; ids: ID-hint, ID-err.
export function Field({ id, label, error, hint, children, check, cls = '' }) {
  return html`<div class=${(check ? 'check' : 'field') + (error ? ' invalid' : '') + (cls ? ' ' + cls : '')}>
    ${check ? html`${children}<label for=${id}>${label}</label>` : html`<label for=${id}>${label}</label>${children}`}
    ${hint && html`<p class="hint" id=${id + '-hint'}>${hint}</p>`}
    ${error && html`<p class="error" id=${id + '-err'}>${error}</p>`}
  </div>`;
}
export const described = (id, error, hint) => [hint && id + '-hint', error && id + '-err'].filter(Boolean).join(' ') || undefined;
export const invalid = (error) => (error ? 'true' : undefined);

export function fmtDate(v) {
  if (!v) return '—';
  const d = new Date(v);
  return isNaN(d) ? String(v) : new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}
export function Time({ v }) {
  if (!v) return html`<span>—</span>`;
  const d = new Date(v);
  const iso = isNaN(d) ? String(v) : d.toISOString().replace(/\.000Z$/, 'Z');
  return html`<time datetime=${iso}>${fmtDate(v)}</time>`;
}

// "Wait N minutes" from Retry-After seconds.
export function waitText(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return t('too_many', { t: t('a_while') });
  const s = Math.max(1, Math.ceil(seconds));
  const txt = s >= 60 ? t('minutes', { n: Math.ceil(s / 60) }) : t('seconds', { n: s });
  return t('too_many', { t: txt });
}

// The API's error for the page: 429 says to wait, a network failure says so, the rest its message.
export function messageOf(err) {
  if (!err) return '';
  if (err.status === 429) return waitText(err.retryAfter);
  if (err.status === 0) return t('network_error');
  return apiMessage(err.message || String(err), err.code, getLang());
}

// The API's per-field problems: {field: text}, items[i].x under itemKey(i), the rest in `rest`.
export function mapFields(fields, itemKey) {
  const out = {}, rest = [];
  const add = (k, msg) => { out[k] = out[k] ? `${out[k]}; ${msg}` : msg; };
  for (const { field = '', problem: given = '' } of fields || []) {
    const problem = problemText(given, getLang());
    const m = field.match(/^items\[(\d+)\]/);
    if (m) {
      const key = itemKey(Number(m[1]));
      if (key !== undefined) add(key, field.length > m[0].length ? `${field.slice(m[0].length + 1)}: ${problem}` : problem);
      else add('files', problem);
    } else if (field === 'items') add('files', problem);
    else if (/^locations(\[\d+\])?$/.test(field)) add('locations', field === 'locations' ? problem : `${field}: ${problem}`);
    else if (['category', 'statement', 'signature', 'email', 'case', 'pin'].includes(field)) add(field, problem);
    else rest.push(field ? `${field}: ${problem}` : problem);
  }
  return { errors: out, rest };
}

export function focusFirstInvalid(root) {
  setTimeout(() => {
    const el = (root || document).querySelector('[aria-invalid="true"]');
    if (el) el.focus();
  }, 0);
}

// Whether a lost PIN can be replaced by a link sent by email: null until the server said, then
// true or false.
export function useRecoveryByEmail() {
  const [on, setOn] = useState(null);
  useEffect(() => {
    let live = true;
    recoveryByEmail().then((v) => { if (live) setOn(v); });
    return () => { live = false; };
  }, []);
  return on;
}

// A case number and its PIN, shown once (after filing, after a new PIN): large, selectable, with
// the warning, what happens if the PIN is lost, and the offer to download both as a text file.
// recoverable: a lost PIN can be replaced by a link sent to the case's email address.
export function PinCard({ caseNo, pin, deadline, recoverable }) {
  const lost = recoverable ? t('pin_recovery_on') : t('pin_recovery_off');
  function download() {
    const url = new URL('/report/case', location.href).href;
    const text = t('file_text', { case: caseNo, pin, deadline: fmtDate(deadline), url }) + lost + '\n';
    const blobUrl = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const a = document.createElement('a');
    a.href = blobUrl;
    a.download = `${caseNo}.txt`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(blobUrl), 10000);
  }
  return html`<div class="pin-card">
    <dl class="secret">
      <div><dt>${t('case_number')}</dt><dd><output class="big" data-k="case">${caseNo}</output></dd></div>
      <div><dt>${t('pin')}</dt><dd><output class="big" data-k="pin">${pin}</output></dd></div>
    </dl>
    <p class="pin-warning" role="note"><strong>${t('pin_warning')}</strong></p>
    <p class=${'pin-lost' + (recoverable ? '' : ' strong')} data-k="pin-lost">${lost}</p>
    <div class="actions">
      <button type="button" class="primary big-button" onClick=${download}>${t('download_file')}</button>
    </div>
  </div>`;
}
