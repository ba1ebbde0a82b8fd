// Small shared pieces: dates, countdowns, errors, definitions.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { t, locale } from './i18n.js';
import { say } from './api.js';

const fmtCache = new Map();
function dateFmt() {
  const l = locale();
  if (!fmtCache.has(l)) fmtCache.set(l, new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeStyle: 'medium' }));
  return fmtCache.get(l);
}
export function isoOf(v) {
  if (v === undefined || v === null || v === '') return '';
  const d = typeof v === 'number' ? new Date(v) : new Date(v);
  return isNaN(d) ? '' : d.toISOString().replace(/\.000Z$/, 'Z');
}
export function fmtDate(v) {
  const iso = isoOf(v);
  return iso ? dateFmt().format(new Date(iso)) : '';
}
// <time> in the viewer's zone, the UTC ISO string in title.
export function Time({ v }) {
  const iso = isoOf(v);
  if (!iso) return html`<span>—</span>`;
  return html`<time datetime=${iso} title=${iso}>${fmtDate(iso)}</time>`;
}

let tickers = new Set();
let timer = null;
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const fn = () => setNow(Date.now());
    tickers.add(fn);
    if (!timer) timer = setInterval(() => tickers.forEach((f) => f()), ms);
    return () => { tickers.delete(fn); if (!tickers.size) { clearInterval(timer); timer = null; } };
  }, []);
  return now;
}

export function duration(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const p2 = (n) => String(n).padStart(2, '0');
  return (d ? `${d}${t('days_short')} ` : '') + `${p2(h)}:${p2(m)}:${p2(sec)}`;
}

// A deadline with a live countdown; class soon (< 6 h) or breached.
export function Deadline({ v, now }) {
  const iso = isoOf(v);
  if (!iso) return html`<span>—</span>`;
  const left = new Date(iso).getTime() - now;
  const cls = left < 0 ? 'deadline breached' : left < 6 * 3600e3 ? 'deadline soon' : 'deadline';
  return html`<span class=${cls}>
    <time datetime=${iso} title=${iso}>${fmtDate(iso)}</time>
    <span class="countdown">${left < 0 ? t('breached', { t: duration(left) }) : t('left', { t: duration(left) })}</span>
  </span>`;
}

export function ErrorText({ error, id }) {
  if (!error) return null;
  const msg = say(error);
  return html`<p class="error" role="alert" id=${id}>${msg}</p>`;
}

export function Loading() { return html`<p class="muted" role="status">${t('loading')}</p>`; }

export function StatusBadge({ s }) {
  return html`<span class=${'badge st-' + s}>${t('st_' + s)}</span>`;
}

// Load JSON once per key; {data, error, reload}.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then((data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }));
    return () => { live = false; };
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

export function usePoll(fn, ms) {
  useEffect(() => {
    const id = setInterval(fn, ms);
    return () => clearInterval(id);
  }, [fn, ms]);
}

let idSeq = 0;
export function uid(prefix = 'f') { idSeq += 1; return `${prefix}-${idSeq}`; }
