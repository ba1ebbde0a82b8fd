#!/usr/bin/env bash
# Fuzzes the HTTP request parsers (fuzz/request_parse_fuzz.cc) and the sandboxed decoder worker's
# entry point (fuzz/worker_job_fuzz.cc, media into signals) with libFuzzer + ASan + UBSan.
# Usage: scripts/fuzz.sh [SECONDS]   (each target; default 60; the test run uses 30)
# Starts from fuzz/corpus and fuzz/corpus-worker (copied, so the repository is not written); a
# crash leaves its input in build-fuzz/ and fails the script with libFuzzer's report.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAKEDOWN_FUZZ=ON \
  -DTAKEDOWN_BUILD_TESTS=OFF -DTAKEDOWN_BUILD_BENCH=OFF -DTAKEDOWN_CONSOLE=OFF >/dev/null
# The build's output only when it fails (it went to /dev/null, so a failing build ended CI silently).
cmake --build build-fuzz --target request_parse_fuzz worker_job_fuzz >build-fuzz/build.log 2>&1 || {
  grep -E "error|undefined reference" build-fuzz/build.log | head -40 >&2
  echo "fuzz: building the fuzz targets FAILED (build-fuzz/build.log)" >&2
  exit 1
}
# name corpus-dir max-len: each target from its corpus (copied, so the repository is not written)
run() {
  local name=$1 corpus=$2 max_len=$3
  mkdir -p "build-fuzz/$name-corpus"
  cp -n "$corpus"/* "build-fuzz/$name-corpus/" 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s" >&2
  "build-fuzz/fuzz/$name" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/$name-" "build-fuzz/$name-corpus" 2>"build-fuzz/$name.log" || {
    tail -50 "build-fuzz/$name.log" >&2
    echo "fuzz: $name FAILED -- the input is in build-fuzz/ ($name-crash-*, -leak-*, -timeout-*)" >&2
    exit 1
  }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzz/$name.log" >&2 || true
  echo "fuzz: $name: no crash in ${seconds}s" >&2
}
# The request parsers: every body a client can send.
run request_parse_fuzz fuzz/corpus 65536
# The sandboxed worker's entry point: media as uploads, evidence and mail bring it.
run worker_job_fuzz fuzz/corpus-worker 262144
