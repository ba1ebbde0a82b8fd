// The files of a report: chosen, hashed in the worker with a progress bar each, shown only here as
// small greyscale thumbnails (drawn into a canvas from the file; never uploaded), removable; what
// is sent is built from the hashes alone (itemsOf).
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { t, locale } from './i18n.js';
import { hashFile, kindOf, prestart } from './hashing.js';

export const MIN_QUALITY = 50; // below it PDQ is too plain or blurred to be matched
export const MAX_ITEMS = 50;
const THUMB = 96; // CSS pixels

let keySeq = 0;

export function useFiles() {
  const [files, setFiles] = useState([]);
  const jobs = useRef(new Map()); // key -> cancel
  const update = (key, patch) => setFiles((fs) => fs.map((f) => (f.key === key ? { ...f, ...patch } : f)));
  useEffect(() => {
    prestart();
    return () => { for (const cancel of jobs.current.values()) cancel(); };
  }, []);

  function add(list) {
    const added = [...list].map((file) => ({
      key: ++keySeq, file, name: file.name, size: file.size, kind: kindOf(file),
      stage: 'queued', progress: null, result: null, error: '', hidden: false,
    }));
    setFiles((fs) => [...fs, ...added]);
    for (const f of added) {
      const job = hashFile(f.file, (p) => {
        const frac = p.total ? p.done / p.total : 0;
        // A video: its bytes read for the digests (first half), then its frames (second half).
        if (p.stage === 'reading') update(f.key, { stage: 'reading', progress: frac / 2 });
        else if (p.stage === 'frames') update(f.key, { stage: 'hashing', progress: 0.5 + frac / 2 });
        else update(f.key, { stage: 'hashing', progress: null });
      });
      jobs.current.set(f.key, job.cancel);
      job.promise.then((result) => {
        jobs.current.delete(f.key);
        const low = f.kind === 'image' && result.quality < MIN_QUALITY;
        update(f.key, { stage: low ? 'low' : 'done', progress: 1, result: keep(f.kind, result) });
      }, (err) => {
        jobs.current.delete(f.key);
        if (err.code === 'cancelled') return;
        update(f.key, { stage: 'error', error: err.code === 'unreadable' || err.code === 'unsupported' ? t('st_unreadable') : err.message });
      });
    }
  }
  function remove(key) {
    const cancel = jobs.current.get(key);
    if (cancel) { cancel(); jobs.current.delete(key); }
    setFiles((fs) => fs.filter((f) => f.key !== key));
  }
  function clear() {
    for (const cancel of jobs.current.values()) cancel();
    jobs.current.clear();
    setFiles([]);
  }
  const toggle = (key) => setFiles((fs) => fs.map((f) => (f.key === key ? { ...f, hidden: !f.hidden } : f)));
  return { files, add, remove, clear, toggle };
}

// What the page keeps of the module's answer: the hashes that are sent and shown.
function keep(kind, r) {
  if (kind === 'video') return { md5: r.md5, sha256: r.sha256, video: r.video };
  return {
    pdq: r.pdq, quality: r.quality, dihedral: r.dihedral, md5: r.md5, sha256: r.sha256,
    signals: { norm: r.signals && r.signals.norm, box: r.signals && r.signals.box },
    variants: r.variants || {}, format: r.format, width: r.width, height: r.height,
  };
}

// The server takes a report of at most 1 MiB. A picture's item is ~13 KB, a video frame ~1 KB:
// when the frames would not fit beside the pictures, every video keeps every second, third, ...
// frame (still spread over its whole length).
const BODY_BUDGET = 900 * 1024;
const FRAME_BYTES = 1100;

function videoOf(video, keepEvery) {
  if (!video) return null;
  const frames = video.frames.filter((_, i) => i % keepEvery === 0);
  return { duration: video.duration, fps: video.fps / keepEvery, frames };
}

// The items the API takes: hashes only, never names, pixels or bytes. keys[i] is items[i]'s file.
export function itemsOf(files) {
  const items = [], keys = [];
  const ready = files.filter((f) => f.stage === 'done' && f.result);
  let frames = 0;
  for (const f of ready) {
    const r = f.result;
    if (f.kind === 'video') {
      items.push({ kind: 'video', md5: r.md5, sha256: r.sha256 });
      if (r.video) frames += r.video.frames.length;
    } else {
      const robust = { norm: [r.signals.norm.pdq, r.signals.norm.quality] };
      if (r.signals.box) robust.box = [r.signals.box.pdq, r.signals.box.quality];
      robust.variants = Object.values(r.variants).map((v) => [v.pdq, v.quality]);
      items.push({ kind: 'image', pdq: r.pdq, quality: r.quality, dihedral: Object.values(r.dihedral),
        md5: r.md5, sha256: r.sha256, robust });
    }
    keys.push(f.key);
  }
  const room = Math.max(16, Math.floor((BODY_BUDGET - JSON.stringify(items).length) / FRAME_BYTES));
  const keepEvery = Math.max(1, Math.ceil(frames / room));
  ready.forEach((f, i) => {
    const video = f.kind === 'video' && videoOf(f.result.video, keepEvery);
    if (video) items[i].video = video;
  });
  return { items, keys };
}

export const busy = (files) => files.some((f) => f.stage === 'queued' || f.stage === 'reading' || f.stage === 'hashing');

function size(n) {
  const fmt = (v, u) => `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(v)} ${u}`;
  if (n >= 1e9) return fmt(n / 1e9, 'GB');
  if (n >= 1e6) return fmt(n / 1e6, 'MB');
  if (n >= 1e3) return fmt(n / 1e3, 'KB');
  return fmt(n, 'B');
}

// A small greyscale picture of the file, drawn here from its decoded pixels.
function Thumb({ file, name }) {
  const ref = useRef(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    (async () => {
      try {
        // Decoded at the thumbnail's size (twice the CSS size, for dense screens).
        const full = await createImageBitmap(file, { resizeWidth: 2 * THUMB, resizeQuality: 'medium' });
        const w = full.width, h = full.height;
        const c = ref.current;
        if (!live || !c) { full.close(); return; }
        c.width = w; c.height = h;
        const g = c.getContext('2d', { willReadFrequently: true });
        g.drawImage(full, 0, 0, w, h);
        full.close();
        const img = g.getImageData(0, 0, w, h);
        const d = img.data;
        for (let i = 0; i < d.length; i += 4) {
          const y = Math.round(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
          d[i] = d[i + 1] = d[i + 2] = y;
        }
        g.putImageData(img, 0, 0);
      } catch { if (live) setFailed(true); }
    })();
    return () => { live = false; };
  }, [file]);
  if (failed) return html`<div class="thumb-box" aria-hidden="true"></div>`;
  return html`<canvas ref=${ref} class="thumb" role="img" aria-label=${t('thumb_alt', { name })} width="1" height="1"></canvas>`;
}

function statusText(f) {
  if (f.stage === 'queued') return t('st_queued');
  if (f.stage === 'reading') return t('st_reading');
  if (f.stage === 'hashing') return t('st_hashing');
  if (f.stage === 'low') return t('st_low_quality');
  if (f.stage === 'error') return t('st_error', { msg: f.error });
  if (f.kind !== 'video') return t('st_done');
  return f.result && f.result.video ? t('st_done_video_frames', { n: f.result.video.frames.length }) : t('st_done_video');
}

function FileRow({ f, n, error, onRemove, onToggle, idBase }) {
  const statusId = `${idBase}-st-${f.key}`, errId = `${idBase}-err-${f.key}`;
  const running = f.stage === 'queued' || f.stage === 'reading' || f.stage === 'hashing';
  const cls = 'file-row' + (f.stage === 'low' || f.stage === 'error' ? ' left-out' : '') + (error ? ' invalid' : '');
  return html`<li class=${cls} data-file=${n} data-stage=${f.stage}>
    <div class="thumb-cell">
      ${f.kind === 'video'
        ? html`<div class="thumb-box video" aria-hidden="true">${t('video_thumb')}</div>`
        : f.hidden ? html`<div class="thumb-box">${t('thumb_hidden')}</div>` : html`<${Thumb} file=${f.file} name=${f.name} />`}
    </div>
    <div class="file-main">
      <p class="file-name"><span class="break">${f.name}</span> <span class="muted">${size(f.size)}</span></p>
      ${running && (f.progress === null
        ? html`<progress max="100" aria-label=${t('progress_of', { name: f.name })} aria-describedby=${statusId}></progress>`
        : html`<progress max="100" value=${Math.round(100 * f.progress)} aria-label=${t('progress_of', { name: f.name })}
            aria-describedby=${statusId}></progress>`)}
      <p class=${'file-status' + (f.stage === 'low' || f.stage === 'error' ? ' warn' : f.stage === 'done' ? ' ok' : '')} id=${statusId}>${statusText(f)}</p>
      ${f.kind === 'image' && f.result && html`<p class="file-quality" data-quality=${f.result.quality}>${t('quality', { q: f.result.quality })}</p>`}
      ${error && html`<p class="error" id=${errId}>${error}</p>`}
    </div>
    <div class="file-actions">
      ${f.kind === 'image' && html`<button type="button" aria-pressed=${f.hidden ? 'true' : 'false'} onClick=${() => onToggle(f.key)}>
        ${t('hide')}<span class="sr-only"> ${f.name}</span></button>`}
      <button type="button" onClick=${() => onRemove(f.key)}>${t('remove')}<span class="sr-only"> ${f.name}</span></button>
    </div>
  </li>`;
}

// The technical details: what is sent for each file (PDQ, the 8 dihedral hashes, MD5, SHA-256).
function Technical({ files }) {
  const ready = files.filter((f) => f.result);
  if (!ready.length) return null;
  return html`<details class="tech">
    <summary>${t('tech')}</summary>
    <p class="hint">${t('tech_hint')}</p>
    <ol class="tech-list">
      ${ready.map((f) => {
        const r = f.result;
        return html`<li class="tech-file" data-name=${f.name} data-kind=${f.kind} key=${f.key}>
          <p class="tech-name break">${f.name}</p>
          <dl class="grid">
            <dt>${t('tech_kind')}</dt><dd>${t('kind_' + f.kind)}</dd>
            ${f.kind === 'image' && html`
              <dt>${t('tech_pdq')}</dt><dd><code class="hash" data-k="pdq">${r.pdq}</code></dd>
              <dt>${t('tech_quality')}</dt><dd data-k="quality">${r.quality}</dd>
              <dt>${t('tech_dihedral')}</dt><dd><ul class="hashes">
                ${Object.entries(r.dihedral).map(([k, v]) => html`<li><span class="hash-kind">${k}</span>
                  <code class="hash" data-k="dihedral" data-d=${k}>${v}</code></li>`)}
              </ul></dd>`}
            ${f.kind === 'video' && html`
              <dt>${t('tech_frames')}</dt><dd data-k="frames">${r.video ? t('tech_frames_n', { n: r.video.frames.length }) : t('tech_frames_none')}</dd>`}
            <dt>${t('tech_md5')}</dt><dd><code class="hash" data-k="md5">${r.md5}</code></dd>
            <dt>${t('tech_sha256')}</dt><dd><code class="hash" data-k="sha256">${r.sha256}</code></dd>
          </dl>
        </li>`;
      })}
    </ol>
  </details>`;
}

// The file input, the list, the details. errors: {files: text, [key]: text}.
export function FilePicker({ state, errors = {}, idBase, disabled }) {
  const { files, add, remove, toggle } = state;
  const inputId = `${idBase}-files`;
  const groupErr = errors.files;
  return html`<fieldset class=${'files' + (groupErr ? ' invalid' : '')}>
    <legend>${t('files_legend')}</legend>
    <div class="field">
      <label for=${inputId} class="file-label">${t('choose_files')}</label>
      <input id=${inputId} type="file" accept="image/*,video/*" multiple disabled=${disabled}
        aria-describedby=${[`${inputId}-hint`, groupErr && `${inputId}-err`].filter(Boolean).join(' ')}
        aria-invalid=${groupErr ? 'true' : undefined}
        onChange=${(e) => { add(e.target.files); e.target.value = ''; }} />
      <p class="hint" id=${`${inputId}-hint`}>${t('files_hint')}</p>
      ${groupErr && html`<p class="error" id=${`${inputId}-err`}>${groupErr}</p>`}
    </div>
    ${files.length
      ? html`<ul class="plain file-list" aria-label=${t('files_legend')}>
          ${files.map((f, i) => html`<${FileRow} key=${f.key} f=${f} n=${i} error=${errors[f.key]} idBase=${idBase}
            onRemove=${remove} onToggle=${toggle} />`)}
        </ul>`
      : html`<p class="muted">${t('files_none')}</p>`}
    <${Technical} files=${files} />
  </fieldset>`;
}
