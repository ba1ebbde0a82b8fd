// /report/case: a case by its number and PIN (the PIN is kept in this page's memory only, never in
// the URL or the browser's storage): its status in words, more images, withdrawal.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from './i18n.js';
import { call, provenPost } from './api.js';
import { useFiles, FilePicker, itemsOf, busy, MAX_ITEMS } from './files.js';
import { Field, described, invalid, Time, messageOf, mapFields, focusFirstInvalid } from './common.js';

function statusWords(doc) {
  const s = doc.status;
  if (s === 'removed') return t('cs_removed', { n: doc.copies_removed ?? 0 });
  // Confirmed with nothing removed: nothing matching was on the platform when it was approved.
  if (s === 'confirmed' && !doc.copies_removed) return t('cs_confirmed_none');
  const key = 'cs_' + s;
  return t(key) === key ? s : t(key);
}

function Status({ doc }) {
  return html`<div class="case-status">
    <p class=${'status-line st-' + doc.status} data-status=${doc.status}>${statusWords(doc)}</p>
    ${doc.status === 'rejected' && doc.reason && html`<p class="reason"><strong>${t('reason')}:</strong> <span class="pre">${doc.reason}</span></p>`}
    <dl class="grid case-facts">
      <dt>${t('received_at')}</dt><dd><${Time} v=${doc.received_at} /></dd>
      <dt>${t('deadline')}</dt><dd><${Time} v=${doc.deadline} /></dd>
      <dt>${t('items_count')}</dt><dd data-k="items">${doc.items}</dd>
      <dt>${t('copies_removed')}</dt><dd data-k="copies_removed">${doc.copies_removed ?? 0}</dd>
      ${doc.confirmed_at && html`<dt>${t('confirmed_at')}</dt><dd><${Time} v=${doc.confirmed_at} /></dd>`}
      ${doc.withdrawn_at && html`<dt>${t('withdrawn_at')}</dt><dd><${Time} v=${doc.withdrawn_at} /></dd>`}
    </dl>
  </div>`;
}

function AddImages({ creds, onDoc }) {
  const files = useFiles();
  const [errors, setErrors] = useState({});
  const [top, setTop] = useState('');
  const [done, setDone] = useState('');
  const [stage, setStage] = useState('');
  const [sending, setSending] = useState(false);
  const root = useRef(null);
  const count = files.files.length;
  useEffect(() => { setErrors((e) => (e.files ? (({ files: _, ...rest }) => rest)(e) : e)); }, [count]);
  async function add(e) {
    e.preventDefault();
    if (sending) return;
    setTop(''); setDone('');
    const { items, keys } = itemsOf(files.files);
    const errs = {};
    if (busy(files.files)) errs.files = t('e_files_busy');
    else if (!items.length) errs.files = t('e_files');
    else if (items.length > MAX_ITEMS) errs.files = t('e_too_many_files', { n: MAX_ITEMS });
    setErrors(errs);
    if (errs.files) { focusFirstInvalid(root.current); return; }
    setSending(true);
    try {
      const doc = await provenPost('/v1/report/cases/items', { case: creds.case, pin: creds.pin, items },
        (key, vars) => setStage(t(key, vars.n !== undefined ? { n: vars.n.toLocaleString() } : vars)));
      files.clear();
      onDoc(doc);
      setDone(t('added', { n: doc.items }));
    } catch (err) {
      if (err.status === 400 && err.fields && err.fields.length) {
        const { errors: map, rest } = mapFields(err.fields, (i) => keys[i]);
        setErrors(map);
        setTop([t('fix_problems'), ...rest].join(' '));
        focusFirstInvalid(root.current);
      } else setTop(messageOf(err));
    } finally { setSending(false); setStage(''); }
  }
  return html`<section class="panel" aria-labelledby="add-h" ref=${root}>
    <h2 id="add-h">${t('add_title')}</h2>
    <p class="muted">${t('add_intro')}</p>
    <form onSubmit=${add} noValidate class="stack">
      <${FilePicker} state=${files} errors=${errors} idBase="ad" disabled=${sending} />
      ${top && html`<p class="error" role="alert">${top}</p>`}
      ${stage && html`<p class="pow" role="status">${stage}</p>`}
      ${done && html`<p class="ok" role="status">${done}</p>`}
      <div><button type="submit" class="primary big-button" disabled=${sending}>${t('add_submit')}</button></div>
    </form>
  </section>`;
}

function Withdraw({ creds, onDoc }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState('');
  const [sending, setSending] = useState(false);
  const q = useRef(null);
  useEffect(() => { if (asking && q.current) q.current.focus(); }, [asking]);
  async function yes() {
    setSending(true); setError('');
    try {
      onDoc(await call('POST', '/v1/report/cases/withdraw', { case: creds.case, pin: creds.pin }), t('withdrawn_done'));
      setAsking(false);
    } catch (err) { setError(err.status === 404 ? t('no_match') : messageOf(err)); } finally { setSending(false); }
  }
  return html`<section class="panel withdraw" aria-labelledby="wd-h">
    <h2 id="wd-h">${t('withdraw_title')}</h2>
    <p class="muted">${t('withdraw_intro')}</p>
    ${asking
      ? html`<div class="confirm" role="group" aria-labelledby="wd-q">
          <p id="wd-q" tabindex="-1" ref=${q}>${t('withdraw_confirm', { case: creds.case })}</p>
          <div class="actions">
            <button type="button" class="danger big-button" disabled=${sending} onClick=${yes}>${t('withdraw_yes')}</button>
            <button type="button" class="big-button" disabled=${sending} onClick=${() => setAsking(false)}>${t('cancel')}</button>
          </div>
        </div>`
      : html`<button type="button" class="danger big-button" onClick=${() => setAsking(true)}>${t('withdraw')}</button>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

// The case just filed, handed from the filed screen to this one in memory (never the URL).
let handed = null;
export function handOff(creds) { handed = creds; }

export function CasePage() {
  const [caseNo, setCaseNo] = useState(handed ? handed.case : '');
  const [pin, setPin] = useState(handed ? handed.pin : '');
  useEffect(() => { handed = null; }, []);
  const [errors, setErrors] = useState({});
  const [top, setTop] = useState('');
  const [checking, setChecking] = useState(false);
  const [shown, setShown] = useState(null); // {creds: {case, pin}, doc, note}
  const form = useRef(null);
  const head = useRef(null);
  useEffect(() => { if (shown && head.current) head.current.focus(); }, [shown && shown.creds.case]);

  async function check(e) {
    e.preventDefault();
    if (checking) return;
    const c = caseNo.trim(), p = pin.trim();
    const errs = {};
    if (!c) errs.case = t('e_case');
    if (!p) errs.pin = t('e_pin');
    setErrors(errs); setTop('');
    if (Object.keys(errs).length) { focusFirstInvalid(form.current); return; }
    setChecking(true);
    try {
      const doc = await call('POST', '/v1/report/cases/status', { case: c, pin: p });
      setPin('');
      setShown({ creds: { case: doc.case || c, pin: p }, doc, note: '' });
    } catch (err) {
      if (err.status === 404) setTop(t('no_match'));
      else if (err.status === 400 && err.fields && err.fields.length) {
        const { errors: map, rest } = mapFields(err.fields, () => undefined);
        setErrors(map); setTop([t('fix_problems'), ...rest].join(' '));
      } else setTop(messageOf(err));
    } finally { setChecking(false); }
  }
  async function refresh() {
    try {
      const doc = await call('POST', '/v1/report/cases/status', shown.creds);
      setShown({ ...shown, doc, note: '' });
    } catch (err) { setShown({ ...shown, note: err.status === 404 ? t('no_match') : messageOf(err) }); }
  }
  function forget() { setShown(null); setCaseNo(''); setPin(''); setTop(''); }

  if (shown) {
    const { creds, doc } = shown;
    const open = doc.status !== 'withdrawn';
    const canAdd = open && doc.status !== 'rejected';
    return html`<section aria-labelledby="case-h" class="case">
      <h1 id="case-h" tabindex="-1" ref=${head}>${t('case_title', { case: creds.case })}</h1>
      <section class="panel" aria-labelledby="st-h">
        <h2 id="st-h">${t('status')}</h2>
        <div aria-live="polite"><${Status} doc=${doc} /></div>
        ${shown.note && html`<p class="notice" role="status">${shown.note}</p>`}
        <div class="actions">
          <button type="button" class="big-button" onClick=${refresh}>${t('refresh')}</button>
          <button type="button" class="link" onClick=${forget}>${t('other_case')}</button>
        </div>
      </section>
      ${canAdd && html`<${AddImages} creds=${creds} onDoc=${(d) => setShown((s) => ({ ...s, doc: d }))} />`}
      ${open && html`<${Withdraw} creds=${creds} onDoc=${(d, note) => setShown((s) => ({ ...s, doc: d, note }))} />`}
    </section>`;
  }
  const E = errors;
  return html`<section aria-labelledby="case-h" class="case">
    <h1 id="case-h">${t('title_case')}</h1>
    <p class="muted">${t('check_intro')}</p>
    <form ref=${form} onSubmit=${check} noValidate class="stack panel check-form">
      <${Field} id="cs-case" label=${t('case_number')} error=${E.case}>
        <input id="cs-case" type="text" autocomplete="off" spellcheck="false" autocapitalize="characters" value=${caseNo}
          placeholder="TD-XXXX-XXXX-XXXX" onInput=${(e) => setCaseNo(e.target.value)}
          aria-invalid=${invalid(E.case)} aria-describedby=${described('cs-case', E.case)} />
      <//>
      <${Field} id="cs-pin" label=${t('pin')} hint=${t('pin_hint')} error=${E.pin}>
        <input id="cs-pin" type="password" autocomplete="off" spellcheck="false" autocapitalize="characters" value=${pin}
          onInput=${(e) => setPin(e.target.value)} aria-invalid=${invalid(E.pin)} aria-describedby=${described('cs-pin', E.pin, true)} />
      <//>
      ${top && html`<p class="error" role="alert">${top}</p>`}
      <div><button type="submit" class="primary big-button" disabled=${checking}>${t('check')}</button></div>
    </form>
  </section>`;
}
