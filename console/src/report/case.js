// /report/case: a case by its number and PIN (the PIN is kept in this page's memory only, never in
// the URL or the browser's storage): its status in words, more images, withdrawal. A lost PIN:
// a link sent to the case's email address ("Lost your PIN?"), which opens this page with
// #recover=CASE.TOKEN; the page takes it out of the address at once and offers a new PIN.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from './i18n.js';
import { call, provenPost } from './api.js';
import { useFiles, FilePicker, itemsOf, busy, MAX_ITEMS } from './files.js';
import { Field, described, invalid, EMAIL, Time, messageOf, mapFields, focusFirstInvalid, useRecoveryByEmail, PinCard } from './common.js';

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

// A recovery link's #recover=CASE.TOKEN (the case number has dashes, no dot), taken out of the
// address bar at once (replaceState: the token stays neither there nor in the history).
// -> {case, token, ok} or null.
function takeRecoverLink() {
  const m = location.hash.match(/^#recover=(.*)$/s);
  if (!m) return null;
  history.replaceState(history.state, '', location.pathname + location.search);
  let v = m[1];
  try { v = decodeURIComponent(v); } catch { /* as it came */ }
  const dot = v.lastIndexOf('.');
  const caseNo = dot > 0 ? v.slice(0, dot).trim().toUpperCase() : '';
  const token = dot > 0 ? v.slice(dot + 1).trim().toLowerCase() : '';
  return { case: caseNo, token, ok: /^TD-[0-9A-Z-]+$/.test(caseNo) && /^[0-9a-f]{64}$/.test(token) };
}
// Taken as this module loads, before the page first renders.
let linked = /^\/report\/case\/?$/.test(location.pathname) ? takeRecoverLink() : null;

// The link's offer: a new PIN for the case; the old one stops working. A used or expired link
// says so and points to "Lost your PIN?" (askNew(case)).
function RecoverPanel({ link, recovery, onReset, onDead, askNew, dismiss }) {
  const [sending, setSending] = useState(false);
  const [error, setError] = useState('');
  const dead = link.dead; // 'bad' (not a whole link) | 'used' (refused) | ''
  const h = useRef(null);
  const live = useRef(true);
  useEffect(() => () => { live.current = false; }, []);
  useEffect(() => { if (h.current) h.current.focus(); }, [dead]); // and again when refused: its button is gone
  async function reset() {
    if (sending) return;
    setSending(true); setError('');
    try {
      const doc = await call('POST', '/v1/report/cases/reset-pin', { case: link.case, token: link.token });
      live.current = false;
      onReset(doc);
      return;
    } catch (err) {
      if (err.status === 404 || err.status === 400) onDead(err.status === 404 ? 'used' : 'bad');
      else setError(messageOf(err));
    } finally { if (live.current) setSending(false); }
  }
  return html`<section class="panel recover-panel" aria-labelledby="rc-h">
    <h2 id="rc-h" tabindex="-1" ref=${h}>${t('recover_title')}</h2>
    ${!dead && html`<p>${t('recover_intro', { case: link.case })}</p>
      <p class="pin-warning" id="rc-old"><strong>${t('recover_old')}</strong></p>
      <div class="actions">
        <button type="button" class="primary big-button" aria-describedby="rc-old" disabled=${sending} onClick=${reset}>${t('recover_button')}</button>
        <button type="button" class="link" disabled=${sending} onClick=${dismiss}>${t('not_now')}</button>
      </div>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${dead && html`<p class="error" role="alert">${t(dead === 'used' ? 'recover_dead' : 'recover_bad')}</p>`}
    ${dead && html`<div class="actions">
      ${recovery && html`<button type="button" class="big-button" onClick=${() => askNew(link.ok ? link.case : '')}>${t('ask_new_link')}</button>`}
      <button type="button" class="link" onClick=${dismiss}>${t('close')}</button>
    </div>`}
  </section>`;
}

// "Lost your PIN?": the case number and the email address given when filing; if both match, the
// server mails a link (the answer is the same either way). prefill: {case} from a dead link.
function LostPin({ prefill }) {
  const [caseNo, setCaseNo] = useState('');
  const [email, setEmail] = useState('');
  const [errors, setErrors] = useState({});
  const [top, setTop] = useState('');
  const [sent, setSent] = useState(null); // {n: the link's minutes}: the answer, worded when shown
  const [stage, setStage] = useState('');
  const [sending, setSending] = useState(false);
  const root = useRef(null);
  const emailIn = useRef(null);
  useEffect(() => {
    if (!prefill) return;
    setCaseNo(prefill.case); setErrors({}); setTop(''); setSent(null);
    if (emailIn.current) { emailIn.current.focus(); emailIn.current.scrollIntoView({ block: 'center' }); }
  }, [prefill]);
  const edit = (set, k) => (e) => {
    set(e.target.value);
    if (errors[k]) setErrors(({ [k]: _, ...rest }) => rest);
  };
  async function submit(e) {
    e.preventDefault();
    if (sending) return;
    const c = caseNo.trim(), m = email.trim();
    const errs = {};
    if (!c) errs.case = t('e_case');
    if (!m) errs.email = t('e_email_lost');
    else if (!EMAIL.test(m)) errs.email = t('e_email');
    setErrors(errs); setTop(''); setSent(null);
    if (Object.keys(errs).length) { focusFirstInvalid(root.current); return; }
    setSending(true);
    try {
      const r = await provenPost('/v1/report/cases/recover', { case: c, email: m },
        (key, vars) => setStage(t(key, vars.n !== undefined ? { n: vars.n.toLocaleString() } : vars)));
      setSent({ n: Number(r && r.link_minutes) });
    } catch (err) {
      if (err.status === 400 && err.fields && err.fields.length) {
        const { errors: map, rest } = mapFields(err.fields, () => undefined);
        setErrors(map); setTop([t('fix_problems'), ...rest].join(' '));
        focusFirstInvalid(root.current);
      } else if (err.status === 409) setTop(t('lost_unavailable'));
      else setTop(messageOf(err));
    } finally { setSending(false); setStage(''); }
  }
  const E = errors;
  return html`<section class="panel lost" aria-labelledby="lost-h" ref=${root}>
    <h2 id="lost-h">${t('lost_title')}</h2>
    <p class="muted">${t('lost_intro')}</p>
    <form onSubmit=${submit} noValidate class="stack">
      <${Field} id="lp-case" label=${t('case_number')} error=${E.case}>
        <input id="lp-case" type="text" autocomplete="off" spellcheck="false" autocapitalize="characters" value=${caseNo}
          placeholder="TD-XXXX-XXXX-XXXX" onInput=${edit(setCaseNo, 'case')}
          aria-invalid=${invalid(E.case)} aria-describedby=${described('lp-case', E.case)} />
      <//>
      <${Field} id="lp-email" label=${t('lost_email')} hint=${t('lost_email_hint')} error=${E.email}>
        <input id="lp-email" type="email" autocomplete="email" spellcheck="false" value=${email} ref=${emailIn}
          onInput=${edit(setEmail, 'email')} aria-invalid=${invalid(E.email)} aria-describedby=${described('lp-email', E.email, true)} />
      <//>
      ${top && html`<p class="error" role="alert">${top}</p>`}
      ${stage && html`<p class="pow" role="status">${stage}</p>`}
      ${sent && html`<p class="sent" role="status">${Number.isFinite(sent.n) && sent.n > 0 ? t('lost_sent', { n: sent.n }) : t('lost_sent_plain')}</p>`}
      <div><button type="submit" class="primary big-button" disabled=${sending}>${t('lost_submit')}</button></div>
    </form>
  </section>`;
}

export function CasePage() {
  const [caseNo, setCaseNo] = useState(handed ? handed.case : '');
  const [pin, setPin] = useState(handed ? handed.pin : '');
  useEffect(() => { handed = null; }, []);
  const [errors, setErrors] = useState({});
  const [top, setTop] = useState('');
  const [checking, setChecking] = useState(false);
  const [shown, setShown] = useState(null); // {creds: {case, pin}, doc, note, newPin}
  const [link, setLink] = useState(linked && { ...linked, dead: linked.ok ? '' : 'bad' }); // a recovery link's {case, token, ok, dead}
  useEffect(() => { linked = null; }, []);
  const [prefill, setPrefill] = useState(null); // "Lost your PIN?" filled in from a dead link
  const recovery = useRecoveryByEmail();
  const form = useRef(null);
  const head = useRef(null);
  const pinHead = useRef(null);
  useEffect(() => {
    const el = shown && (shown.newPin ? pinHead.current : head.current);
    if (el) el.focus();
  }, [shown && shown.creds.case, shown && shown.newPin]);
  // A recovery link opened while the page is open (only the fragment changed).
  useEffect(() => {
    const fn = () => { const l = takeRecoverLink(); if (l) { setShown(null); setPrefill(null); setLink({ ...l, dead: l.ok ? '' : 'bad' }); } };
    window.addEventListener('hashchange', fn);
    return () => window.removeEventListener('hashchange', fn);
  }, []);
  // The offer put away: focus to the sign-in form that shows again.
  function dismiss() {
    setLink(null);
    setTimeout(() => { const el = document.getElementById('cs-case'); if (el) el.focus(); }, 0);
  }
  function reset(answer) {
    const { pin: newPin, ...doc } = answer;
    setLink(null); setPin(''); setCaseNo('');
    setShown({ creds: { case: doc.case || link.case, pin: newPin }, doc, note: '', newPin });
  }

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
      ${shown.newPin && html`<section class="panel filed new-pin" aria-labelledby="np-h">
        <h2 id="np-h" tabindex="-1" ref=${pinHead}>${t('newpin_title')}</h2>
        <p>${t('newpin_intro')}</p>
        <${PinCard} caseNo=${creds.case} pin=${shown.newPin} deadline=${doc.deadline} recoverable=${recovery !== false} />
      </section>`}
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
  // While a working link waits for its button, only its offer shows.
  const offer = link && html`<${RecoverPanel} key=${link.token + link.case} link=${link} recovery=${recovery === true} onReset=${reset}
    onDead=${(why) => setLink((l) => ({ ...l, dead: why }))} askNew=${(c) => setPrefill({ case: c })} dismiss=${dismiss} />`;
  return html`<section aria-labelledby="case-h" class="case">
    <h1 id="case-h">${t('title_case')}</h1>
    ${offer}
    ${!(link && !link.dead) && html`<p class="muted">${t('check_intro')}</p>
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
    ${recovery === true && html`<${LostPin} prefill=${prefill} />`}`}
  </section>`;
}
