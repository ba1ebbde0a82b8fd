import { html } from 'htm/preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { t, getLang } from '../i18n.js';
import { problemText } from '../apitext.js';
import { get, post, del, upload, say } from '../api.js';
import { Time, ErrorText, Loading, useLoad } from '../ui.js';

// ---------- Banks ----------
// Entry counts by state come with the list (the live index): {enabled, disabled}.
async function loadBanks() {
  const { banks } = await get('/v1/banks');
  return banks;
}
const bankPath = (name) => `/console/banks/${encodeURIComponent(name)}`;

function CreateBank({ onDone }) {
  const [f, setF] = useState({ name: '', category: 'ncii', pdq_threshold: 31, action: 'block' });
  const [error, setError] = useState('');
  async function submit(e) {
    e.preventDefault(); setError('');
    try { await post('/v1/banks', { ...f, pdq_threshold: Number(f.pdq_threshold) }); setF({ ...f, name: '' }); onDone(); } catch (err) { setError(say(err)); }
  }
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  return html`<form onSubmit=${submit} class="panel inline-form" aria-labelledby="cb-h">
    <h2 id="cb-h">${t('create_bank')}</h2>
    <div class="field"><label for="cb-name">${t('name')}</label><input id="cb-name" required value=${f.name} onInput=${set('name')} /></div>
    <div class="field"><label for="cb-cat">${t('category')}</label><input id="cb-cat" required value=${f.category} onInput=${set('category')} /></div>
    <div class="field small"><label for="cb-thr">${t('threshold')}</label><input id="cb-thr" type="number" min="0" max="64" value=${f.pdq_threshold} onInput=${set('pdq_threshold')} /></div>
    <div class="field"><label for="cb-act">${t('action_kind')}</label><select id="cb-act" value=${f.action} onChange=${set('action')}>
      <option value="block">block</option><option value="sweep">sweep</option><option value="review">review</option></select></div>
    <div><button type="submit">${t('create')}</button></div>
    ${error && html`<p class="error full" role="alert">${error}</p>`}
  </form>`;
}

function ImportForm({ banks, onDone }) {
  const [bank, setBank] = useState(banks[0] ? banks[0].name : '');
  const [format, setFormat] = useState('text');
  const [signal, setSignal] = useState('pdq');
  const [source, setSource] = useState('');
  const [file, setFile] = useState(null);
  const [progress, setProgress] = useState(null);
  const [result, setResult] = useState(null);
  const [lines, setLines] = useState([]);
  const [error, setError] = useState('');
  async function submit(e) {
    e.preventDefault();
    setResult(null); setLines([]); setError('');
    if (!file) { setError(t('choose_file')); return; }
    const q = new URLSearchParams({ format });
    if (format === 'text') q.set('signal', signal);
    if (source.trim()) q.set('source', source.trim());
    setProgress(0);
    try {
      const body = await file.arrayBuffer();
      const r = await upload('POST', `/v1/banks/${encodeURIComponent(bank)}/import?${q}`, body,
        format === 'jsonl' ? 'application/x-ndjson' : 'text/plain', setProgress);
      setResult(r); onDone();
    } catch (err) {
      const per = String(err.message).split(/;\s*(?=line \d+)/).filter((s) => /^line \d+/.test(s));
      if (per.length) setLines(per.map((s) => { const m = s.match(/^line (\d+):?\s*(.*)$/); return { line: m[1], msg: problemText(m[2], getLang()) }; }));
      else setError(say(err));
    } finally { setProgress(null); }
  }
  return html`<form onSubmit=${submit} class="panel stack" aria-labelledby="imp-h">
    <h2 id="imp-h">${t('import')}</h2>
    <p class="muted">${t('import_intro')}</p>
    <div class="inline-form">
      <div class="field"><label for="imp-bank">${t('bank')}</label>
        <select id="imp-bank" value=${bank} onChange=${(e) => setBank(e.target.value)}>
          ${banks.map((b) => html`<option value=${b.name}>${b.name}</option>`)}</select></div>
      <div class="field"><label for="imp-format">${t('format')}</label>
        <select id="imp-format" value=${format} onChange=${(e) => setFormat(e.target.value)}>
          <option value="text">text</option><option value="jsonl">jsonl</option><option value="vpdq">vpdq</option></select></div>
      ${format === 'text' && html`<div class="field"><label for="imp-signal">${t('signal_kind')}</label>
        <select id="imp-signal" value=${signal} onChange=${(e) => setSignal(e.target.value)}>
          <option value="pdq">pdq</option><option value="md5">md5</option><option value="sha256">sha256</option></select></div>`}
      <div class="field"><label for="imp-source">${t('source_label')}</label>
        <input id="imp-source" value=${source} onInput=${(e) => setSource(e.target.value)} /></div>
    </div>
    <div class="field"><label for="imp-file">${t('hash_file')}</label>
      <input id="imp-file" type="file" accept=".txt,.csv,.jsonl,text/plain" onChange=${(e) => setFile(e.target.files[0] || null)} /></div>
    <div><button type="submit" class="primary" disabled=${progress !== null || !bank}>${t('import')}</button></div>
    ${progress !== null && html`<p><label for="imp-progress">${t('uploading', { p: progress })}</label>
      <progress id="imp-progress" max="100" value=${progress}>${progress}%</progress></p>`}
    ${result && html`<p class="ok" role="status">${t('imported', { n: result.imported, e: result.existing })}
      ${result.first_entry_id ? ` (#${result.first_entry_id}–#${result.last_entry_id})` : ''}</p>`}
    ${lines.length > 0 && html`<div role="alert" class="import-errors">
      <h3>${t('import_errors')}</h3>
      <ul>${lines.map((l) => html`<li><strong>line ${l.line}</strong>: ${l.msg}</li>`)}</ul></div>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

export function Banks() {
  const { data, error, reload } = useLoad(loadBanks, []);
  return html`<section aria-labelledby="banks-h">
    <h1 id="banks-h">${t('banks')}</h1>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && (data.length === 0 ? html`<p>${t('no_banks')}</p>` : html`<table class="cards">
      <thead><tr><th scope="col">${t('name')}</th><th scope="col">${t('category')}</th><th scope="col">${t('threshold')}</th>
        <th scope="col">${t('action_kind')}</th><th scope="col">${t('entries')}</th><th scope="col">${t('export')}</th></tr></thead>
      <tbody>${data.map((b) => html`<tr key=${b.bank_id}>
        <td data-label=${t('name')}><a href=${bankPath(b.name)}>${b.name}</a></td><td data-label=${t('category')}>${b.category}</td>
        <td data-label=${t('threshold')}>${b.pdq_threshold}</td><td data-label=${t('action_kind')}>${b.action}</td>
        <td data-label=${t('entries')} class="bank-counts">${b.entries
          ? `${t('enabled')}: ${b.entries.enabled}, ${t('disabled')}: ${b.entries.disabled}` : '—'}</td>
        <td data-label=${t('export')}><span><a href=${`/v1/banks/${encodeURIComponent(b.name)}/export?format=jsonl`} download=${b.name + '.jsonl'}>jsonl</a>
          ${' · '}<a href=${`/v1/banks/${encodeURIComponent(b.name)}/export?format=text`} download=${b.name + '.txt'}>text</a></span></td>
      </tr>`)}</tbody></table>`)}
    ${data && data.length > 0 && html`<${ImportForm} banks=${data} onDone=${reload} />`}
    <${CreateBank} onDone=${reload} />
  </section>`;
}

// ---------- A bank's entries ----------
export const ENTRY_PAGE_SIZE = 50;
const HASHES = [['pdq', 'hk_pdq'], ['md5', 'hk_md5'], ['sha256', 'hk_sha256']];

// A hash shown shortened (CSS ellipsis): the full value is the element's text (selected whole
// with one click, copied whole) and its title.
function Hash({ kind, v }) {
  return html`<li><span class="hash-kind">${t(kind)}</span> <code class="hash-short" title=${v}>${v}</code></li>`;
}

function EntryRow({ e, onChange }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const errId = `entry-${e.entry_id}-error`;
  async function toggle() {
    setBusy(true); setError('');
    try {
      const r = await post(`/v1/entries/${e.entry_id}/${e.enabled ? 'disable' : 'enable'}`, {});
      onChange({ ...e, enabled: r && typeof r.enabled === 'boolean' ? r.enabled : !e.enabled });
    } catch (err) { setError(say(err)); } finally { setBusy(false); }
  }
  const hashes = HASHES.filter(([k]) => e[k]);
  return html`<tr>
    <td data-label=${t('id')}>${e.entry_id}</td>
    <td data-label=${t('state')}><span class=${'badge ' + (e.enabled ? 'st-enabled' : 'st-disabled')}>${t(e.enabled ? 'enabled' : 'disabled')}</span></td>
    <td data-label=${t('hashes')}>${hashes.length ? html`<ul class="hashes">${hashes.map(([k, label]) => html`<${Hash} kind=${label} v=${e[k]} />`)}</ul>` : '—'}</td>
    <td data-label=${t('source')} class="break">${e.source || '—'}${e.request_id ? html` <span class="muted">(${e.request_id})</span>` : ''}</td>
    <td data-label=${t('created')}><${Time} v=${e.created_at} /></td>
    <td data-label=${t('actions')}>
      <button type="button" class=${e.enabled ? '' : 'primary'} disabled=${busy} onClick=${toggle}
        aria-label=${t(e.enabled ? 'disable_entry_n' : 'enable_entry_n', { id: e.entry_id })}
        aria-describedby=${error ? errId : undefined}>${t(e.enabled ? 'disable' : 'enable')}</button>
      ${error && html`<p class="error" role="alert" id=${errId}>${error}</p>`}
    </td>
  </tr>`;
}

export function BankEntries({ name }) {
  const [prefix, setPrefix] = useState('');
  const [state, setState] = useState('');
  const [query, setQuery] = useState({ prefix: '', state: '', after: 0, page: 1 });
  const [result, setResult] = useState(null); // {entries, next}
  const [error, setError] = useState(null);
  const [prefixError, setPrefixError] = useState('');
  const [loading, setLoading] = useState(true);
  const [note, setNote] = useState('');
  useEffect(() => {
    let live = true;
    setLoading(true);
    const q = new URLSearchParams({ limit: String(ENTRY_PAGE_SIZE) });
    if (query.prefix) q.set('prefix', query.prefix);
    if (query.state) q.set('state', query.state);
    if (query.after) q.set('after_id', String(query.after));
    get(`/v1/banks/${encodeURIComponent(name)}/entries?${q}`).then((r) => {
      if (!live) return;
      setResult({ entries: r.entries, next: r.next_after_id }); setError(null); setPrefixError('');
    }, (err) => {
      if (!live) return;
      setResult(null);
      if (err.status === 400 && /\bprefix\b/.test(err.message)) { setPrefixError(say(err)); setError(null); } else { setError(err); setPrefixError(''); }
    }).finally(() => live && setLoading(false));
    return () => { live = false; };
  }, [name, query]);
  function search(e) {
    e.preventDefault(); setNote('');
    setQuery({ prefix: prefix.trim(), state, after: 0, page: 1 });
  }
  function onChange(n) {
    setResult((r) => ({ ...r, entries: r.entries.map((x) => (x.entry_id === n.entry_id ? n : x)) }));
    setNote(t(n.enabled ? 'entry_enabled' : 'entry_disabled', { id: n.entry_id }));
  }
  const entries = result ? result.entries : [];
  return html`<section aria-labelledby="be-h">
    <p class="back"><a href="/console/banks">${t('back_to_banks')}</a></p>
    <h1 id="be-h">${t('bank_entries_of', { name })}</h1>
    <form class="panel inline-form" role="search" aria-label=${t('search_entries')} onSubmit=${search}>
      <div class=${'field grow' + (prefixError ? ' invalid' : '')}><label for="be-prefix">${t('hash_prefix')}</label>
        <input id="be-prefix" type="text" value=${prefix} maxlength="64" autocomplete="off" spellcheck="false"
          aria-invalid=${prefixError ? 'true' : undefined}
          aria-describedby=${prefixError ? 'be-prefix-hint be-prefix-error' : 'be-prefix-hint'}
          onInput=${(e) => setPrefix(e.target.value)} />
        <p class="hint" id="be-prefix-hint">${t('hash_prefix_hint')}</p>
        ${prefixError && html`<p class="error" role="alert" id="be-prefix-error">${prefixError}</p>`}
      </div>
      <div class="field"><label for="be-state">${t('state')}</label>
        <select id="be-state" value=${state} onChange=${(e) => setState(e.target.value)}>
          <option value="">${t('all')}</option><option value="enabled">${t('enabled')}</option><option value="disabled">${t('disabled')}</option>
        </select></div>
      <div><button type="submit" class="primary">${t('search')}</button></div>
    </form>
    <${ErrorText} error=${error} />
    ${loading && html`<${Loading} />`}
    <p class="sr-only" role="status">${note}</p>
    ${result && !loading && html`<p class="muted page-info">${t('entries_page', { p: query.page, n: entries.length })}</p>`}
    ${result && (entries.length === 0 ? html`<p>${t('no_entries')}</p>` : html`<table class="cards entries">
      <caption class="sr-only">${t('bank_entries_of', { name })}</caption>
      <thead><tr><th scope="col">${t('id')}</th><th scope="col">${t('state')}</th><th scope="col">${t('hashes')}</th>
        <th scope="col">${t('source')}</th><th scope="col">${t('created')}</th><th scope="col">${t('actions')}</th></tr></thead>
      <tbody>${entries.map((e) => html`<${EntryRow} key=${e.entry_id} e=${e} onChange=${onChange} />`)}</tbody>
    </table>`)}
    ${result && (query.after > 0 || result.next !== null) && html`<p class="actions">
      ${query.after > 0 && html`<button type="button" disabled=${loading} onClick=${() => setQuery({ ...query, after: 0, page: 1 })}>${t('first_page')}</button>`}
      ${result.next !== null && result.next !== undefined && html`<button type="button" disabled=${loading}
        onClick=${() => setQuery({ ...query, after: result.next, page: query.page + 1 })}>${t('next_page')}</button>`}
    </p>`}
  </section>`;
}

// ---------- Keys ----------
// One key's row: "Revoke" opens a confirmation step in the row (not window.confirm): the question,
// "Revoke key" (danger) and "Cancel"; the key's own holder (this session) is not offered it.
function KeyRow({ k, self, onRevoked }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const question = useRef(null);
  const revokeBtn = useRef(null);
  useLayoutEffect(() => { if (confirming && question.current) question.current.focus(); }, [confirming]);
  async function revoke() {
    setBusy(true); setError('');
    try { await del(`/v1/keys/${encodeURIComponent(k.key_id)}`); setConfirming(false); onRevoked(k); } catch (err) { setError(say(err)); } finally { setBusy(false); }
  }
  function cancel() { setConfirming(false); setError(''); setTimeout(() => revokeBtn.current && revokeBtn.current.focus(), 0); }
  const qid = `rk-q-${k.key_id}`;
  return html`<tr class=${k.revoked ? 'revoked' : ''}>
    <td data-label=${t('key_id')}>${k.key_id}</td>
    <td data-label=${t('name')} class="break"><span class="cell-line">${k.name}${self ? html` <span class="badge">${t('your_key')}</span>` : ''}</span></td>
    <td data-label=${t('role')}>${t('role_' + k.role)}</td>
    <td data-label=${t('created')}><${Time} v=${k.created_at} /></td>
    <td data-label=${t('state')}><span class=${'badge ' + (k.revoked ? 'st-revoked' : 'st-active')}>${t(k.revoked ? 'key_revoked' : 'key_active')}</span></td>
    <td data-label=${t('actions')}>
      ${!k.revoked && !self && !confirming && html`<button type="button" class="danger" ref=${revokeBtn}
        aria-label=${t('revoke_key_n', { id: k.key_id, name: k.name })} onClick=${() => setConfirming(true)}>${t('revoke')}</button>`}
      ${confirming && html`<div class="confirm" role="group" aria-labelledby=${qid}>
        <p id=${qid} tabindex="-1" ref=${question}>${t('confirm_revoke', { id: k.key_id, name: k.name })}</p>
        <p class="actions">
          <button type="button" class="danger" disabled=${busy} onClick=${revoke}>${t('confirm_revoke_yes')}</button>
          <button type="button" disabled=${busy} onClick=${cancel}>${t('cancel')}</button>
        </p></div>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${(k.revoked || self) && !confirming && html`<span class="muted">—</span>`}
    </td>
  </tr>`;
}

export function Keys({ session }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('requester');
  const [created, setCreated] = useState(null);
  const [error, setError] = useState('');
  const [revokedMsg, setRevokedMsg] = useState('');
  const list = useLoad(() => get('/v1/keys'), []);
  const [keys, setKeys] = useState(null);
  useEffect(() => { if (list.data) setKeys(list.data.keys); }, [list.data]);
  async function create(e) {
    e.preventDefault(); setError(''); setCreated(null);
    try { setCreated(await post('/v1/keys', { name: name.trim(), role })); setName(''); list.reload(); } catch (err) { setError(say(err)); }
  }
  function onRevoked(k) {
    setKeys((ks) => ks.map((x) => (x.key_id === k.key_id ? { ...x, revoked: true } : x)));
    setRevokedMsg(t('revoked', { id: k.key_id, name: k.name }));
  }
  const selfId = session && session.key_id;
  return html`<section aria-labelledby="keys-h">
    <h1 id="keys-h">${t('keys')}</h1>
    <form onSubmit=${create} class="panel inline-form" aria-labelledby="ck-h">
      <h2 id="ck-h">${t('create_key')}</h2>
      <div class="field"><label for="ck-name">${t('name')}</label><input id="ck-name" required maxlength="100" value=${name} onInput=${(e) => setName(e.target.value)} /></div>
      <div class="field"><label for="ck-role">${t('role')}</label><select id="ck-role" value=${role} onChange=${(e) => setRole(e.target.value)}>
        ${['requester', 'reviewer', 'admin', 'platform'].map((r) => html`<option value=${r}>${t('role_' + r)}</option>`)}</select></div>
      <div><button type="submit" class="primary">${t('create')}</button></div>
      ${error && html`<p class="error full" role="alert">${error}</p>`}
      ${created && html`<div class="full new-key" role="status">
        <label for="ck-key">${t('key_once')}</label>
        <input id="ck-key" readonly value=${created.key} onFocus=${(e) => e.target.select()} />
        <p class="muted">${t('key_id')} ${created.key_id} · ${created.name} · ${t('role_' + created.role)}</p></div>`}
    </form>
    <h2 id="kl-h">${t('api_keys')}</h2>
    <${ErrorText} error=${list.error} />
    ${!keys && !list.error && html`<${Loading} />`}
    <p class="ok" role="status">${revokedMsg}</p>
    ${keys && (keys.length === 0 ? html`<p>${t('none')}</p>` : html`<table class="cards keys" aria-labelledby="kl-h">
      <thead><tr><th scope="col">${t('key_id')}</th><th scope="col">${t('name')}</th><th scope="col">${t('role')}</th>
        <th scope="col">${t('created')}</th><th scope="col">${t('state')}</th><th scope="col">${t('actions')}</th></tr></thead>
      <tbody>${keys.map((k) => html`<${KeyRow} key=${k.key_id} k=${k} self=${k.key_id === selfId} onRevoked=${onRevoked} />`)}</tbody>
    </table>`)}
  </section>`;
}

// ---------- Requesters ----------
const SOURCES = ['notice', 'victim', 'hotline', 'trusted_flagger', 'authority_order', 'law_enforcement'];
export function Requesters() {
  const { data, error, reload } = useLoad(() => get('/v1/requesters?limit=1000'), []);
  const [f, setF] = useState({ key_id: '', source_type: 'notice', trusted: false, deadline_hours: 0, member_state: '' });
  const [msg, setMsg] = useState('');
  const [err, setErr] = useState('');
  async function save(e) {
    e.preventDefault(); setMsg(''); setErr('');
    try {
      const body = { source_type: f.source_type, trusted: f.trusted, deadline_hours: Number(f.deadline_hours) };
      if (f.member_state) body.member_state = f.member_state.toUpperCase();
      await post(`/v1/requesters/${encodeURIComponent(f.key_id)}`, body); setMsg(t('saved')); reload();
    } catch (x) { setErr(x.message); }
  }
  const set = (k) => (e) => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  return html`<section aria-labelledby="rq-h">
    <h1 id="rq-h">${t('requesters')}</h1>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && (data.requesters.length === 0 ? html`<p>${t('none')}</p>` : html`<table class="cards">
      <thead><tr><th scope="col">${t('key_id')}</th><th scope="col">${t('name')}</th><th scope="col">${t('source_type')}</th>
        <th scope="col">${t('trusted')}</th><th scope="col">${t('deadline_hours')}</th><th scope="col">${t('member_state')}</th></tr></thead>
      <tbody>${data.requesters.map((r) => html`<tr key=${r.key_id}>
        <td data-label=${t('key_id')}>${r.key_id}</td><td data-label=${t('name')}>${r.name}</td>
        <td data-label=${t('source_type')}>${r.source_type}</td><td data-label=${t('trusted')}>${r.trusted ? t('yes') : t('no')}</td>
        <td data-label=${t('deadline_hours')}>${r.deadline_hours}</td><td data-label=${t('member_state')}>${r.member_state || '—'}</td></tr>`)}</tbody>
    </table>`)}
    <form onSubmit=${save} class="panel inline-form" aria-labelledby="ep-h">
      <h2 id="ep-h">${t('edit_profile')}</h2>
      <div class="field small"><label for="ep-id">${t('key_id')}</label><input id="ep-id" type="number" min="1" required value=${f.key_id} onInput=${set('key_id')} /></div>
      <div class="field"><label for="ep-src">${t('source_type')}</label><select id="ep-src" value=${f.source_type} onChange=${set('source_type')}>
        ${SOURCES.map((s) => html`<option value=${s}>${s}</option>`)}</select></div>
      <div class="check"><input type="checkbox" id="ep-trusted" checked=${f.trusted} onChange=${set('trusted')} /><label for="ep-trusted">${t('trusted')}</label></div>
      <div class="field small"><label for="ep-dl">${t('deadline_hours')}</label><input id="ep-dl" type="number" min="0" max="8760" value=${f.deadline_hours} onInput=${set('deadline_hours')} /></div>
      <div class="field small"><label for="ep-ms">${t('member_state')}</label><input id="ep-ms" maxlength="2" value=${f.member_state} onInput=${set('member_state')} /></div>
      <div><button type="submit" disabled=${!f.key_id}>${t('save')}</button></div>
      ${msg && html`<p class="ok full" role="status">${msg}</p>`}
      ${err && html`<p class="error full" role="alert">${err}</p>`}
    </form>
  </section>`;
}

// ---------- Mail ----------
export function Mail() {
  const [status, setStatus] = useState('quarantined');
  const { data, error } = useLoad(() => get(`/v1/mail/messages?limit=500${status ? `&status=${status}` : ''}`), [status]);
  return html`<section aria-labelledby="mail-h">
    <div class="title-row">
      <h1 id="mail-h">${t('mail')}</h1>
      <div class="field inline"><label for="mail-status">${t('filter_status')}</label>
        <select id="mail-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
          ${['quarantined', 'open', 'closed', 'refused', 'unreadable', 'too_large'].map((s) => html`<option value=${s}>${s}</option>`)}
          <option value="">${t('all')}</option></select></div>
    </div>
    <p class="muted">${t('mail_intro')}</p>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && (data.messages.length === 0 ? html`<p>${t('none')}</p>` : html`<table class="cards">
      <thead><tr><th scope="col">${t('id')}</th><th scope="col">${t('status')}</th><th scope="col">${t('received')}</th>
        <th scope="col">${t('from')}</th><th scope="col">${t('subject')}</th><th scope="col">${t('reason')}</th><th scope="col">${t('request')}</th></tr></thead>
      <tbody>${data.messages.map((m) => html`<tr key=${m.id}>
        <td data-label=${t('id')}>${m.id}</td><td data-label=${t('status')}>${m.status}</td>
        <td data-label=${t('received')}><${Time} v=${m.received_ms} /></td><td data-label=${t('from')} class="break">${m.from || '—'}</td>
        <td data-label=${t('subject')} class="break">${m.subject || '—'}</td><td data-label=${t('reason')}>${m.reason || '—'}</td>
        <td data-label=${t('request')}>${m.request_id ? html`<a href=${'/console/requests/' + m.request_id}>#${m.request_id}</a>` : '—'}</td></tr>`)}</tbody>
    </table>`)}
  </section>`;
}

// ---------- Audit log ----------
export function Audit() {
  const { data, error, reload, loading } = useLoad(() => get('/v1/audit/verify'), []);
  return html`<section aria-labelledby="audit-h">
    <div class="title-row"><h1 id="audit-h">${t('audit_log')}</h1>
      <button type="button" onClick=${reload} disabled=${loading}>${t('verify_again')}</button></div>
    <p class="muted">${t('audit_intro')}</p>
    <${ErrorText} error=${error} />
    ${loading && html`<${Loading} />`}
    ${data && !loading && (data.ok
      ? html`<p class="panel ok audit-result" role="status">✓ ${t('chain_ok', { n: data.records })}</p>`
      : html`<div class="panel no audit-result" role="alert"><p>✗ ${t('chain_bad')}</p><pre>${data.error}</pre></div>`)}
  </section>`;
}

// ---------- Transparency report ----------
function BarChart({ title, rows, unit = '' }) {
  if (!rows.length) return html`<figure class="chart"><figcaption>${title}</figcaption><p class="muted">${t('none')}</p></figure>`;
  const max = Math.max(1e-9, ...rows.map((r) => r[1]));
  const labelW = Math.min(300, 16 + 7.5 * Math.max(...rows.map((r) => String(r[0]).length)));
  const h = 26, w = labelW + 380;
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <svg viewBox=${`0 0 ${w} ${rows.length * h + 4}`} role="img" aria-label=${t('chart_title', { title })} preserveAspectRatio="xMinYMin meet">
      ${rows.map(([label, v], i) => {
        const bw = Math.max(1, ((w - labelW - 90) * v) / max);
        return html`<g transform=${`translate(0 ${i * h + 2})`}>
          <text x=${labelW - 6} y="17" text-anchor="end" class="c-label">${label}</text>
          <rect x=${labelW} y="4" width=${bw} height="18" rx="2" class="c-bar"></rect>
          <text x=${labelW + bw + 6} y="17" class="c-value">${fmtNum(v)}${unit}</text>
        </g>`;
      })}
    </svg>
  </figure>`;
}
const fmtNum = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
const day = (ms) => { const d = new Date(ms); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; };

export function Report() {
  const now = Date.now();
  const [from, setFrom] = useState(day(now - 30 * 86400e3));
  const [to, setTo] = useState(day(now + 86400e3));
  const [period, setPeriod] = useState({ from, to });
  const ms = (d) => new Date(d + 'T00:00:00').getTime();
  const q = `from_ms=${ms(period.from)}&to_ms=${ms(period.to)}`;
  const { data, error } = useLoad(() => get(`/v1/reports/transparency?${q}`), [q]);
  const longest = data ? Math.max(data.removals.time_to_removal_ms.p95, data.removals.time_to_decision_ms.p95) : 0;
  const unit = longest >= 3600e3 ? { name: 'h', ms: 3600e3 } : longest >= 60e3 ? { name: 'min', ms: 60e3 } : { name: 's', ms: 1e3 };
  return html`<section aria-labelledby="rep-h">
    <h1 id="rep-h">${t('transparency_report')}</h1>
    <form class="panel inline-form" onSubmit=${(e) => { e.preventDefault(); setPeriod({ from, to }); }} aria-label=${t('transparency_report')}>
      <div class="field"><label for="rep-from">${t('period_from')}</label><input id="rep-from" type="date" value=${from} onInput=${(e) => setFrom(e.target.value)} /></div>
      <div class="field"><label for="rep-to">${t('period_to')}</label><input id="rep-to" type="date" value=${to} onInput=${(e) => setTo(e.target.value)} /></div>
      <div><button type="submit">${t('show')}</button></div>
      <p class="actions full">
        <a class="button" href=${`/v1/reports/transparency?${q}&format=csv`} download="transparency.csv">${t('download_report_csv')}</a>
        <a class="button" href=${`/v1/reports/transparency?${q}&format=json`} download="transparency.json">${t('download_report_json')}</a>
      </p>
    </form>
    <${ErrorText} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && html`<div class="report">
      <ul class="buckets">
        <li><span class="num">${data.requests.total}</span> ${t('total_requests')}</li>
        <li><span class="num">${data.removals.total}</span> ${t('total_removals')}</li>
      </ul>
      <p>${t('appeals_stats', { total: data.appeals.total, upheld: data.appeals.upheld_reversed, rejected: data.appeals.rejected, open: data.appeals.open })}</p>
      <${BarChart} title=${`${t('time_to_removal')} / ${t('time_to_decision')} (${unit.name})`} unit=${' ' + unit.name} rows=${[
        [`${t('time_to_removal')} · ${t('median')}`, data.removals.time_to_removal_ms.median / unit.ms],
        [`${t('time_to_removal')} · p95`, data.removals.time_to_removal_ms.p95 / unit.ms],
        [`${t('time_to_decision')} · ${t('median')}`, data.removals.time_to_decision_ms.median / unit.ms],
        [`${t('time_to_decision')} · p95`, data.removals.time_to_decision_ms.p95 / unit.ms],
      ]} />
      <${BarChart} title=${t('by_category')} rows=${Object.entries(data.requests.by_category)} />
      <${BarChart} title=${t('by_status')} rows=${Object.entries(data.requests.by_status)} />
    </div>`}
  </section>`;
}

// ---------- Health ----------
const METRICS = ['takedown_review_queue_pending', 'takedown_review_queue_oldest_deadline_seconds', 'takedown_outbox_pending',
  'takedown_outbox_oldest_pending_seconds', 'takedown_evidence_hash_backlog', 'takedown_content_items', 'takedown_bank_entries',
  'takedown_console_sessions', 'takedown_sandbox_workers', 'takedown_store_write_queue_depth', 'takedown_uploads_blocked_total'];
export function Health() {
  const { data, error, reload } = useLoad(() => get('/metrics', { headers: { Accept: 'text/plain' } }), []);
  const values = {};
  if (data) {
    for (const line of String(data).split('\n')) {
      const m = line.match(/^([a-z_]+)(\{[^}]*\})?\s+([-0-9.eE+NaInf]+)$/);
      if (m && METRICS.includes(m[1]) && !m[2]) values[m[1]] = Number(m[3]);
    }
  }
  return html`<section aria-labelledby="health-h">
    <div class="title-row"><h1 id="health-h">${t('health')}</h1><button type="button" onClick=${reload}>${t('refresh')}</button></div>
    <p class="muted">${t('health_intro')}</p>
    <${ErrorText} error=${error} />
    ${data && html`<table class="cards"><thead><tr><th scope="col">${t('metric')}</th><th scope="col">${t('value')}</th></tr></thead>
      <tbody>${METRICS.filter((k) => k in values).map((k) => html`<tr><td data-label=${t('metric')}><code>${k}</code></td>
        <td data-label=${t('value')}>${fmtNum(values[k])}</td></tr>`)}</tbody></table>`}
  </section>`;
}
