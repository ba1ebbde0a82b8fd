#!/usr/bin/env bash
# Fuzzes the HTTP request parsers (fuzz/request_parse_fuzz.cc) with libFuzzer + ASan + UBSan.
# Usage: scripts/fuzz.sh [SECONDS]   (default 60; the test run uses 30)
# Starts from fuzz/corpus (copied, so the repository is not written); a crash leaves its input
# in build-fuzz/ and fails the script with libFuzzer's report.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAKEDOWN_FUZZ=ON \
  -DTAKEDOWN_BUILD_TESTS=OFF -DTAKEDOWN_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target request_parse_fuzz >/dev/null
mkdir -p build-fuzz/corpus
cp -n fuzz/corpus/* build-fuzz/corpus/ 2>/dev/null || true
echo "fuzz: request parsers for ${seconds}s" >&2
build-fuzz/fuzz/request_parse_fuzz -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix=build-fuzz/ build-fuzz/corpus 2>build-fuzz/fuzz.log || {
  tail -50 build-fuzz/fuzz.log >&2
  echo "fuzz: FAILED -- the input is in build-fuzz/ (crash-*, leak-*, timeout-*)" >&2
  exit 1
}
grep -E "stat::number_of_executed_units|stat::new_units_added" build-fuzz/fuzz.log >&2 || true
echo "fuzz: no crash in ${seconds}s" >&2
