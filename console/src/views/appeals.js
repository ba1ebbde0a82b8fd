import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { get, post, say } from '../api.js';
import { Time, ErrorText, Loading, useLoad } from '../ui.js';

function AppealForm({ a, onDone }) {
  const [outcome, setOutcome] = useState('rejected');
  const [reason, setReason] = useState('');
  const [disable, setDisable] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const id = `ap-${a.id}`;
  async function submit(e) {
    e.preventDefault();
    if (!reason.trim()) { setError(t('reason_required')); return; }
    setBusy(true); setError('');
    try {
      const body = { outcome, reason: reason.trim() };
      if (outcome === 'upheld') body.disable_entry = disable;
      onDone(await post(`/v1/appeals/${a.id}/decision`, body));
    } catch (err) { setError(say(err)); } finally { setBusy(false); }
  }
  return html`<form onSubmit=${submit} noValidate class="stack appeal-form">
    <div class="field">
      <label for=${id + '-o'}>${t('outcome')}</label>
      <select id=${id + '-o'} value=${outcome} onChange=${(e) => setOutcome(e.target.value)}>
        <option value="rejected">${t('appeal_rejected')}</option>
        <option value="upheld">${t('upheld')}</option>
      </select>
    </div>
    ${outcome === 'upheld' && html`<div class="check">
      <input type="checkbox" id=${id + '-d'} checked=${disable} onChange=${(e) => setDisable(e.target.checked)} />
      <label for=${id + '-d'}>${t('disable_entry')}</label></div>`}
    <div class="field">
      <label for=${id + '-r'}>${t('reason')}</label>
      <textarea id=${id + '-r'} rows="2" aria-required="true" value=${reason} onInput=${(e) => setReason(e.target.value)}></textarea>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div><button type="submit" class="primary" disabled=${busy}>${t('decide')}</button></div>
  </form>`;
}

export function Appeals({ session }) {
  const [status, setStatus] = useState('open');
  const { data, error, reload } = useLoad(() => get(`/v1/appeals?limit=500${status ? `&status=${status}` : ''}`), [status]);
  return html`<section aria-labelledby="ap-h">
    <div class="title-row">
      <h1 id="ap-h">${t('appeals')}</h1>
      <div class="field inline">
        <label for="ap-status">${t('filter_status')}</label>
        <select id="ap-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
          <option value="open">${t('open')}</option><option value="upheld">${t('upheld')}</option>
          <option value="rejected">${t('appeal_rejected')}</option><option value="">${t('all')}</option>
        </select>
      </div>
    </div>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && data.appeals.length === 0 && html`<p>${t('none')}</p>`}
    ${data && html`<ul class="plain">${data.appeals.map((a) => html`<li class="panel" key=${a.id}>
      <h2>${t('appeal_n', { id: a.id })} <span class="badge">${a.status}</span></h2>
      <dl class="grid">
        <dt>${t('action')}</dt><dd>${a.action_id}</dd>
        <dt>${t('content')}</dt><dd>${a.content_id}</dd>
        <dt>${t('uploader')}</dt><dd>${a.uploader_id}</dd>
        <dt>${t('filed')}</dt><dd><${Time} v=${a.filed_ms} /> (${a.filed_by})</dd>
        <dt>${t('grounds')}</dt><dd class="pre">${a.reason}</dd>
        ${a.decided_ms && html`<dt>${t('decided')}</dt><dd><${Time} v=${a.decided_ms} /> (${a.decided_by}): ${a.decision_reason}</dd>`}
      </dl>
      ${a.status === 'open' && session.role === 'reviewer' && html`<${AppealForm} a=${a} onDone=${reload} />`}
    </li>`)}</ul>`}
  </section>`;
}
