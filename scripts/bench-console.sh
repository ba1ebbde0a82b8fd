#!/usr/bin/env bash
# Console benchmark: with PENDING requests pending review (default 10,000) and ITEMS content items
# in the content index (default 1,000,000), how long Chromium (1280x800, signed in as a reviewer)
# takes until the review queue's first page of rows is shown and clickable (/console/queue), and
# until a request's page shows its Summary and an enabled Approve button (/console/requests/ID);
# 5 runs each after a warm-up, median and max (goal: < 1 s each). Also the console's assets' total
# size, raw and gzip -9 (goal: < 300 KB compressed), the server's own time for the API calls the
# pages make, and the load rates (items/s, requests/s).
# A fresh store in a temporary folder (removed at the end, also on error or Ctrl-C); nothing is
# built: it uses build/takedown (release) if present, else build-asan/takedown (whose figures are
# pessimistic), or --binary PATH. Needs node, /usr/bin/chromium and tests/browser/node_modules
# (playwright-core): scripts/setup.sh, or `npm ci` in tests/browser.
# Usage: scripts/bench-console.sh [--pending N] [--items N] [--binary PATH] [--runs N]
#                                 [--concurrency N]
# It prints figures and whether each goal is met; it is not a pass/fail test (exit 0 unless the
# benchmark itself fails).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pending=10000 items=1000000 binary="" runs=5 conc=16
while [ $# -gt 0 ]; do
  case $1 in
    --pending) pending=$2; shift 2 ;;
    --items) items=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --concurrency) conc=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  if [ -x build/takedown ]; then binary=build/takedown
  elif [ -x build-asan/takedown ]; then binary=build-asan/takedown
  else echo "no takedown binary: build/takedown or build-asan/takedown (or pass --binary PATH)" >&2; exit 1
  fi
fi
case $binary in /*) ;; *) binary=$root/$binary ;; esac
[ -x "$binary" ] || { echo "takedown binary not found or not executable: $binary" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is missing (scripts/setup.sh)" >&2; exit 1; }
[ -d tests/browser/node_modules/playwright-core ] || { echo "tests/browser/node_modules/playwright-core is missing: run 'npm ci' in tests/browser" >&2; exit 1; }
command -v node >/dev/null || { echo "node is missing (scripts/setup.sh)" >&2; exit 1; }

asan=0
case $binary in *asan*) asan=1 ;; esac
[ $asan = 1 ] || ! grep -q -a -m1 AddressSanitizer "$binary" || asan=1
echo "binary: $binary"
[ $asan = 0 ] || echo "  (an AddressSanitizer build: its figures are pessimistic, a release build is several times faster)"

# Everything temporary (the store, Chromium's profile) under one folder, removed however we end.
work=$(mktemp -d "${TMPDIR:-/tmp}/takedown-bench-console.XXXXXX")
node_pid=""
cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

args=(--pending "$pending" --items "$items" --binary "$binary" --runs "$runs" --concurrency "$conc")
[ $asan = 0 ] || args+=(--asan)
TMPDIR=$work ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} node bench/console/measure.mjs "${args[@]}" &
node_pid=$!
wait "$node_pid"
