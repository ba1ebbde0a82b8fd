import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { t, getLang } from '../i18n.js';
import { post, problems, say } from '../api.js';
import { problemText } from '../apitext.js';
import { navigate } from '../router.js';

const CATEGORIES = ['ncii', 'csam', 'deepfake-sexual', 'terrorism', 'other'];
const KINDS = ['media', 'message_link', 'content_id', 'pdq', 'md5', 'sha256'];
let itemSeq = 0;
const newItem = (kind = 'media') => ({ key: ++itemSeq, kind, value: '', file: null, quality: '' });

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

// A labelled control with the API's problem for its field beside it.
function Field({ id, label, error, hint, children, check }) {
  const cls = check ? 'check' : 'field';
  return html`<div class=${cls + (error ? ' invalid' : '')}>
    ${check ? html`${children}<label for=${id}>${label}</label>` : html`<label for=${id}>${label}</label>${children}`}
    ${hint && html`<p class="hint" id=${id + '-hint'}>${hint}</p>`}
    ${error && html`<p class="error" id=${id + '-err'}>${error}</p>`}
  </div>`;
}
const described = (id, error, hint) => [hint && id + '-hint', error && id + '-err'].filter(Boolean).join(' ') || undefined;

export function NewRequest() {
  const [f, setF] = useState({
    category: 'ncii', explanation: '', name: '', email: '', accuracy: false, good_faith: false, signature: '',
    legal_basis: '', issuing_authority: '', case_reference: '', territorial_scope: '',
  });
  const [items, setItems] = useState([newItem()]);
  const [errors, setErrors] = useState({});
  const [top, setTop] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const setItem = (i, patch) => setItems(items.map((it, j) => (j === i ? { ...it, ...patch } : it)));

  async function submit(e) {
    e.preventDefault();
    setBusy(true); setErrors({}); setTop('');
    try {
      const evidence = [];
      for (const it of items) {
        if (it.kind === 'media') evidence.push(it.file ? { media: await readBase64(it.file) } : { media: '' });
        else if (it.kind === 'pdq') evidence.push(it.quality !== '' ? { pdq: it.value.trim(), quality: Number(it.quality) } : { pdq: it.value.trim() });
        else evidence.push({ [it.kind]: it.value.trim() });
      }
      const body = { category: f.category, explanation: f.explanation, evidence,
        accuracy_statement: f.accuracy, good_faith_statement: f.good_faith };
      if (f.name || f.email) body.notifier = { name: f.name, email: f.email };
      for (const k of ['signature', 'legal_basis', 'issuing_authority', 'case_reference', 'territorial_scope']) if (f[k].trim()) body[k] = f[k].trim();
      const r = await post('/v1/requests', body);
      navigate('requests/' + r.id);
    } catch (err) {
      if (err.status === 400) {
        const map = {};
        const rest = [];
        for (const p of problems(err.message)) {
          if (!p.field) { rest.push(problemText(p.message, getLang())); continue; }
          const m = p.field.match(/^evidence\[(\d+)\]/);
          const key = m ? `evidence.${m[1]}` : p.field;
          const what = problemText(p.message, getLang());
          map[key] = map[key] ? `${map[key]}; ${what}` : (m && p.field !== m[0] ? `${p.field.slice(m[0].length + 1)}: ${what}` : what);
        }
        setErrors(map);
        setTop([t('fix_problems'), ...rest].join(' '));
        setTimeout(() => { const el = document.querySelector('.new-request [aria-invalid="true"]'); if (el) el.focus(); }, 0);
      } else setTop(say(err));
    } finally { setBusy(false); }
  }

  const E = errors;
  return html`<section aria-labelledby="new-h" class="new-request">
    <h1 id="new-h">${t('submit_request')}</h1>
    <p class="muted">${t('new_intro')}</p>
    ${top && html`<p class="error" role="alert">${top}</p>`}
    <form onSubmit=${submit} noValidate class="stack">
      <${Field} id="nr-category" label=${t('category') + ' *'} error=${E.category}>
        <select id="nr-category" value=${f.category} onChange=${set('category')} aria-invalid=${E.category ? 'true' : undefined}
          aria-describedby=${described('nr-category', E.category)}>
          ${CATEGORIES.map((c) => html`<option value=${c}>${t('cat_' + c)} (${c})</option>`)}
        </select>
      <//>
      <${Field} id="nr-explanation" label=${t('explanation') + ' *'} error=${E.explanation}>
        <textarea id="nr-explanation" rows="4" value=${f.explanation} onInput=${set('explanation')}
          aria-invalid=${E.explanation ? 'true' : undefined} aria-describedby=${described('nr-explanation', E.explanation)}></textarea>
      <//>
      <fieldset>
        <legend>${t('notifier')}</legend>
        <div class="two">
          <${Field} id="nr-name" label=${t('notifier_name')} error=${E['notifier.name'] || E.notifier}>
            <input id="nr-name" type="text" autocomplete="name" value=${f.name} onInput=${set('name')}
              aria-invalid=${E['notifier.name'] || E.notifier ? 'true' : undefined} aria-describedby=${described('nr-name', E['notifier.name'] || E.notifier)} />
          <//>
          <${Field} id="nr-email" label=${t('notifier_email')} error=${E['notifier.email']}>
            <input id="nr-email" type="email" autocomplete="email" value=${f.email} onInput=${set('email')}
              aria-invalid=${E['notifier.email'] ? 'true' : undefined} aria-describedby=${described('nr-email', E['notifier.email'])} />
          <//>
        </div>
      </fieldset>
      <fieldset>
        <legend>${t('statements')}</legend>
        <${Field} check id="nr-accuracy" label=${t('accuracy_label')} error=${E.accuracy_statement}>
          <input id="nr-accuracy" type="checkbox" checked=${f.accuracy} onChange=${set('accuracy')}
            aria-invalid=${E.accuracy_statement ? 'true' : undefined} aria-describedby=${described('nr-accuracy', E.accuracy_statement)} />
        <//>
        <${Field} check id="nr-goodfaith" label=${t('good_faith_label')} error=${E.good_faith_statement}>
          <input id="nr-goodfaith" type="checkbox" checked=${f.good_faith} onChange=${set('good_faith')}
            aria-invalid=${E.good_faith_statement ? 'true' : undefined} aria-describedby=${described('nr-goodfaith', E.good_faith_statement)} />
        <//>
        <${Field} id="nr-signature" label=${t('signature')} error=${E.signature}>
          <input id="nr-signature" type="text" value=${f.signature} onInput=${set('signature')}
            aria-invalid=${E.signature ? 'true' : undefined} aria-describedby=${described('nr-signature', E.signature)} />
        <//>
      </fieldset>
      <fieldset>
        <legend>${t('legal_basis')}</legend>
        <div class="two">
          ${[['legal_basis', 'nr-legal'], ['issuing_authority', 'nr-authority'], ['case_reference', 'nr-case'], ['territorial_scope', 'nr-scope']]
            .map(([k, id]) => html`<${Field} id=${id} label=${t(k)} error=${E[k]}>
              <input id=${id} type="text" value=${f[k]} onInput=${set(k)}
                aria-invalid=${E[k] ? 'true' : undefined} aria-describedby=${described(id, E[k])} />
            <//>`)}
        </div>
      </fieldset>
      <fieldset class="items">
        <legend>${t('items')} *</legend>
        ${E.evidence && html`<p class="error" id="nr-evidence-err">${E.evidence}</p>`}
        <ol class="plain">
          ${items.map((it, i) => {
            const err = E[`evidence.${i}`];
            const id = `nr-item-${it.key}`;
            return html`<li key=${it.key} class=${'item-row' + (err ? ' invalid' : '')}>
              <div class="field">
                <label for=${id + '-kind'}>${t('item_kind', { n: i + 1 })}</label>
                <select id=${id + '-kind'} value=${it.kind} onChange=${(e) => setItem(i, { kind: e.target.value, value: '', file: null })}>
                  ${KINDS.map((k) => html`<option value=${k}>${t('k_' + k)}</option>`)}
                </select>
              </div>
              ${it.kind === 'media' ? html`<div class="field">
                  <label for=${id + '-file'}>${t('item_file', { n: i + 1 })}</label>
                  <input id=${id + '-file'} type="file" accept="image/*,video/*" aria-invalid=${err ? 'true' : undefined}
                    aria-describedby=${err ? id + '-err' : undefined} onChange=${(e) => setItem(i, { file: e.target.files[0] || null })} />
                </div>`
                : html`<div class="field grow">
                  <label for=${id + '-value'}>${t('item_value', { n: i + 1 })}</label>
                  <input id=${id + '-value'} type="text" spellcheck="false" value=${it.value} aria-invalid=${err ? 'true' : undefined}
                    aria-describedby=${err ? id + '-err' : undefined} onInput=${(e) => setItem(i, { value: e.target.value })} />
                </div>`}
              ${it.kind === 'pdq' && html`<div class="field small">
                  <label for=${id + '-q'}>${t('item_quality', { n: i + 1 })}</label>
                  <input id=${id + '-q'} type="number" min="0" max="100" value=${it.quality} onInput=${(e) => setItem(i, { quality: e.target.value })} />
                </div>`}
              ${items.length > 1 && html`<button type="button" class="link" onClick=${() => setItems(items.filter((_, j) => j !== i))}>
                ${t('remove_item', { n: i + 1 })}</button>`}
              ${err && html`<p class="error full" id=${id + '-err'}>${err}</p>`}
            </li>`;
          })}
        </ol>
        <button type="button" onClick=${() => setItems([...items, newItem('message_link')])} disabled=${items.length >= 1000}>${t('add_item')}</button>
      </fieldset>
      <div><button type="submit" class="primary" disabled=${busy}>${busy ? t('submitting') : t('submit_request')}</button></div>
    </form>
  </section>`;
}
