#!/usr/bin/env bash
# Configures and builds takedown. Usage: scripts/build.sh [release|asan]   (default: release)
#   release -> build/        optimised, what users and benchmarks run
#   asan    -> build-asan/   AddressSanitizer + UndefinedBehaviorSanitizer, what the tests run
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAKEDOWN_SANITIZE=ON) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
