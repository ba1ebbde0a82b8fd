// The API client: same-origin fetches with the session cookie; every change carries the
// session's CSRF token; a 401 anywhere sends the user back to the sign-in screen.
import { getLang } from './i18n.js';
import { apiMessage, splitProblems } from './apitext.js';

let csrf = '';
let onUnauthenticated = () => {};

export function setCsrf(token) { csrf = token || ''; }
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function errorOf(res) {
  let code = 'http_' + res.status, message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && body.error) { code = body.error.code || code; message = body.error.message || message; }
  } catch { /* not JSON */ }
  return new ApiError(res.status, code, message);
}

// request(method, path, {json, body, headers, raw}) -> parsed JSON (or the Response with raw)
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  let body = opts.body;
  if (opts.json !== undefined) { body = JSON.stringify(opts.json); headers['Content-Type'] = 'application/json'; }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && !opts.noAuthRedirect) onUnauthenticated(say(err));
    throw err;
  }
  if (opts.raw) return res;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, json, opts = {}) => request('POST', path, { ...opts, json });
export const del = (path, opts) => request('DELETE', path, opts);

export function signIn(key) {
  return request('POST', '/console/session', { headers: { Authorization: `Bearer ${key}` }, noAuthRedirect: true });
}

// An upload with progress (fetch has none for request bodies): XMLHttpRequest.
export function upload(method, path, body, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(Math.round((100 * e.loaded) / e.total)); };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'network error'));
    xhr.onload = () => {
      let parsed = null;
      try { parsed = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) { resolve(parsed); return; }
      const e = parsed && parsed.error ? parsed.error : { code: 'http_' + xhr.status, message: `${xhr.status}` };
      const err = new ApiError(xhr.status, e.code, e.message);
      if (xhr.status === 401) onUnauthenticated(say(err));
      reject(err);
    };
    xhr.send(body);
  });
}

// "invalid request: a: msg; evidence[0].pdq: msg" -> [{field, message}]
export const problems = splitProblems;

// What to show of a refusal (an ApiError, or a message already worded): in the console's
// language (apitext.js).
export function say(err) {
  if (!err) return '';
  if (typeof err === 'string') return err;
  return apiMessage(err.message, err.code, getLang());
}

// The refusal of a fetch made outside request() (pictures read as bytes), worded by say().
export async function refusalOf(res) {
  return say(await errorOf(res));
}
