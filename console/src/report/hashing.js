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

// run(op, fields, onProgress, transfer) -> {promise, cancel}
function run(op, fields, onProgress, transfer = []) {
  const id = ++seq;
  const promise = new Promise((resolve, reject) => {
    jobs.set(id, { resolve, reject, onProgress });
    theWorker().postMessage({ op, id, ...fields }, transfer);
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

// A video's frames: sampled FRAME_RATE a second (fewer for a long video: at most MAX_FRAMES),
// each decoded by the browser (a <video> element seeked to the frame's time and drawn into a
// canvas, here: workers have no media element) and hashed by the worker as the server hashes a
// bank video's frame (PDQ, norm, mirror, crops, box). The server matches uploads against them as
// against a video it hashed itself; FFmpeg and the browser decode to nearly the same pixels
// (docs/benchmarks.md gives the distances measured).
export const FRAME_RATE = 2;
export const MAX_FRAMES = 120;
const SEEK_MS = 15000; // a seek that never lands: the browser cannot decode this video

function once(el, ok, ms) {
  return new Promise((resolve, reject) => {
    const done = (f) => (e) => { clearTimeout(timer); el.removeEventListener(ok, onOk); el.removeEventListener('error', onErr); f(e); };
    const onOk = done(resolve), onErr = done(() => reject(new Error('undecodable')));
    const timer = setTimeout(done(() => reject(new Error('undecodable'))), ms);
    el.addEventListener(ok, onOk);
    el.addEventListener('error', onErr);
  });
}

// {duration, fps, frames} or null when this browser cannot decode the video.
async function videoFrames(file, onProgress, cancelled) {
  const url = URL.createObjectURL(file);
  const v = document.createElement('video');
  v.muted = true;
  v.preload = 'auto';
  v.playsInline = true;
  try {
    v.src = url;
    try { await once(v, 'loadeddata', SEEK_MS); } catch { return null; }
    const duration = v.duration, width = v.videoWidth, height = v.videoHeight;
    if (!Number.isFinite(duration) || duration <= 0 || !width || !height) return null;
    const rate = Math.min(FRAME_RATE, MAX_FRAMES / duration);
    const count = Math.max(1, Math.min(MAX_FRAMES, Math.floor(duration * rate - 1e-9) + 1));
    const canvas = document.createElement('canvas');
    canvas.width = width; canvas.height = height;
    const g = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
    const frames = [];
    for (let k = 0; k < count; ++k) {
      if (cancelled()) throw Object.assign(new Error('cancelled'), { code: 'cancelled' });
      const at = k / rate;
      if (k > 0 || v.currentTime !== 0) {
        v.currentTime = at;
        try { await once(v, 'seeked', SEEK_MS); } catch { return frames.length ? { duration, fps: rate, frames } : null; }
      }
      g.drawImage(v, 0, 0, width, height);
      const px = g.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
      const frame = await run('frame', { rgba: px.buffer, width, height }, null, [px.buffer]).promise;
      frame.t = Math.round(at * 1000) / 1000;
      frames.push(frame);
      if (onProgress) onProgress({ stage: 'frames', done: k + 1, total: count });
    }
    return { duration, fps: rate, frames };
  } finally {
    v.removeAttribute('src');
    v.load();
    URL.revokeObjectURL(url);
  }
}

// Images: the module's JSON (no file name); videos: {md5, sha256, bytes, video} where video is
// the sampled frames' signals, or null when this browser cannot decode the video (then only
// byte-identical copies can be found).
export function hashFile(file, onProgress) {
  if (kindOf(file) !== 'video') return run('image', { file }, onProgress);
  const digests = run('video', { file }, onProgress);
  let stop = false;
  const promise = digests.promise.then(async (r) => {
    const video = await videoFrames(file, onProgress, () => stop);
    return { ...r, video };
  });
  return { promise, cancel: () => { stop = true; digests.cancel(); } };
}

// The proof of work: a decimal nonce with sha256(challenge + ":" + nonce) starting with `bits` zero bits.
export function solve(challenge, bits, onProgress) {
  return run('pow', { challenge, bits }, onProgress);
}
