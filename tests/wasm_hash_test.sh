#!/usr/bin/env bash
# The victims' form hashes in the browser with this project's hashing built for WebAssembly
# (wasm/); its answers must be the bits `takedown hash` prints for the same file. This runs the
# module under Node.js (the same V8 engine as Chromium) on generated JPEG and WebP files of every
# kind the decoders branch on (baseline and progressive, 4:2:0 and 4:4:4, grey, 12 megapixels,
# lossy and lossless WebP) and, when ../shared is there, on the PDQ reference images and every
# JPEG and WebP photo, in fast mode, --bank and --reference --dihedral, and compares the JSON
# lines byte for byte. PNG and the other formats the browser decodes are measured by the browser
# test (tests/browser/report.test.mjs).
#   tests/wasm_hash_test.sh TAKEDOWN_BINARY WASM_DIR
set -euo pipefail
takedown=$1 wasm=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v ffmpeg >/dev/null || { echo "FAIL: the ffmpeg CLI is missing: run scripts/setup.sh" >&2; exit 1; }
[ -f "$wasm/takedown-hash.wasm" ] || { echo "FAIL: $wasm/takedown-hash.wasm missing: build the project (TAKEDOWN_CONSOLE=ON)" >&2; exit 1; }

gen() { ffmpeg -loglevel error -y "$@"; }
src=(-f lavfi -i "testsrc2=size=640x480,noise=alls=20:allf=t")
gen "${src[@]}" -frames:v 1 -q:v 3 "$work/baseline.jpg"
gen "${src[@]}" -frames:v 1 -q:v 5 -pix_fmt yuvj444p "$work/yuv444.jpg"
gen "${src[@]}" -frames:v 1 -q:v 4 -pix_fmt gray "$work/grey.jpg"
gen -f lavfi -i "testsrc2=size=4000x3000,noise=alls=12:allf=t" -frames:v 1 -q:v 2 "$work/twelve-megapixels.jpg"
command -v jpegtran >/dev/null || { echo "FAIL: jpegtran is missing: run scripts/setup.sh (libjpeg-turbo-progs)" >&2; exit 1; }
gen -f lavfi -i "mandelbrot=size=1024x768" -frames:v 1 -q:v 4 "$work/mandelbrot.jpg"
jpegtran -progressive -outfile "$work/progressive.jpg" "$work/mandelbrot.jpg"
jpegtran -progressive -outfile "$work/progressive-12mp.jpg" "$work/twelve-megapixels.jpg"
gen "${src[@]}" -frames:v 1 -c:v libwebp -quality 80 "$work/lossy.webp"
gen "${src[@]}" -frames:v 1 -c:v libwebp -lossless 1 "$work/lossless.webp"
files=("$work"/*.jpg "$work"/*.webp)

shared="$repo/../shared"
if [ -d "$shared/reference/pdq" ] && [ -d "$shared/media/photos" ]; then
  while IFS= read -r f; do files+=("$f"); done < <(
    find "$shared/reference/pdq" "$shared/media/photos" -type f \( -name '*.jpg' -o -name '*.jpeg' -o -name '*.webp' \) | sort)
else
  echo "NOTE: ../shared missing: only the generated images are compared (the PDQ reference images and the photos are skipped)" >&2
fi

failed=0
for mode in "" "--bank" "--reference --dihedral"; do
  # shellcheck disable=SC2086
  node "$repo/wasm/hash-files.mjs" "$wasm" $mode "${files[@]}" >"$work/wasm.jsonl"
  # shellcheck disable=SC2086
  "$takedown" hash --format jsonl $mode "${files[@]}" >"$work/native.jsonl" 2>/dev/null
  if cmp -s "$work/wasm.jsonl" "$work/native.jsonl"; then
    echo "ok: ${#files[@]} files, mode '${mode:-fast}': identical"
  else
    failed=1
    echo "FAIL: mode '${mode:-fast}': the WebAssembly build's hashes differ from takedown hash:" >&2
    diff <(cut -c1-300 "$work/wasm.jsonl") <(cut -c1-300 "$work/native.jsonl") | head -20 >&2
  fi
done
exit $failed
