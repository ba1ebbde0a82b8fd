import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { get, post, del, say, refusalOf } from '../api.js';
import { Time, Deadline, ErrorText, Loading, StatusBadge, useLoad, useNow, usePoll, duration } from '../ui.js';
import { ClaimState } from './queue.js';

const DSA_CATEGORIES = ['ANIMAL_WELFARE', 'CONSUMER_INFORMATION', 'CYBER_VIOLENCE', 'CYBER_VIOLENCE_AGAINST_WOMEN',
  'DATA_PROTECTION_AND_PRIVACY_VIOLATIONS', 'ILLEGAL_OR_HARMFUL_SPEECH', 'INTELLECTUAL_PROPERTY_INFRINGEMENTS',
  'NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS', 'NOT_SPECIFIED_NOTICE', 'OTHER_VIOLATION_TC', 'PROTECTION_OF_MINORS',
  'RISK_FOR_PUBLIC_SECURITY', 'SCAMS_AND_FRAUD', 'SELF_HARM', 'UNSAFE_AND_PROHIBITED_PRODUCTS', 'VIOLENCE']
  .map((c) => 'STATEMENT_CATEGORY_' + c);
const REVEAL_SECONDS = 30;

export function RequestPage({ id, session }) {
  const { data, error, reload } = useLoad(() => get(`/v1/requests/${id}`), [id]);
  const [view, setView] = useState(null);
  useEffect(() => { if (data) setView(data); }, [data]);
  const r = view;
  const done = r && (r.status === 'confirmed' || r.status === 'rejected');
  // The requester follows its request without reloading; reviewers see removals arrive.
  const refresh = useCallback(() => { if (!done) get(`/v1/requests/${id}`).then(setView, () => {}); }, [id, done]);
  usePoll(refresh, 5000);
  const back = session.role === 'requester'
    ? html`<p><a href="/console/mine">← ${t('back_to_mine')}</a></p>`
    : html`<p><a href="/console/queue">← ${t('back_to_queue')}</a></p>`;
  if (error) {
    return html`${back}<h1>${t('request_n', { id })}</h1>
      <p class="error" role="alert">${error.status === 404 ? `${t('not_found')} ` : ''}${say(error)}</p>`;
  }
  if (!r) return html`${back}<h1>${t('request_n', { id })}</h1><${Loading} />`;
  return html`${back}
    <div class="title-row">
      <h1>${t('request_n', { id })}</h1>
      <${StatusBadge} s=${r.status} />
    </div>
    ${session.role === 'requester'
      ? html`<${RequesterView} r=${r} />`
      : html`<${ReviewerView} r=${r} session=${session} onChange=${(v) => { setView(v); }} reload=${reload} />`}`;
}

function Summary({ r, now }) {
  return html`<section aria-labelledby="sum-h" class="panel">
    <h2 id="sum-h">${t('summary')}</h2>
    <dl class="grid">
      <dt>${t('status')}</dt><dd><${StatusBadge} s=${r.status} /></dd>
      <dt>${t('category')}</dt><dd>${r.category}</dd>
      <dt>${t('source')}</dt><dd>${r.source_type}${r.trusted ? ` (${t('trusted')})` : ''}</dd>
      <dt>${t('priority')}</dt><dd>${r.priority}</dd>
      <dt>${t('received')}</dt><dd><${Time} v=${r.received_at} /></dd>
      <dt>${t('deadline')}</dt><dd>${r.status === 'pending_review' || r.status === 'received'
        ? html`<${Deadline} v=${r.deadline_at} now=${now} />` : html`<${Time} v=${r.deadline_at} />`}</dd>
      ${r.requester && html`<dt>${t('requester')}</dt><dd>${r.requester.name} (key ${r.requester.key_id})${r.requester.profile ? ` · ${t('profile')}: ${r.requester.profile}` : ''}${r.requester.member_state ? ` · ${r.requester.member_state}` : ''}</dd>`}
    </dl>
  </section>`;
}

const yn = (b) => (b ? t('yes') : t('no'));
function Notice({ n }) {
  const rows = [['explanation', n.explanation], ['notifier_name', n.notifier && n.notifier.name],
    ['notifier_email', n.notifier && n.notifier.email], ['anonymous', yn(n.anonymous)],
    ['accuracy_statement', yn(n.accuracy_statement)], ['good_faith_statement', yn(n.good_faith_statement)],
    ['signature', n.signature], ['legal_basis', n.legal_basis], ['issuing_authority', n.issuing_authority],
    ['case_reference', n.case_reference], ['territorial_scope', n.territorial_scope]];
  return html`<section aria-labelledby="notice-h" class="panel">
    <h2 id="notice-h">${t('notice')}</h2>
    <dl class="grid">${rows.map(([k, v]) => html`<dt>${t(k)}</dt><dd class=${k === 'explanation' ? 'pre' : ''}>${v || '—'}</dd>`)}</dl>
  </section>`;
}

function Hash({ v }) {
  return html`<code class="hash" title=${v}>${v}</code>`;
}

function EvidenceList({ r, canPreview }) {
  return html`<section aria-labelledby="ev-h" class="panel">
    <h2 id="ev-h">${t('evidence')}</h2>
    <ol class="evidence">
      ${r.evidence.map((e) => html`<li key=${e.index} class="ev-item">
        <h3>${t('item_n', { n: e.index + 1 })} · ${e.kind || ''}${e.media_bytes ? ` · ${t('media_bytes', { n: e.media_bytes })}` : ''}</h3>
        <dl class="grid">
          ${e.usable !== undefined && html`<dt>${t('usable')}</dt><dd>${yn(e.usable)}</dd>`}
          ${e.hashing && html`<dt>${t('status')}</dt><dd>${t('hashing')}</dd>`}
          ${e.problem && html`<dt>${t('problem')}</dt><dd class="error-text">${e.problem}</dd>`}
          ${e.content_id && html`<dt>${t('content')}</dt><dd>${e.content_id}</dd>`}
          ${e.message_link && html`<dt>${t('k_message_link')}</dt><dd class="break">${e.message_link}</dd>`}
          ${e.pdq && html`<dt>PDQ</dt><dd><${Hash} v=${e.pdq} />${e.quality !== undefined ? ` (q ${e.quality})` : ''}</dd>`}
          ${e.md5 && html`<dt>MD5</dt><dd><${Hash} v=${e.md5} /></dd>`}
          ${e.sha256 && html`<dt>SHA-256</dt><dd><${Hash} v=${e.sha256} /></dd>`}
          ${e.video && html`<dt>${t('video')}</dt><dd>${t('video_info', { frames: e.video.frames, d: e.video.duration_s })}</dd>`}
          ${e.retained_until && html`<dt>${t('retained_until')}</dt><dd><${Time} v=${e.retained_until} /></dd>`}
        </dl>
        ${canPreview && e.kind === 'media' && (e.video
          ? html`<${KeyframeStrip} key="video" reqId=${r.id} index=${e.index} />`
          : html`<${Preview} key="picture" reqId=${r.id} index=${e.index} />`)}
      </li>`)}
    </ol>
  </section>`;
}

// A clear picture (an ImageBitmap) on a canvas for REVEAL_SECONDS, then gone: the bitmap closed and
// the canvas cleared, also when the view goes away. show(bitmap) starts (or restarts) it; left is
// the seconds still to go (0: hidden). Shared by a picture's preview and each video keyframe.
function useTimedReveal() {
  const [left, setLeft] = useState(0);
  const canvas = useRef(null);
  const bitmap = useRef(null);
  function hide() {
    setLeft(0);
    if (bitmap.current) { bitmap.current.close(); bitmap.current = null; }
    if (canvas.current) { const c = canvas.current; c.getContext('2d').clearRect(0, 0, c.width, c.height); }
  }
  useEffect(() => {
    if (left <= 0) return undefined;
    const id = setTimeout(() => (left <= 1 ? hide() : setLeft(left - 1)), 1000);
    return () => clearTimeout(id);
  }, [left]);
  useEffect(() => {
    if (left > 0 && bitmap.current && canvas.current) {
      const c = canvas.current, b = bitmap.current;
      if (c.width !== b.width) { c.width = b.width; c.height = b.height; c.getContext('2d').drawImage(b, 0, 0); }
    }
  }, [left]);
  useEffect(() => () => hide(), []);
  function show(b) {
    if (bitmap.current) bitmap.current.close();
    bitmap.current = b;
    if (canvas.current) canvas.current.width = 0;
    setLeft(REVEAL_SECONDS);
  }
  return { left, canvas, hide, show };
}

// A blurred greyscale preview by default; the clear picture only after a reason, for 30 seconds.
// The clear picture is drawn on a canvas from the fetched bytes (no blob: URL, which the CSP
// forbids for images) so the refusal's message and X-Reveals-Remaining can be read.
function Preview({ reqId, index }) {
  const url = `/v1/requests/${reqId}/evidence/${index}/preview`;
  const [unavailable, setUnavailable] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState('');
  const [remaining, setRemaining] = useState(null);
  const [busy, setBusy] = useState(false);
  const { left, canvas, hide, show } = useTimedReveal();
  const ids = `rv-${reqId}-${index}`;
  function imgError() {
    fetch(url, { credentials: 'same-origin' }).then(async (res) => setUnavailable(await refusalOf(res)),
      () => setUnavailable(t('network_error')));
  }
  async function reveal(e) {
    e.preventDefault();
    if (!reason.trim()) { setError(t('reveal_need_reason')); return; }
    setBusy(true); setError('');
    try {
      const res = await fetch(`${url}?reveal=true&reason=${encodeURIComponent(reason.trim())}`, { credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) { setError(await refusalOf(res)); return; }
      const rem = res.headers.get('X-Reveals-Remaining');
      setRemaining(rem);
      show(await createImageBitmap(await res.blob()));
      setReason('');
    } catch (err) { setError(say(err)); } finally { setBusy(false); }
  }
  if (unavailable) return html`<p class="muted preview-missing">${t('preview_unavailable', { msg: unavailable })}</p>`;
  const shown = left > 0;
  return html`<div class="preview">
    <div class="frame">
      <img src=${url} alt=${t('preview_blurred', { n: index + 1 })} class=${shown ? 'hidden' : ''} onError=${imgError} />
      <canvas ref=${canvas} role="img" aria-label=${t('preview_clear', { n: index + 1 })} class=${shown ? 'clear' : 'hidden'}
        data-revealed=${shown ? 'true' : 'false'}></canvas>
    </div>
    ${shown ? html`<p class="countdown-box" role="timer" aria-live="off">
        <span>${t('revealed_for', { n: left })}</span>
        <button type="button" onClick=${hide}>${t('hide_now')}</button></p>`
      : html`<form class="reveal-form" onSubmit=${reveal} noValidate aria-label=${t('reveal') + ' ' + t('item_n', { n: index + 1 })}>
        <div class="field">
          <label for=${ids}>${t('reason')}</label>
          <input id=${ids} type="text" required aria-required="true" value=${reason} maxlength="500"
            onInput=${(ev) => setReason(ev.target.value)} aria-describedby=${`${ids}-hint`} />
        </div>
        <button type="submit" disabled=${busy || !reason.trim()}>${t('reveal')}</button>
        <p class="hint" id=${`${ids}-hint`}>${t('reveal_hint')}</p>
      </form>`}
    ${remaining !== null && html`<p class="muted">${t('reveals_remaining', { n: remaining })}</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </div>`;
}


// A video item: never played (no <video>), shown as a strip of up to six keyframes spread over its
// length, each blurred and grey like a picture's preview. The keyframes are asked for in order
// (frame=0, 1, ...), each once the one before has loaded, until the first 404 (the video has no
// more) or the sixth. Each tile has its own Reveal (one reveal is one keyframe, with the reason
// given above the strip, as for a picture) and its own 30-second countdown.
const MAX_KEYFRAMES = 6;
function KeyframeStrip({ reqId, index }) {
  const base = `/v1/requests/${reqId}/evidence/${index}/preview`;
  const [asked, setAsked] = useState(1); // tiles whose keyframe was asked for
  const [total, setTotal] = useState(null); // how many keyframes there are, once known
  const [unavailable, setUnavailable] = useState('');
  const [stopped, setStopped] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState('');
  const [remaining, setRemaining] = useState(null);
  const [busy, setBusy] = useState(false);
  const ids = `rv-${reqId}-${index}`;
  function loaded(k) {
    if (k !== asked - 1 || total !== null) return;
    if (asked < MAX_KEYFRAMES) setAsked(asked + 1); else setTotal(asked);
  }
  function failed(k) {
    fetch(`${base}?frame=${k}`, { credentials: 'same-origin', cache: 'no-store' }).then(async (res) => {
      const msg = res.ok ? `${res.status}` : await refusalOf(res);
      if (k === 0) { setUnavailable(msg); return; }
      if (res.status !== 404) setStopped(t('keyframes_stopped', { k: k + 1, msg }));
      setAsked(k); setTotal(k);
    }, () => { if (k === 0) setUnavailable(t('network_error')); else { setStopped(t('keyframes_stopped', { k: k + 1, msg: t('network_error') })); setAsked(k); setTotal(k); } });
  }
  async function reveal(k, show) {
    if (!reason.trim()) { setError(t('reveal_need_reason')); return; }
    setBusy(true); setError('');
    try {
      const res = await fetch(`${base}?frame=${k}&reveal=true&reason=${encodeURIComponent(reason.trim())}`,
        { credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) { setError(await refusalOf(res)); return; }
      setRemaining(res.headers.get('X-Reveals-Remaining'));
      show(await createImageBitmap(await res.blob()));
      setReason('');
    } catch (err) { setError(say(err)); } finally { setBusy(false); }
  }
  if (unavailable) return html`<p class="muted preview-missing">${t('preview_unavailable', { msg: unavailable })}</p>`;
  const hint = `${ids}-hint`;
  return html`<div class="preview keyframes">
    <p class="video-note">${t('video_note')}</p>
    <div class="reveal-form">
      <div class="field">
        <label for=${ids}>${t('reason')}</label>
        <input id=${ids} type="text" required aria-required="true" value=${reason} maxlength="500"
          onInput=${(ev) => setReason(ev.target.value)} aria-describedby=${hint} />
      </div>
      <p class="hint" id=${hint}>${t('reveal_keyframe_hint')}</p>
    </div>
    <ul class="kf-strip" aria-label=${t('keyframes_of_item', { n: index + 1 })} aria-busy=${total === null ? 'true' : 'false'}>
      ${Array.from({ length: asked }, (_, k) => html`<${KeyframeTile} key=${k} url=${`${base}?frame=${k}`} k=${k} total=${total}
        canReveal=${!busy && !!reason.trim()} hint=${hint} onLoad=${() => loaded(k)} onFail=${() => failed(k)}
        onReveal=${(show) => reveal(k, show)} />`)}
    </ul>
    ${total === null ? html`<p class="muted" role="status">${t('keyframes_loading')}</p>`
      : html`<p class="muted kf-count">${t('keyframes_found', { n: total })}</p>`}
    ${stopped && html`<p class="muted">${stopped}</p>`}
    ${remaining !== null && html`<p class="muted">${t('reveals_remaining', { n: remaining })}</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </div>`;
}

// One keyframe: the blurred <img> until revealed; the clear one on a canvas for 30 seconds.
function KeyframeTile({ url, k, total, canReveal, hint, onLoad, onFail, onReveal }) {
  const [ready, setReady] = useState(false);
  const { left, canvas, hide, show } = useTimedReveal();
  const names = { k: k + 1, n: total };
  const label = total === null ? t('keyframe_k', names) : t('keyframe_k_of_n', names);
  const shown = left > 0;
  return html`<li class=${'kf-tile' + (ready ? '' : ' pending') + (shown ? ' revealed' : '')} data-frame=${k}>
    <div class="frame">
      <img src=${url} alt=${t('keyframe_blurred', { label })} class=${shown ? 'hidden' : ''}
        onLoad=${() => { setReady(true); onLoad(); }} onError=${onFail} />
      <canvas ref=${canvas} role="img" aria-label=${t('keyframe_clear', { label })} class=${shown ? 'clear' : 'hidden'}
        data-revealed=${shown ? 'true' : 'false'}></canvas>
    </div>
    <p class="kf-label">${ready ? label : t('loading')}</p>
    ${ready && total !== null && (shown
      ? html`<p class="countdown-box" role="timer" aria-live="off">
          <span>${t('keyframe_clear_for', { n: left })}</span>
          <button type="button" onClick=${hide} aria-label=${t('hide_keyframe', names)}>${t('hide_now')}</button></p>`
      : html`<button type="button" disabled=${!canReveal} aria-describedby=${hint}
          aria-label=${t('reveal_keyframe', names)} onClick=${() => onReveal(show)}>${t('reveal')}</button>`)}
  </li>`;
}

function SpreadView({ id }) {
  const { data, error } = useLoad(() => get(`/v1/requests/${id}/spread`), [id]);
  return html`<section aria-labelledby="spread-h" class="panel">
    <h2 id="spread-h">${t('spread')}</h2>
    <p><a href=${`/console/requests/${id}/spread`}>${t('spread_open')}</a></p>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && html`
      <p>${t('spread_totals', data.totals)}</p>
      ${data.copies.length === 0 ? html`<p class="muted">${t('no_copies')}</p>` : html`
      <table class="cards">
        <thead><tr><th scope="col">${t('content')}</th><th scope="col">${t('chat')}</th><th scope="col">${t('uploader')}</th>
          <th scope="col">${t('signal')}</th><th scope="col">${t('distance')}</th><th scope="col">${t('state')}</th><th scope="col">${t('recorded')}</th></tr></thead>
        <tbody>${data.copies.map((c) => html`<tr>
          <td data-label=${t('content')}>${c.content_id}</td><td data-label=${t('chat')}>${c.chat_id}</td>
          <td data-label=${t('uploader')}>${c.uploader_id}</td><td data-label=${t('signal')}>${c.signal}</td>
          <td data-label=${t('distance')}>${c.distance}</td><td data-label=${t('state')}>${c.state}</td>
          <td data-label=${t('recorded')}><${Time} v=${c.recorded_at} /></td></tr>`)}</tbody>
      </table>`}
      ${data.truncated && html`<p class="muted">…</p>`}`}
  </section>`;
}

function ClaimBox({ r, session, now, onClaim }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const claim = r.claim && new Date(r.claim.expires_at).getTime() > now ? r.claim : null;
  const mine = claim && claim.key_id === session.key_id;
  async function act(method) {
    setBusy(true); setError('');
    try {
      const res = method === 'POST' ? await post(`/v1/requests/${r.id}/claim`) : await del(`/v1/requests/${r.id}/claim`);
      onClaim(res.claim);
    } catch (e) { setError(say(e)); } finally { setBusy(false); }
  }
  return html`<section aria-labelledby="claim-h" class="panel">
    <h2 id="claim-h">${t('claim')}</h2>
    <p class="claim-state"><${ClaimState} claim=${r.claim} session=${session} now=${now} /></p>
    <div class="actions">
      <button type="button" onClick=${() => act('POST')} disabled=${busy}>${t('claim_btn')}</button>
      ${mine && html`<button type="button" onClick=${() => act('DELETE')} disabled=${busy}>${t('release_btn')}</button>`}
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

// The decision's fields and body, shared by the single decision form and the queue's bulk decisions.
// Each outcome has its own grounds: an approval's (the content is illegal, or against the terms of
// service) and a rejection's.
const APPROVE_GROUNDS = ['ground_illegal', 'ground_tos'];
const REJECT_GROUNDS = ['ground_insufficient', 'ground_not_illegal', 'ground_not_found'];
export const GROUNDS = [...APPROVE_GROUNDS, ...REJECT_GROUNDS];
export const groundsFor = (approve) => (approve ? APPROVE_GROUNDS : REJECT_GROUNDS);

// The API's names of the policy grounds (the decision's `ground` field; a ground of the other
// outcome is refused by the server with a message naming it).
const GROUND_API = {
  ground_illegal: 'illegal_content', ground_tos: 'incompatible_content',
  ground_insufficient: 'insufficient_information', ground_not_illegal: 'not_illegal', ground_not_found: 'content_not_found',
};

export function decisionBody({ approve, ground, reason, dsa, category }) {
  const body = { approve, reason: reason.trim(), ground: GROUND_API[ground] };
  if (approve && dsa) body.dsa_category = dsa;
  return body;
}

// prefix: the fields' id prefix; category: shown in the ground's label; approve: the outcome
// when it is already chosen (bulk decisions: only its grounds are offered), else undefined (both
// outcomes' grounds, in two groups); groundError: a ground of the other outcome, said beside it.
export function DecisionFields({ prefix, category, approve, ground, setGround, groundError, reason, setReason, dsa, setDsa, reasonError }) {
  const option = (g) => html`<option value=${g}>${t(g, { category })}</option>`;
  const gid = `${prefix}-ground`;
  return html`<div class=${'field' + (groundError ? ' invalid' : '')}>
      <label for=${gid}>${t('policy_ground')}</label>
      <select id=${gid} value=${ground} onChange=${(e) => setGround(e.target.value)}
        aria-invalid=${groundError ? 'true' : undefined} aria-describedby=${groundError ? `${gid}-err` : undefined}>
        ${approve === undefined
          ? html`<optgroup label=${t('grounds_to_approve')}>${APPROVE_GROUNDS.map(option)}</optgroup>
            <optgroup label=${t('grounds_to_reject')}>${REJECT_GROUNDS.map(option)}</optgroup>`
          : groundsFor(approve).map(option)}
      </select>
      ${groundError && html`<p class="error" id=${`${gid}-err`}>${groundError}</p>`}
    </div>
    <div class="field">
      <label for=${`${prefix}-reason`}>${t('reason')}</label>
      <textarea id=${`${prefix}-reason`} rows="3" required aria-required="true" value=${reason}
        aria-invalid=${reasonError ? 'true' : undefined} aria-describedby=${reasonError ? `${prefix}-reason-err` : undefined}
        onInput=${(e) => setReason(e.target.value)}></textarea>
      ${reasonError && html`<p class="error" id=${`${prefix}-reason-err`}>${reasonError}</p>`}
    </div>
    <div class="field">
      <label for=${`${prefix}-dsa`}>${t('dsa_category')}</label>
      <select id=${`${prefix}-dsa`} value=${dsa} onChange=${(e) => setDsa(e.target.value)} aria-describedby=${`${prefix}-dsa-hint`}>
        <option value="">${t('dsa_default')}</option>
        ${DSA_CATEGORIES.map((c) => html`<option value=${c}>${c.replace('STATEMENT_CATEGORY_', '').replace(/_/g, ' ').toLowerCase()}</option>`)}
      </select>
      <p class="hint" id=${`${prefix}-dsa-hint`}>${t('dsa_category_hint')}</p>
    </div>`;
}

function DecisionForm({ r, onDecided }) {
  const [ground, setGround] = useState(GROUNDS[0]);
  const [reason, setReason] = useState('');
  const [dsa, setDsa] = useState('');
  const [error, setError] = useState('');
  const [reasonError, setReasonError] = useState('');
  const [groundError, setGroundError] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const approve = (e.submitter && e.submitter.value) === 'approve';
    // A ground of the other outcome is said beside the ground, before anything is sent.
    const misfit = !groundsFor(approve).includes(ground);
    setGroundError(misfit ? t(approve ? 'ground_not_to_approve' : 'ground_not_to_reject') : '');
    setReasonError(reason.trim() ? '' : t('reason_required'));
    if (misfit || !reason.trim()) {
      const first = document.getElementById(misfit ? 'dec-ground' : 'dec-reason');
      if (first) first.focus();
      return;
    }
    setError(''); setBusy(true);
    const body = decisionBody({ approve, ground, reason, dsa, category: r.category });
    try { onDecided(await post(`/v1/requests/${r.id}/decision`, body)); } catch (err) {
      if (/reason/.test(err.message) && !/dsa/.test(err.message)) setReasonError(say(err)); else setError(say(err));
    } finally { setBusy(false); }
  }
  return html`<section aria-labelledby="dec-h" class="panel decision">
    <h2 id="dec-h">${t('decision')}</h2>
    <form onSubmit=${submit} noValidate class="stack">
      <${DecisionFields} prefix="dec" category=${r.category} ground=${ground}
        setGround=${(g) => { setGround(g); setGroundError(''); }} groundError=${groundError} reason=${reason}
        setReason=${setReason} dsa=${dsa} setDsa=${setDsa} reasonError=${reasonError} />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions">
        <button type="submit" name="decision" value="approve" class="primary" disabled=${busy}>${t('approve')}</button>
        <button type="submit" name="decision" value="reject" class="danger" disabled=${busy}>${t('reject')}</button>
      </div>
    </form>
  </section>`;
}

function DecisionResult({ r }) {
  const d = r.decision;
  if (!d) return null;
  return html`<section aria-labelledby="res-h" class=${'panel result ' + (d.approved ? 'ok' : 'no')} role="status">
    <h2 id="res-h">${d.approved ? t('approved') : t('rejected')}</h2>
    <p>${d.reason}</p>
    <p class="muted">${d.automated ? t('automated') + ' · ' : ''}${d.by} · <${Time} v=${d.time_ms} />
      ${d.dsa_category ? ` · ${d.dsa_category}` : ''}</p>
    ${r.sweep && html`<p>${t('sweep_result', r.sweep)}</p>`}
  </section>`;
}

export function Timeline({ r }) {
  return html`<section aria-labelledby="tl-h" class="panel">
    <h2 id="tl-h">${t('history')}</h2>
    <ol class="timeline">
      ${r.history.map((h) => html`<li class=${'tl-' + h.status}>
        <${StatusBadge} s=${h.status} /> <${Time} v=${h.time_ms} />
        ${(h.status === 'approved' || h.status === 'rejected') && r.decision && html`<p class="tl-reason">${r.decision.reason}</p>`}
      </li>`)}
    </ol>
    ${r.removals_pending > 0 && html`<p>${t('removals_pending', { n: r.removals_pending })}</p>`}
  </section>
  ${r.removals.length > 0 && html`<section aria-labelledby="rm-h" class="panel">
    <h2 id="rm-h">${t('removals')}</h2>
    <table class="cards">
      <thead><tr><th scope="col">${t('content')}</th><th scope="col">${t('chat')}</th><th scope="col">${t('removed_at')}</th>
        <th scope="col">${t('signal')}</th><th scope="col">${t('distance')}</th></tr></thead>
      <tbody>${r.removals.map((m) => html`<tr>
        <td data-label=${t('content')}>${m.content_id}</td><td data-label=${t('chat')}>${m.chat_id}</td>
        <td data-label=${t('removed_at')}><${Time} v=${m.removed_at} /></td>
        <td data-label=${t('signal')}>${m.signal}</td><td data-label=${t('distance')}>${m.distance}</td></tr>`)}</tbody>
    </table>
  </section>`}`;
}

function Confirmation({ r }) {
  const confirmed = r.status === 'confirmed' || r.confirmed_ms;
  return html`<section aria-labelledby="conf-h" class="panel">
    <h2 id="conf-h">${t('confirmation')}</h2>
    ${confirmed ? html`<p class="muted"><${Time} v=${r.confirmed_ms} /></p>
      <p class="actions">
        <a class="button" href=${`/v1/requests/${r.id}/confirmation?format=csv`} download>${t('download_csv')}</a>
        <a class="button" href=${`/v1/requests/${r.id}/confirmation?format=json`} download>${t('download_json')}</a>
      </p>` : html`<p class="muted">${t('not_confirmed_yet')}</p>`}
  </section>`;
}

function RequesterView({ r }) {
  return html`<div class="columns">
    <div>
      <${Timeline} r=${r} />
      <${Confirmation} r=${r} />
    </div>
    <div>
      <${Summary} r=${r} now=${Date.now()} />
      <${Notice} n=${r.notice} />
      <${EvidenceList} r=${r} canPreview=${false} />
    </div>
  </div>`;
}

function ReviewerView({ r, session, onChange }) {
  const now = useNow();
  const reviewer = session.role === 'reviewer';
  return html`<div class="columns">
    <div>
      <${Summary} r=${r} now=${now} />
      <${Notice} n=${r.notice} />
      <${EvidenceList} r=${r} canPreview=${true} />
      <${SpreadView} id=${r.id} />
    </div>
    <div>
      ${reviewer && r.status === 'pending_review' && html`<${ClaimBox} r=${r} session=${session} now=${now}
        onClaim=${(claim) => onChange({ ...r, claim })} />`}
      ${reviewer && r.status === 'pending_review' && html`<${DecisionForm} r=${r} onDecided=${onChange} />`}
      <${DecisionResult} r=${r} />
      <${Timeline} r=${r} />
      ${(r.status === 'confirmed' || r.confirmed_ms) && html`<${Confirmation} r=${r} />`}
    </div>
  </div>`;
}
