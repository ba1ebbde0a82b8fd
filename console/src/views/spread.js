// Where a request's content (or a bank entry's signals) spread: the copies by day with the first
// appearance marked, a graph of the chats it reached (inline SVG, with a table saying the same),
// the repeat uploaders, and the whole spread as JSON or CSV.
import { html } from 'htm/preact';
import { t, locale } from '../i18n.js';
import { get } from '../api.js';
import { Time, ErrorText, Loading, isoOf, useLoad } from '../ui.js';

export const TIMELINE_MAX = 500; // copies drawn in the timeline (the downloads have all)
const GRAPH_MAX = 60; // chats drawn in the graph
const TABLE_MAX = 500; // chats listed in the table

const fmts = new Map();
function fmt(kind) {
  const key = `${locale()}|${kind}`;
  if (!fmts.has(key)) {
    fmts.set(key, new Intl.DateTimeFormat(locale(), kind === 'day' ? { dateStyle: 'full' } : { timeStyle: 'medium' }));
  }
  return fmts.get(key);
}
const msOf = (c) => (typeof c.recorded_ms === 'number' ? c.recorded_ms : new Date(c.recorded_at).getTime());

// The copies in time order, grouped by the viewer's day: [{day, iso, copies}].
export function byDay(copies) {
  const days = [];
  for (const c of [...copies].sort((a, b) => msOf(a) - msOf(b))) {
    const d = new Date(msOf(c));
    const day = fmt('day').format(d);
    if (!days.length || days[days.length - 1].day !== day) days.push({ day, iso: isoOf(msOf(c)).slice(0, 10), copies: [] });
    days[days.length - 1].copies.push(c);
  }
  return days;
}

function CopyTimeline({ data }) {
  const copies = data.copies.slice(0, TIMELINE_MAX);
  const first = data.first ? data.first.content_id : copies.length ? copies[0].content_id : null;
  const total = data.totals.copies;
  return html`<section aria-labelledby="stl-h" class="panel">
    <h2 id="stl-h">${t('spread_timeline')}</h2>
    ${data.first && html`<p class="first-line">${t('first_appearance')}: <strong>${data.first.content_id}</strong>${
      ` · ${t('chat')} ${data.first.chat_id} · ${t('uploader')} ${data.first.uploader_id} · `}<${Time} v=${data.first.recorded_at} /></p>`}
    ${total > copies.length && html`<p class="notice">${t('timeline_bounded', { n: copies.length, total })}</p>`}
    ${copies.length === 0 ? html`<p class="muted">${t('no_copies')}</p>` : html`
    <ol class="spread-days">
      ${byDay(copies).map((g) => html`<li key=${g.day}>
        <h3><time datetime=${g.iso}>${g.day}</time></h3>
        <ol class="spread-copies">
          ${g.copies.map((c) => {
            const isFirst = c.content_id === first;
            const iso = isoOf(msOf(c));
            return html`<li key=${c.content_id} class=${isFirst ? 'copy first' : 'copy'}>
              <p class="copy-head">
                <time datetime=${iso} title=${iso}>${fmt('time').format(new Date(iso))}</time>
                ${isFirst && html`<span class="badge first-badge">${t('first_appearance')}</span>`}
                <code class="copy-id">${c.content_id}</code>
              </p>
              <p class="copy-meta">${t('chat')} <strong>${c.chat_id}</strong>${[
                '', `${t('uploader')} ${c.uploader_id}`,
                c.from_content_id ? t('from_copy', { id: c.from_content_id, how: c.from_how || '' }) : t('no_source'),
                c.media, `${c.signal}${c.distance ? ` ${c.distance}` : ''}`, c.state].join(' · ')}</p>
            </li>`;
          })}
        </ol>
      </li>`)}
    </ol>`}
  </section>`;
}

// The chats in the order reached, and the links between chats (copies within a chat aside).
export function graphOf(data) {
  const chats = [...data.chats].sort((a, b) => a.first_ms - b.first_ms);
  const links = new Map();
  for (const e of data.edges) {
    if (e.from_chat === e.to_chat) continue;
    const k = `${e.from_chat}\u0000${e.to_chat}`;
    const l = links.get(k) || { from: e.from_chat, to: e.to_chat, copies: 0, how: new Set() };
    l.copies += 1; l.how.add(e.how);
    links.set(k, l);
  }
  return { chats, links: [...links.values()] };
}

const short = (s, n = 16) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function SpreadGraph({ data }) {
  const { chats: all, links: allLinks } = graphOf(data);
  const chats = all.slice(0, GRAPH_MAX);
  const pos = new Map(chats.map((c, i) => [c.chat_id, i]));
  const links = allLinks.filter((l) => pos.has(l.from) && pos.has(l.to));
  const STEP = 150, PAD = 72;
  const span = (l) => Math.abs(pos.get(l.to) - pos.get(l.from));
  const maxSpan = links.reduce((m, l) => Math.max(m, span(l)), 1);
  const arc = (s) => Math.min(160, 56 + 30 * (s - 1));
  const top = 24 + arc(maxSpan) / 2 + 10;
  const W = Math.max(300, PAD * 2 + (chats.length - 1) * STEP), H = top + 80;
  const x = (i) => PAD + i * STEP;
  const r = (n) => Math.min(26, 11 + 3 * Math.sqrt(n));
  const summary = t('graph_summary', { chats: all.length, links: allLinks.length, first: all.length ? all[0].chat_id : '—' });
  return html`<figure class="spread-graph">
    <figcaption>${t('graph_title')}</figcaption>
    <div class="graph-scroll" tabindex="0" role="group" aria-label=${t('graph_title')}>
      <svg role="img" aria-label=${summary} class=${chats.length <= 4 ? 'fit' : undefined} width=${W} height=${H} viewBox=${`0 0 ${W} ${H}`} xmlns="http://www.w3.org/2000/svg">
        <defs>
          <marker id="sg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="g-arrow" />
          </marker>
        </defs>
        <line x1=${x(0)} y1=${top} x2=${x(chats.length - 1)} y2=${top} class="g-axis" />
        ${links.map((l) => {
          const i = pos.get(l.from), j = pos.get(l.to);
          const x1 = x(i), x2 = x(j);
          const h = arc(span(l)) * (x2 > x1 ? 1 : 0.45); // back: flatter, dashed
          const r1 = r(chats[i].copies), r2 = r(chats[j].copies);
          const dir = Math.sign(x2 - x1);
          const d = `M${x1 + dir * r1 * 0.6},${top - r1 * 0.8} Q${(x1 + x2) / 2},${top - h} ${x2 - dir * r2 * 0.6},${top - r2 * 0.8}`;
          return html`<path key=${`${l.from}>${l.to}`} d=${d} class=${dir > 0 ? 'g-edge' : 'g-edge back'} marker-end="url(#sg-arrow)"
            data-from=${l.from} data-to=${l.to}><title>${t('graph_edge', { from: l.from, to: l.to, n: l.copies, how: [...l.how].join(', ') })}</title></path>`;
        })}
        ${chats.map((c, i) => html`<g key=${c.chat_id} class=${i === 0 ? 'g-node first' : 'g-node'} data-chat=${c.chat_id}>
          <title>${c.chat_id}: ${t('n_copies', { n: c.copies })}</title>
          <circle cx=${x(i)} cy=${top} r=${r(c.copies)} />
          <text x=${x(i)} y=${top + 40} class="g-label">${short(c.chat_id)}</text>
          <text x=${x(i)} y=${top + 58} class="g-count">${t('n_copies', { n: c.copies })}</text>
        </g>`)}
      </svg>
    </div>
    ${all.length > chats.length && html`<p class="notice">${t('graph_bounded', { n: chats.length, total: all.length })}</p>`}
  </figure>`;
}

function ChatTable({ data }) {
  const chats = [...data.chats].sort((a, b) => a.first_ms - b.first_ms);
  const shown = chats.slice(0, TABLE_MAX);
  return html`<table class="cards spread-chats">
      <caption>${t('chats_table')}</caption>
      <thead><tr><th scope="col">${t('chat')}</th><th scope="col">${t('first_seen')}</th>
        <th scope="col">${t('copies')}</th><th scope="col">${t('reached_from')}</th></tr></thead>
      <tbody>${shown.map((c) => html`<tr key=${c.chat_id}>
        <th scope="row" data-label=${t('chat')}>${c.chat_id}</th>
        <td data-label=${t('first_seen')}><span><${Time} v=${c.first_at || c.first_ms} /> <span class="muted">(${c.first_content_id})</span></span></td>
        <td data-label=${t('copies')}>${c.copies}</td>
        <td data-label=${t('reached_from')}>${c.reached_from_chat || html`<span class="muted">${t('first_appearance')}</span>`}</td>
      </tr>`)}</tbody>
    </table>
    ${chats.length > shown.length && html`<p class="notice">${t('table_bounded', { n: shown.length, total: chats.length })}</p>`}`;
}

function RepeatUploaders({ list }) {
  return html`<section aria-labelledby="ru-h" class="panel">
    <h2 id="ru-h">${t('repeat_uploaders')}</h2>
    ${list.length === 0 ? html`<p class="muted">${t('no_repeat_uploaders')}</p>` : html`
    <table class="cards repeat">
      <thead><tr><th scope="col">${t('uploader')}</th><th scope="col">${t('strikes')}</th>
        <th scope="col">${t('strikes_by_category')}</th><th scope="col">${t('account_actions')}</th></tr></thead>
      <tbody>${list.map((u) => html`<tr key=${u.uploader_id}>
        <th scope="row" data-label=${t('uploader')}>${u.uploader_id}</th>
        <td data-label=${t('strikes')}><span>${t('strikes_in', { n: u.strikes, d: u.window_days })}
          ${u.last_strike && html`<br /><span class="muted">${t('last_strike')}: <${Time} v=${u.last_strike} /></span>`}</span></td>
        <td data-label=${t('strikes_by_category')}>${Object.entries(u.strikes_by_category || {}).map(([k, v]) => `${k}: ${v}`).join(', ') || '—'}</td>
        <td data-label=${t('account_actions')}>${u.account_actions.length === 0 ? '—' : html`<ul class="acts">
          ${u.account_actions.map((a) => html`<li key=${a.idempotency_key}>${`${t('account_action', { measure: a.measure, category: a.category, n: a.strikes })} · `}<${Time} v=${a.at} /></li>`)}</ul>`}</td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}

// kind: 'requests' or 'entries'.
export function SpreadPage({ kind, id }) {
  const api = `/v1/${kind}/${id}/spread`;
  const { data, error } = useLoad(() => get(api), [api]);
  const title = kind === 'requests' ? t('spread_of_request', { id }) : t('spread_of_entry', { id });
  const back = kind === 'requests'
    ? html`<p><a href=${`/console/requests/${id}`}>← ${t('request_n', { id })}</a></p>`
    : html`<p><a href="/console/banks">← ${t('banks')}</a></p>`;
  return html`${back}
    <h1>${title}</h1>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && html`
      <div class="spread-top">
        <p class="totals">${t('spread_totals', data.totals)}${data.bank ? ` · ${t('bank')} ${data.bank}` : ''}</p>
        <p class="actions downloads">
          <a class="button" href=${`${api}?format=json`} download=${`spread-${kind}-${id}.json`}>${t('download_spread_json')}</a>
          <a class="button" href=${`${api}?format=csv`} download=${`spread-${kind}-${id}.csv`}>${t('download_spread_csv')}</a>
        </p>
      </div>
      <p class="hint">${data.method}${data.truncated ? ` ${t('spread_truncated')}` : ''} · ${t('computed_at')} <${Time} v=${data.computed_at} /></p>
      <div class="spread-cols">
        <${CopyTimeline} data=${data} />
        <div>
          <section aria-labelledby="sg-h" class="panel">
            <h2 id="sg-h">${t('chats_reached')}</h2>
            ${data.chats.length === 0 ? html`<p class="muted">${t('no_copies')}</p>` : html`
              <${SpreadGraph} data=${data} />
              <${ChatTable} data=${data} />`}
          </section>
          <${RepeatUploaders} list=${data.repeat_uploaders || []} />
        </div>
      </div>`}`;
}
