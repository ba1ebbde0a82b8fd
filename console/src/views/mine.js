import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { Time, ErrorText, Loading, StatusBadge, usePoll } from '../ui.js';

export function Mine() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(() => get('/v1/requests?limit=1000').then((d) => { setData(d); setError(null); }, setError), []);
  useEffect(() => { load(); }, []);
  usePoll(load, 5000);
  const rows = data ? [...data.requests].sort((a, b) => b.id - a.id) : [];
  return html`<section aria-labelledby="mine-h">
    <div class="title-row">
      <h1 id="mine-h">${t('my_requests')}</h1>
      <a class="button primary" href="/console/new">${t('submit_request')}</a>
    </div>
    <p class="muted">${t('auto_refresh')}</p>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && rows.length === 0 && html`<p>${t('mine_empty')}</p>`}
    ${rows.length > 0 && html`<table class="cards mine">
      <thead><tr><th scope="col">${t('id')}</th><th scope="col">${t('status')}</th><th scope="col">${t('category')}</th>
        <th scope="col">${t('received')}</th><th scope="col">${t('deadline')}</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.id} data-request=${r.id}>
        <td data-label=${t('id')}><a href=${'/console/requests/' + r.id}>${t('request_n', { id: r.id })}</a></td>
        <td data-label=${t('status')}><${StatusBadge} s=${r.status} /></td>
        <td data-label=${t('category')}>${r.category}</td>
        <td data-label=${t('received')}><${Time} v=${r.received_at} /></td>
        <td data-label=${t('deadline')}><${Time} v=${r.deadline_at} /></td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}
