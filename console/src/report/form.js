// /report: what happens to the pictures, where a report about a minor should also go, the form,
// and once filed the case number and PIN, shown once.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { t, getLang } from './i18n.js';
import { provenPost } from './api.js';
import { handOff } from './case.js';
import { useFiles, FilePicker, itemsOf, busy, MAX_ITEMS } from './files.js';
import { Field, described, invalid, EMAIL, Time, messageOf, mapFields, focusFirstInvalid, useRecoveryByEmail, PinCard } from './common.js';

// The API's category names; ids and message keys spell '-' as '_'.
const CATEGORIES = ['ncii', 'deepfake-sexual', 'csam'];
const key = (c) => c.replace('-', '_');

export function Intro() {
  return html`<div class="intro">
    <p>${t('intro_1')}</p>
    <p class="private"><strong>${t('intro_2')}</strong></p>
    <p>${t('intro_3')}</p>
    <aside class="minor" aria-labelledby="minor-h">
      <h2 id="minor-h">${t('minor_title')}</h2>
      <p>${t('minor_text')}</p>
    </aside>
  </div>`;
}

// Client-side checks, as the server makes them.
function validate(f, files) {
  const e = {};
  if (!CATEGORIES.includes(f.category)) e.category = t('e_category');
  if (!f.statement) e.statement = t('e_statement');
  if (!f.signature.trim()) e.signature = t('e_signature');
  if (f.email.trim() && !EMAIL.test(f.email.trim())) e.email = t('e_email');
  const lines = f.locations.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length > 20) e.locations = t('e_locations_many');
  else {
    const long = lines.findIndex((l) => l.length > 2000);
    if (long >= 0) e.locations = t('e_locations_long', { n: long + 1 });
  }
  const { items } = itemsOf(files);
  if (busy(files)) e.files = t('e_files_busy');
  else if (!items.length) e.files = t('e_files');
  else if (items.length > MAX_ITEMS) e.files = t('e_too_many_files', { n: MAX_ITEMS });
  return { errors: e, lines };
}

// recoverable: an email address was given and a lost PIN can be replaced by a link sent to it.
function Filed({ filed, recoverable, onAnother }) {
  const h = useRef(null);
  useEffect(() => { if (h.current) h.current.focus(); }, []);
  return html`<section class="filed panel" aria-labelledby="filed-h">
    <h1 id="filed-h" tabindex="-1" ref=${h}>${t('filed_title')}</h1>
    <p>${t('filed_intro')}</p>
    <${PinCard} caseNo=${filed.case} pin=${filed.pin} deadline=${filed.deadline} recoverable=${recoverable} />
    <dl class="grid case-facts">
      <dt>${t('deadline')}</dt><dd><${Time} v=${filed.deadline} /></dd>
      <dt>${t('items_count')}</dt><dd>${filed.items}</dd>
    </dl>
    <p class="actions">
      <a class="button" href="/report/case" onClick=${() => handOff({ case: filed.case, pin: filed.pin })}>${t('go_check')}</a>
      <button type="button" class="link" onClick=${onAnother}>${t('report_another')}</button>
    </p>
  </section>`;
}

export function ReportPage() {
  const files = useFiles();
  const [f, setF] = useState({ category: '', locations: '', statement: false, signature: '', email: '' });
  const [errors, setErrors] = useState({});
  const [top, setTop] = useState('');
  const [stage, setStage] = useState('');
  const [sending, setSending] = useState(false);
  const [filed, setFiled] = useState(null); // the answer, with emailGiven
  const recovery = useRecoveryByEmail();
  const form = useRef(null);
  const set = (k) => (e) => {
    setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
    if (errors[k]) setErrors(({ [k]: _, ...rest }) => rest); // fixed: its problem goes
  };
  const count = files.files.length;
  useEffect(() => { setErrors((e) => (e.files ? (({ files: _, ...rest }) => rest)(e) : e)); }, [count]);

  async function submit(e) {
    e.preventDefault();
    if (sending) return;
    setTop('');
    const { errors: errs, lines } = validate(f, files.files);
    if (Object.keys(errs).length) {
      setErrors(errs); setTop(t('fix_problems')); focusFirstInvalid(form.current);
      return;
    }
    setErrors({});
    const { items, keys } = itemsOf(files.files);
    const body = { category: f.category, statement: true, signature: f.signature.trim(), language: getLang(), items };
    if (lines.length) body.locations = lines;
    if (f.email.trim()) body.email = f.email.trim();
    setSending(true);
    try {
      const r = await provenPost('/v1/report/cases', body, (key, vars) => setStage(t(key, vars.n !== undefined ? { n: vars.n.toLocaleString() } : vars)));
      files.clear();
      setF({ category: '', locations: '', statement: false, signature: '', email: '' });
      setFiled({ ...r, emailGiven: Boolean(body.email) });
    } catch (err) {
      if (err.status === 400 && err.fields && err.fields.length) {
        const { errors: map, rest } = mapFields(err.fields, (i) => keys[i]);
        setErrors(map);
        setTop([t('fix_problems'), ...rest].join(' '));
        focusFirstInvalid(form.current);
      } else setTop(messageOf(err));
    } finally { setSending(false); setStage(''); }
  }

  if (filed) return html`<${Filed} filed=${filed} recoverable=${filed.emailGiven && recovery === true} onAnother=${() => { setFiled(null); window.scrollTo(0, 0); }} />`;
  const E = errors;
  return html`<section aria-labelledby="report-h" class="report">
    <h1 id="report-h">${t('title_report')}</h1>
    <${Intro} />
    <form ref=${form} onSubmit=${submit} noValidate class="stack">
      <${FilePicker} state=${files} errors=${E} idBase="rp" disabled=${sending} />
      <fieldset class=${'categories' + (E.category ? ' invalid' : '')} aria-describedby=${E.category ? 'rp-cat-err' : undefined}>
        <legend>${t('category')}</legend>
        ${CATEGORIES.map((c) => html`<div class="check radio" key=${c}>
          <input type="radio" id=${'rp-cat-' + key(c)} name="category" value=${c} checked=${f.category === c}
            onChange=${set('category')} aria-invalid=${invalid(E.category)} />
          <label for=${'rp-cat-' + key(c)}>${t('cat_' + key(c))}</label>
          ${c === 'csam' && html`<p class="hint">${t('cat_csam_note')}</p>`}
        </div>`)}
        ${E.category && html`<p class="error" id="rp-cat-err">${E.category}</p>`}
      </fieldset>
      <${Field} id="rp-locations" label=${t('locations')} hint=${t('locations_hint')} error=${E.locations}>
        <textarea id="rp-locations" rows="4" spellcheck="false" value=${f.locations} onInput=${set('locations')}
          aria-invalid=${invalid(E.locations)} aria-describedby=${described('rp-locations', E.locations, true)}></textarea>
      <//>
      <fieldset>
        <legend>${t('statement_legend')}</legend>
        <${Field} check id="rp-statement" label=${t('statement')} error=${E.statement}>
          <input id="rp-statement" type="checkbox" checked=${f.statement} onChange=${set('statement')}
            aria-invalid=${invalid(E.statement)} aria-describedby=${described('rp-statement', E.statement)} />
        <//>
        <${Field} id="rp-signature" label=${t('signature')} hint=${t('signature_hint')} error=${E.signature}>
          <input id="rp-signature" type="text" autocomplete="name" value=${f.signature} onInput=${set('signature')}
            aria-invalid=${invalid(E.signature)} aria-describedby=${described('rp-signature', E.signature, true)} />
        <//>
        <${Field} id="rp-email" label=${t('email')} hint=${t(recovery ? 'email_hint_recovery' : 'email_hint')} error=${E.email}>
          <input id="rp-email" type="email" autocomplete="email" value=${f.email} onInput=${set('email')}
            aria-invalid=${invalid(E.email)} aria-describedby=${described('rp-email', E.email, true)} />
        <//>
      </fieldset>
      ${top && html`<p class="error" role="alert">${top}</p>`}
      ${stage && html`<p class="pow" role="status">${stage}</p>`}
      <div><button type="submit" class="primary big-button" disabled=${sending}>${t('submit')}</button></div>
    </form>
  </section>`;
}
