// The page's side of the hashing worker (worker.js): one worker for the page, jobs by id.
let worker = null;
let seq = 0;
const jobs = new Map(); // id -> {resolve, reject, onProgress}

function failAll(message) {
  for (const [id, j] of jobs) { jobs.delete(id); j.reject(Object.assign(new Error(message), { code: 'worker' })); }
}

function theWorker() {
  if (!worker) {
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'takedown-hash' });
    worker.onmessage = (e) => {
      const m = e.data || {};
      const j = jobs.get(m.id);
      if (!j) return;
      if (m.type === 'progress') { if (j.onProgress) j.onProgress(m); return; }
      jobs.delete(m.id);
      if (m.type === 'result') j.resolve(m.result);
      else j.reject(Object.assign(new Error(m.message), { code: m.code }));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      failAll(e.message || 'the hashing worker failed to start');
      worker.terminate();
      worker = null;
    };
  }
  return worker;
}

// run(op, fields, onProgress) -> {promise, cancel}
function run(op, fields, onProgress) {
  const id = ++seq;
  const promise = new Promise((resolve, reject) => {
    jobs.set(id, { resolve, reject, onProgress });
    theWorker().postMessage({ op, id, ...fields });
  });
  return { promise, cancel: () => { if (worker && jobs.has(id)) worker.postMessage({ op: 'cancel', id }); } };
}

// Starts the worker and compiles the module before the first file (a person takes seconds to
// choose one; the first photo then hashes as fast as the next). Once per page, when it is idle.
let prestarted = false;
export function prestart() {
  if (prestarted) return;
  prestarted = true;
  const go = () => { run('init', {}).promise.catch(() => { prestarted = false; }); };
  if (typeof requestIdleCallback === 'function') requestIdleCallback(go, { timeout: 500 });
  else setTimeout(go, 0);
}

export function kindOf(file) {
  if (/^video\//.test(file.type)) return 'video';
  if (/^image\//.test(file.type)) return 'image';
  return /\.(mp4|m4v|mov|avi|mkv|webm|3gp|wmv|mpe?g|ts)$/i.test(file.name) ? 'video' : 'image';
}

// Images: the module's JSON (no file name); videos: {md5, sha256, bytes}.
export function hashFile(file, onProgress) {
  return run(kindOf(file), { file }, onProgress);
}

// The proof of work: a decimal nonce with sha256(challenge + ":" + nonce) starting with `bits` zero bits.
export function solve(challenge, bits, onProgress) {
  return run('pow', { challenge, bits }, onProgress);
}
