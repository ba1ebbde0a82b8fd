import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { navigate } from '../router.js';
import { Time, Deadline, ErrorText, Loading, useLoad, useNow, usePoll } from '../ui.js';
import { BulkDecision } from './bulk.js';

export function ClaimState({ claim, session, now }) {
  if (!claim || new Date(claim.expires_at).getTime() < now) return html`<span class="muted">${t('unclaimed')}</span>`;
  const time = html`<${Time} v=${claim.expires_at} />`;
  const mine = claim.key_id === session.key_id;
  const text = t(mine ? 'claimed_by_you' : 'claimed_by', { name: claim.name, time: '\u0000' }).split('\u0000');
  return html`<span class=${mine ? 'claim mine' : 'claim other'}>${text[0]}${time}${text[1]}</span>`;
}

// The first page; the total and the deadline buckets count every pending request (the server's).
async function loadQueue() {
  const q = await get('/v1/review/queue?limit=200');
  return { total: q.total, due: q.due, items: q.queue };
}

// "[Select] request 3": the bracketed words shown, the rest for screen readers only (the whole is the name).
function partlyShown(text) {
  return text.split(/(\[[^\]]*\])/).filter(Boolean).map((p) => (p.startsWith('[')
    ? html`<span>${p.slice(1, -1)}</span>` : html`<span class="sr-only">${p}</span>`));
}

// "Select all on this page", indeterminate while some are selected.
function SelectAll({ all, some, onChange }) {
  const ref = useRef(null);
  useEffect(() => { if (ref.current) ref.current.indeterminate = some && !all; }, [all, some]);
  return html`<div class="check select-all">
    <input id="q-select-all" type="checkbox" ref=${ref} checked=${all} onChange=${(e) => onChange(e.target.checked)} />
    <label for="q-select-all">${t('select_all_page')}</label>
  </div>`;
}

export function Queue({ session }) {
  const { data, error, reload } = useLoad(loadQueue, []);
  const now = useNow();
  const [selected, setSelected] = useState(() => new Set());
  const [bulk, setBulk] = useState(null); // {approve, items, key}
  const [running, setRunning] = useState(false);
  usePoll(useCallback(() => { if (!bulk) reload(); }, [bulk]), 15000);
  const reviewer = session.role === 'reviewer';
  const items = data ? data.items : [];
  // What left the queue leaves the selection.
  useEffect(() => {
    if (!data) return;
    const ids = new Set(data.items.map((i) => i.id));
    setSelected((s) => { const n = new Set([...s].filter((id) => ids.has(id))); return n.size === s.size ? s : n; });
  }, [data]);
  const toggle = (id, on) => setSelected((s) => { const n = new Set(s); if (on) n.add(id); else n.delete(id); return n; });
  const chosen = items.filter((i) => selected.has(i.id));
  const due = data && data.due ? data.due : { overdue: 0, within_24h: 0, within_48h: 0 };
  const b24 = due.within_24h, b48 = due.within_48h, over = due.overdue;
  return html`<section aria-labelledby="queue-h">
    <div class="title-row">
      <h1 id="queue-h">${t('review_queue')}</h1>
      <button type="button" onClick=${reload}>${t('refresh')}</button>
    </div>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && html`
      <ul class="buckets" aria-label=${t('review_queue')}>
        <li><span class="num">${data.total}</span> ${t('pending_total')}</li>
        <li class="b24"><span class="num">${b24}</span> ${t('due_24h')}</li>
        <li class="b48"><span class="num">${b48}</span> ${t('due_48h')}</li>
        <li class="bover"><span class="num">${over}</span> ${t('overdue')}</li>
      </ul>
      ${reviewer && items.length > 0 && html`<div class="bulk-bar" role="group" aria-label=${t('bulk_decisions')}>
        <${SelectAll} all=${chosen.length === items.length} some=${chosen.length > 0}
          onChange=${(on) => setSelected(on ? new Set(items.map((i) => i.id)) : new Set())} />
        ${chosen.length > 0 && html`<span class="sel-count">${t('n_selected', { n: chosen.length })}</span>
          <span class="actions">
            <button type="button" class="primary" disabled=${running}
              onClick=${() => setBulk({ approve: true, items: chosen, key: Date.now() })}>${t('approve_selected')}</button>
            <button type="button" class="danger" disabled=${running}
              onClick=${() => setBulk({ approve: false, items: chosen, key: Date.now() })}>${t('reject_selected')}</button>
          </span>`}
      </div>`}
      ${bulk && html`<${BulkDecision} key=${bulk.key} items=${bulk.items} approve=${bulk.approve}
        onClose=${() => setBulk(null)} onStart=${() => setRunning(true)}
        onDone=${() => { setRunning(false); setSelected(new Set()); reload(); }} />`}
      ${items.length === 0 ? html`<p>${t('queue_empty')}</p>` : html`
      <table class="cards queue">
        <thead><tr>
          ${reviewer && html`<th scope="col" class="sel"><span class="sr-only">${t('select')}</span></th>`}
          <th scope="col">${t('id')}</th><th scope="col">${t('priority')}</th><th scope="col">${t('category')}</th>
          <th scope="col">${t('source')}</th><th scope="col">${t('received')}</th><th scope="col">${t('deadline')}</th>
          <th scope="col">${t('claim')}</th>
        </tr></thead>
        <tbody>
          ${items.map((i) => html`<tr class=${selected.has(i.id) ? 'clickable selected' : 'clickable'} key=${i.id}
            onClick=${(e) => { if (!e.target.closest('a, input, label, .sel')) navigate('requests/' + i.id); }}>
            ${reviewer && html`<td class="sel"><span class="check">
              <input type="checkbox" id=${`q-sel-${i.id}`} checked=${selected.has(i.id)} onChange=${(e) => toggle(i.id, e.target.checked)} />
              <label for=${`q-sel-${i.id}`}>${partlyShown(t('select_request', { id: i.id }))}</label>
            </span></td>`}
            <td data-label=${t('id')}><a href=${'/console/requests/' + i.id} aria-label=${t('open_request', { id: i.id })}>#${i.id}</a></td>
            <td data-label=${t('priority')}>${i.priority}</td>
            <td data-label=${t('category')}>${i.category}</td>
            <td data-label=${t('source')}>${i.source_type}${i.trusted ? ` (${t('trusted')})` : ''}</td>
            <td data-label=${t('received')}><${Time} v=${i.received_at} /></td>
            <td data-label=${t('deadline')}><${Deadline} v=${i.deadline_at} now=${now} /></td>
            <td data-label=${t('claim')}><${ClaimState} claim=${i.claim} session=${session} now=${now} /></td>
          </tr>`)}
        </tbody>
      </table>`}`}
  </section>`;
}
