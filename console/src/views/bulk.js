// Bulk decisions from the review queue: a preview of what each selected request would remove
// (its spread), one reason and policy ground for all, then claim and decide each in turn.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { get, post, del, say } from '../api.js';
import { DecisionFields, groundsFor, decisionBody } from './request.js';

const IN_FLIGHT = 4;
const CHATS_SHOWN = 8;

// fn over items with at most `limit` calls in flight.
export async function eachLimited(items, limit, fn) {
  let next = 0;
  async function worker() {
    while (next < items.length) { const i = next++; await fn(items[i], i); }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const amount = (copies, chats) => t('bulk_copies', { copies: t('n_copies', { n: copies }), chats: t('n_chats', { n: chats }) });

function chatsText(chats) {
  const shown = chats.slice(0, CHATS_SHOWN).join(', ');
  return chats.length > CHATS_SHOWN ? `${shown} ${t('and_more', { n: chats.length - CHATS_SHOWN })}` : shown;
}

// items: the selected queue items; approve: true or false; onDone: after the last decision.
export function BulkDecision({ items, approve, onClose, onStart, onDone }) {
  const [spreads, setSpreads] = useState({});
  const [ground, setGround] = useState(groundsFor(approve)[0]);
  const [reason, setReason] = useState('');
  const [dsa, setDsa] = useState('');
  const [reasonError, setReasonError] = useState('');
  const [stage, setStage] = useState('preview'); // preview, running, done
  const [results, setResults] = useState([]);
  const heading = useRef(null);
  const hid = approve ? 'bulk-approve-h' : 'bulk-reject-h';
  useEffect(() => { if (heading.current) heading.current.focus(); }, []);
  useEffect(() => {
    let live = true;
    eachLimited(items, IN_FLIGHT, async (r) => {
      let v;
      try {
        const s = await get(`/v1/requests/${r.id}/spread`);
        v = { copies: s.copies.map((c) => c.content_id), count: s.totals.copies, chats: s.chats.map((c) => c.chat_id) };
      } catch (e) { v = { error: say(e) }; }
      if (live) setSpreads((m) => ({ ...m, [r.id]: v }));
    });
    return () => { live = false; };
  }, []);

  const loaded = items.every((r) => spreads[r.id]);
  const allCopies = new Set(), allChats = new Set();
  for (const r of items) {
    const s = spreads[r.id];
    if (s && !s.error) { s.copies.forEach((c) => allCopies.add(c)); s.chats.forEach((c) => allChats.add(c)); }
  }
  const categories = [...new Set(items.map((r) => r.category))];

  async function confirm(e) {
    e.preventDefault();
    if (!reason.trim()) { setReasonError(t('reason_required')); return; }
    setReasonError('');
    setStage('running');
    onStart();
    const out = [];
    for (const r of items) {
      let line;
      try {
        await post(`/v1/requests/${r.id}/claim`);
        try {
          const v = await post(`/v1/requests/${r.id}/decision`, decisionBody({ approve, ground, reason, dsa, category: r.category }));
          line = { id: r.id, ok: true, message: t('st_' + v.status) };
        } catch (err) {
          del(`/v1/requests/${r.id}/claim`).catch(() => {}); // not decided: let others take it
          line = { id: r.id, ok: false, message: say(err) };
        }
      } catch (err) { line = { id: r.id, ok: false, message: say(err) }; }
      out.push(line);
      setResults([...out]);
    }
    setStage('done');
    onDone();
  }

  const title = t(approve ? 'bulk_approve_title' : 'bulk_reject_title', { n: items.length });
  return html`<section aria-labelledby=${hid} class=${'panel bulk ' + (approve ? 'approve' : 'reject')}>
    <h2 id=${hid} tabindex="-1" ref=${heading}>${title}</h2>
    ${stage === 'preview' && html`<p class="muted">${t('bulk_preview_intro')}</p>`}
    <ul class="bulk-list">
      ${items.map((r) => {
        const s = spreads[r.id];
        return html`<li key=${r.id} data-id=${r.id}>
          <strong>${t('request_n', { id: r.id })}</strong> <span class="muted">· ${r.category}</span>
          <span class="bulk-what">${!s ? t('loading') : s.error ? html`<span class="error-text">${s.error}</span>`
            : s.count === 0 ? t('no_copies')
              : html`${amount(s.count, s.chats.length)}: <span class="break">${chatsText(s.chats)}</span>`}</span>
        </li>`;
      })}
    </ul>
    <p class="bulk-total"><strong>${t('total')}:</strong> ${loaded
      ? t(approve ? 'bulk_total_remove' : 'bulk_total_keep', { copies: t('n_copies', { n: allCopies.size }), chats: t('n_chats', { n: allChats.size }) })
      : t('loading')}</p>
    ${stage === 'preview' ? html`<form onSubmit=${confirm} noValidate class="stack">
      <${DecisionFields} prefix="bulk" category=${categories.join(', ')} approve=${approve} ground=${ground} setGround=${setGround}
        reason=${reason} setReason=${(v) => { setReason(v); if (v.trim()) setReasonError(''); }} dsa=${dsa} setDsa=${setDsa} reasonError=${reasonError} />
      <div class="actions">
        <button type="submit" class=${approve ? 'primary' : 'danger'}>${t('confirm')}</button>
        <button type="button" onClick=${onClose}>${t('cancel')}</button>
      </div>
    </form>` : html`
      <p role="status" class="bulk-progress">${stage === 'done' ? t('bulk_finished', { n: results.filter((x) => x.ok).length, total: items.length })
        : t('n_of_total', { n: results.length, total: items.length })}</p>
      <progress max=${items.length} value=${results.length} aria-label=${t('progress')}></progress>
      <ol class="bulk-results">
        ${results.map((x) => html`<li key=${x.id} class=${x.ok ? 'ok' : 'error-text'} data-id=${x.id}>
          ${t('request_n', { id: x.id })}: ${x.ok ? t('bulk_done', { status: x.message }) : x.message}</li>`)}
      </ol>
      ${stage === 'done' && html`<div class="actions"><button type="button" onClick=${onClose}>${t('close')}</button></div>`}`}
  </section>`;
}
