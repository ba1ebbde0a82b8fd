#!/usr/bin/env node
// Hashes image files with the WebAssembly module under Node.js, printing the lines
// `takedown hash --format jsonl` prints (--bank, --reference, --dihedral as there), so that the
// two can be compared byte for byte (tests/wasm_hash_test.sh). Formats the module leaves to the
// browser's decoder (PNG, GIF, ...) are reported as such, not decoded here.
//
//   node wasm/hash-files.mjs MODULE_DIR [--bank] [--reference] [--dihedral] FILE...
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: hash-files.mjs MODULE_DIR [--bank] [--reference] [--dihedral] FILE...');
  process.exit(2);
}
const flags = { '--bank': 1, '--reference': 2, '--dihedral': 4 };
let mode = 0;
const files = [];
for (const a of rest) {
  if (a in flags) mode |= flags[a];
  else if (a.startsWith('--')) {
    console.error(`hash-files: unknown option ${a}`);
    process.exit(2);
  } else files.push(a);
}

const { default: create } = await import(pathToFileURL(join(dir, 'takedown-hash.mjs')).href);
const mod = await create({
  wasmBinary: readFileSync(join(dir, 'takedown-hash.wasm')),
  digestHex: (kind, bytes) => createHash(kind).update(bytes).digest('hex'),
});

let failed = 0;
for (const file of files) {
  const bytes = readFileSync(file);
  const p = mod._td_alloc(bytes.length);
  mod.HEAPU8.set(bytes, p);
  const name = mod._td_alloc(Buffer.byteLength(file) + 1);
  mod.stringToUTF8(file, name, Buffer.byteLength(file) + 1);
  const t0 = performance.now();
  const out = mod._td_hash_image(p, bytes.length, name, mode);
  const ms = performance.now() - t0;
  const text = mod.UTF8ToString(out);
  mod._td_free(out);
  mod._td_free(name);
  mod._td_free(p);
  const doc = JSON.parse(text);
  if (doc.error) {
    ++failed;
    console.error(`${file}: ${doc.error} (${doc.code})`);
    continue;
  }
  process.stdout.write(text + '\n');
  if (process.env.HASH_FILES_TIMES) console.error(`${file}: ${ms.toFixed(1)} ms`);
}
process.exit(failed ? 1 : 0);
