// The report page's hashing, in a module Web Worker: images through the WebAssembly build of
// `takedown hash --bank` (wasm/: the server's decoders and PDQ), the formats it leaves to the
// browser (PNG, GIF, BMP, ...) decoded here and passed in as RGBA; videos' MD5 and SHA-256
// streamed with hash-wasm, and the frames the page decoded hashed one by one; the proof of work
// for the server's challenge. Nothing here sends
// anything anywhere: files are read, hashed and dropped.
//
// Messages in: {op: 'init', id} (start the module) | {op: 'image'|'video', id, file}
//              | {op: 'frame', id, rgba, width, height} | {op: 'pow', id, challenge, bits} | {op: 'cancel', id}
// Messages out: {id, type: 'progress', stage, done, total} | {id, type: 'result', result}
//               | {id, type: 'error', code, message}
import createTakedownHash from 'takedown-wasm/takedown-hash.mjs';
import wasmUrl from 'takedown-wasm/takedown-hash.wasm?url';
import { createMD5, createSHA256 } from 'hash-wasm';

const FLAG_BANK = 1; // the bank-side variants, as `takedown hash --bank`
const CHUNK = 4 << 20; // bytes per step when reading a file (progress between steps)

let ready = null; // Promise of {mod, md5, sha256}
function init() {
  if (!ready) {
    ready = (async () => {
      const md5 = await createMD5();
      const sha256 = await createSHA256();
      // The module asks for MD5 and SHA-256 synchronously (wasm/digests_in_page.cc).
      const digestHex = (kind, bytes) => {
        const h = kind === 'md5' ? md5 : sha256;
        h.init();
        h.update(bytes);
        return h.digest('hex');
      };
      const mod = await createTakedownHash({ locateFile: () => wasmUrl, digestHex });
      return { mod, md5, sha256 };
    })();
    ready.catch(() => { ready = null; });
  }
  return ready;
}

// Runs the decoder and the hashing once on a small generated JPEG while the page is idle, so that
// the engine has compiled their hot loops for speed before the person's first photo (measured:
// the first 12 MP photo's hashing 260 -> ~215 ms, as a warm page's). A file chosen meanwhile
// waits for one round at most. Never fails the page.
let warmed = false;
async function warmUp() {
  if (warmed || typeof OffscreenCanvas === 'undefined') return;
  warmed = true;
  try {
    const { mod } = await init();
    const c = new OffscreenCanvas(1024, 768);
    const g = c.getContext('2d');
    const img = g.createImageData(1024, 768);
    let x = 0x9e3779b9;
    for (let i = 0; i < img.data.length; i += 4) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      const v = ((i >> 2) % 1024 + ((i >> 12) & 255) + (x & 63)) & 255;
      img.data[i] = v; img.data[i + 1] = (v * 3) & 255; img.data[i + 2] = 255 - v; img.data[i + 3] = 255;
    }
    g.putImageData(img, 0, 0);
    const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
    const name = utf8(mod, 'warm-up.jpg');
    const p = mod._td_alloc(bytes.length);
    try {
      if (p) {
        mod.HEAPU8.set(bytes, p);
        // Up to three rounds, yielding between them: a file the person chose meanwhile stops it.
        for (let k = 0; k < 3 && queued === 0; ++k) {
          answer(mod, mod._td_hash_image(p, bytes.length, name, FLAG_BANK));
          await new Promise((r) => setTimeout(r, 0));
        }
      }
    } finally { mod._td_free(p); mod._td_free(name); }
  } catch { /* only a warm-up */ }
}

const cancelled = new Set();
class Cancelled extends Error {}
function check(id) { if (cancelled.has(id)) throw new Cancelled('cancelled'); }
const progress = (id, stage, done, total) => postMessage({ id, type: 'progress', stage, done, total });

// The file's bytes, read in steps with progress (stage 'reading'), or streamed to `sink`.
async function readAll(id, file, sink) {
  const total = file.size;
  const out = sink ? null : new Uint8Array(total);
  let done = 0;
  const reader = file.stream().getReader();
  let last = 0;
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      check(id);
      if (sink) sink(value); else out.set(value, done);
      done += value.length;
      if (done - last >= CHUNK || done === total) { last = done; progress(id, 'reading', done, total); }
    }
  } finally { reader.releaseLock(); }
  if (done !== total) throw new Error(`read ${done} of ${total} bytes`);
  return out;
}

function utf8(mod, s) {
  const n = mod.lengthBytesUTF8(s) + 1;
  const p = mod._td_alloc(n);
  mod.stringToUTF8(s, p, n);
  return p;
}
function answer(mod, p) {
  if (!p) throw new Error('out of memory');
  const text = mod.UTF8ToString(p);
  mod._td_free(p);
  return JSON.parse(text);
}

// The browser's decoding of a format the module leaves to it: RGBA as stored (no colour space
// conversion, no premultiplication), like FFmpeg's decoders give the native build.
async function decodeRgba(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    const e = new Error('unreadable'); e.code = 'unreadable'; throw e;
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  g.drawImage(bitmap, 0, 0);
  bitmap.close();
  const data = g.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  return { width, height, data };
}

function digests(ctx, bytes) {
  ctx.md5.init(); ctx.md5.update(bytes);
  ctx.sha256.init(); ctx.sha256.update(bytes);
  return { md5: ctx.md5.digest('hex'), sha256: ctx.sha256.digest('hex') };
}

async function hashImage(id, file) {
  const ctx = await init();
  const { mod } = ctx;
  // A picture is read in one step (a 12 MP JPEG in ~15 ms; the streamed read with progress took
  // ~50): its progress is the hashing's.
  progress(id, 'reading', 0, file.size);
  const bytes = new Uint8Array(await file.arrayBuffer());
  check(id);
  progress(id, 'hashing', 0, 1);
  const name = utf8(mod, file.name || 'image');
  let doc;
  try {
    const p = mod._td_alloc(bytes.length);
    if (!p) throw new Error('out of memory');
    try {
      mod.HEAPU8.set(bytes, p); // HEAPU8 read after the allocation (memory can grow)
      doc = answer(mod, mod._td_hash_image(p, bytes.length, name, FLAG_BANK));
    } finally { mod._td_free(p); }
    if (doc.error && doc.code === 'unsupported') {
      check(id);
      const img = await decodeRgba(file);
      check(id);
      const head = bytes.subarray(0, 64);
      const px = mod._td_alloc(img.data.length);
      const hp = mod._td_alloc(head.length);
      if (!px || !hp) throw new Error('out of memory');
      try {
        mod.HEAPU8.set(img.data, px);
        mod.HEAPU8.set(head, hp);
        doc = answer(mod, mod._td_hash_rgba(px, img.width, img.height, hp, head.length, name, FLAG_BANK));
      } finally { mod._td_free(px); mod._td_free(hp); }
      if (!doc.error) Object.assign(doc, digests(ctx, bytes));
    }
  } finally { mod._td_free(name); }
  if (doc.error) { const e = new Error(doc.error); e.code = doc.code; throw e; }
  delete doc.file; // the file's name stays in this worker
  return doc;
}

async function hashVideo(id, file) {
  // Own hashers: the image path's stay untouched while a video streams.
  const [md5, sha256] = await Promise.all([createMD5(), createSHA256()]);
  md5.init(); sha256.init();
  await readAll(id, file, (chunk) => { md5.update(chunk); sha256.update(chunk); });
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex'), bytes: file.size };
}

// One video frame the page decoded (a <video> element drawn into a canvas: workers have no media
// element): its signals as the server hashes a bank video's frame (td_hash_video_frame).
async function hashFrame(rgba, width, height) {
  const { mod } = await init();
  const bytes = new Uint8Array(rgba);
  const p = mod._td_alloc(bytes.length);
  if (!p) throw new Error('out of memory');
  try {
    mod.HEAPU8.set(bytes, p);
    const doc = answer(mod, mod._td_hash_video_frame(p, width, height));
    if (doc.error) { const e = new Error(doc.error); e.code = doc.code; throw e; }
    return doc;
  } finally { mod._td_free(p); }
}

// Leading zero bits of a digest.
function zeroBits(d) {
  let n = 0;
  for (const b of d) {
    if (b === 0) { n += 8; continue; }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

async function proofOfWork(id, challenge, bits) {
  const sha = await createSHA256();
  const prefix = challenge + ':';
  const step = 1 << 14;
  for (let nonce = 0; ; nonce++) {
    sha.init();
    sha.update(prefix + nonce);
    if (zeroBits(sha.digest('binary')) >= bits) return { nonce: String(nonce), tries: nonce + 1 };
    if ((nonce + 1) % step === 0) {
      progress(id, 'pow', nonce + 1, 2 ** bits);
      // Let a cancel through.
      await new Promise((r) => setTimeout(r, 0));
      check(id);
    }
  }
}

// One job at a time, in order. `queued`: the jobs other than 'init' waiting or running.
let chain = Promise.resolve();
let queued = 0;
self.onmessage = (e) => {
  const m = e.data || {};
  if (m.op === 'cancel') { cancelled.add(m.id); return; }
  const counted = m.op !== 'init';
  if (counted) ++queued;
  chain = chain.then(async () => {
    try {
      check(m.id);
      let result;
      if (m.op === 'init') { await init(); await warmUp(); result = true; } else if (m.op === 'image') result = await hashImage(m.id, m.file);
      else if (m.op === 'video') result = await hashVideo(m.id, m.file);
      else if (m.op === 'frame') result = await hashFrame(m.rgba, m.width, m.height);
      else if (m.op === 'pow') result = await proofOfWork(m.id, m.challenge, m.bits);
      else throw new Error(`unknown op ${m.op}`);
      postMessage({ id: m.id, type: 'result', result });
    } catch (err) {
      if (err instanceof Cancelled) postMessage({ id: m.id, type: 'error', code: 'cancelled', message: 'cancelled' });
      else postMessage({ id: m.id, type: 'error', code: err.code || 'failed', message: String(err.message || err) });
    } finally {
      cancelled.delete(m.id);
      if (counted) --queued;
    }
  });
};
