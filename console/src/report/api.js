// The report page's API client: same-origin JSON, no session, no key, no cookies sent.
import { solve } from './hashing.js';

export class ReportError extends Error {
  constructor(status, code, message, fields = [], retryAfter = null) {
    super(message);
    this.status = status; this.code = code; this.fields = fields; this.retryAfter = retryAfter;
  }
}

// Retry-After: seconds, or an HTTP date.
function retryAfterOf(res) {
  const v = res.headers.get('Retry-After');
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return isNaN(at) ? null : Math.max(0, Math.round((at - Date.now()) / 1000));
}

export async function call(method, path, json) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: json === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ReportError(0, 'network', 'network error');
  }
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const e = body && body.error ? body.error : {};
    throw new ReportError(res.status, e.code || `http_${res.status}`, e.message || `${res.status} ${res.statusText}`,
      Array.isArray(e.fields) ? e.fields : [], retryAfterOf(res));
  }
  return body;
}

const aboutProof = (e) => e instanceof ReportError && e.status !== 429 && e.status >= 400 && e.status < 500 &&
  (/challenge|nonce|proof|pow/i.test(e.code) || e.fields.some((f) => f.field === 'challenge' || f.field === 'nonce'));

// A challenge, its proof of work solved in the worker, then the POST with both; a refused proof
// (an expired challenge) is tried once more with a new one. onStage(key, vars) tells the progress.
export async function provenPost(path, body, onStage) {
  for (let attempt = 0; ; attempt++) {
    onStage('pow_challenge', {});
    const ch = await call('GET', '/v1/report/challenge');
    onStage('pow_working', { n: 0 });
    const { nonce } = await solve(String(ch.challenge), Number(ch.bits), (p) => onStage('pow_working', { n: p.done })).promise;
    onStage('pow_sending', {});
    try {
      return await call('POST', path, { ...body, challenge: ch.challenge, nonce });
    } catch (e) {
      if (attempt === 0 && aboutProof(e)) continue;
      throw e;
    }
  }
}

// Whether a lost PIN can be replaced by a link sent by email (the challenge says so): asked once
// per page load, both screens share the answer; false when it cannot be told (an older server, no
// connection: nothing is offered that may not work).
let recovery = null;
export function recoveryByEmail() {
  if (!recovery) {
    recovery = call('GET', '/v1/report/challenge').then((ch) => ch && ch.recovery_by_email === true, () => {
      recovery = null; // asked again at the next mount
      return false;
    });
  }
  return recovery;
}
