// Test data through the API: content recorded by the platform, requests filed and decided.
import { poll } from './server.mjs';

// The platform records n copies of the picture (the upload gate records what it allows).
export async function recordCopies(s, jpeg, prefix, n = 3) {
  for (let i = 1; i <= n; i++) {
    const q = new URLSearchParams({ content_id: `${prefix}-${i}`, chat_id: `${prefix}-chat-${i}`, uploader_id: `${prefix}-user-${i}` });
    const r = await s.api(s.keys.platform, 'POST', `/v1/check/media?${q}`, jpeg);
    if (r.status !== 200) throw new Error(`check/media: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);
}

export function notice(jpeg, extra = {}) {
  return {
    category: 'ncii',
    explanation: 'An intimate picture of me shared without my consent.',
    notifier: { name: 'Kim Minji', email: 'minji@example.org' },
    accuracy_statement: true, good_faith_statement: true, signature: 'Kim Minji',
    evidence: [{ media: jpeg.toString('base64') }],
    ...extra,
  };
}

export async function fileRequest(s, key, body) {
  const r = await s.api(key, 'POST', '/v1/requests', body);
  if (r.status !== 201) throw new Error(`POST /v1/requests: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

export async function waitStatus(s, id, statuses, timeoutMs = 30000) {
  const want = [].concat(statuses);
  return poll(async () => {
    const r = await s.api(s.keys.admin, 'GET', `/v1/requests/${id}`);
    return r.status === 200 && want.includes(r.body.status) ? r.body : null;
  }, { timeoutMs, what: `request ${id} to be ${want.join('/')}` });
}

export async function approve(s, id, reason = 'Illegal content (ncii): verified by the reviewer') {
  const r = await s.api(s.keys.reviewer, 'POST', `/v1/requests/${id}/decision`, { approve: true, reason });
  if (r.status !== 200) throw new Error(`decision: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
