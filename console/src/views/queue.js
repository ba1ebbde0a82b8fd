import { html } from 'htm/preact';
import { useCallback } from 'preact/hooks';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { navigate } from '../router.js';
import { Time, Deadline, ErrorText, Loading, useLoad, useNow, usePoll } from '../ui.js';

export function ClaimState({ claim, session, now }) {
  if (!claim || new Date(claim.expires_at).getTime() < now) return html`<span class="muted">${t('unclaimed')}</span>`;
  const time = html`<${Time} v=${claim.expires_at} />`;
  const mine = claim.key_id === session.key_id;
  const text = t(mine ? 'claimed_by_you' : 'claimed_by', { name: claim.name, time: '\u0000' }).split('\u0000');
  return html`<span class=${mine ? 'claim mine' : 'claim other'}>${text[0]}${time}${text[1]}</span>`;
}

async function loadQueue() {
  const [q, list] = await Promise.all([
    get('/v1/review/queue?limit=500'),
    get('/v1/requests?status=pending_review&limit=1000').catch(() => ({ requests: [] })),
  ]);
  const received = new Map(list.requests.map((r) => [r.id, r.received_at]));
  return { total: q.total, items: q.queue.map((i) => ({ ...i, received_at: i.received_at || received.get(i.id) })) };
}

export function Queue({ session }) {
  const { data, error, reload } = useLoad(loadQueue, []);
  const now = useNow();
  usePoll(useCallback(reload, []), 15000);
  let b24 = 0, b48 = 0, over = 0;
  for (const i of data ? data.items : []) {
    const left = new Date(i.deadline_at).getTime() - now;
    if (left < 0) over++; else if (left < 24 * 3600e3) b24++; else if (left < 48 * 3600e3) b48++;
  }
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
      ${data.items.length === 0 ? html`<p>${t('queue_empty')}</p>` : html`
      <table class="cards queue">
        <thead><tr>
          <th scope="col">${t('id')}</th><th scope="col">${t('priority')}</th><th scope="col">${t('category')}</th>
          <th scope="col">${t('source')}</th><th scope="col">${t('received')}</th><th scope="col">${t('deadline')}</th>
          <th scope="col">${t('claim')}</th>
        </tr></thead>
        <tbody>
          ${data.items.map((i) => html`<tr class="clickable" key=${i.id} onClick=${(e) => { if (!e.target.closest('a')) navigate('requests/' + i.id); }}>
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
