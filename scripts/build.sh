#!/usr/bin/env bash
# Configures and builds takedown. Usage: scripts/build.sh [release|service|asan]   (default: release)
#   release -> build/        optimised, with the tests and benchmarks: what benchmarks run
#   service -> build/        optimised, the service and the example platform only: what
#                            scripts/run.sh and scripts/package.sh build (needs only
#                            `scripts/setup.sh service`)
#   asan    -> build-asan/   AddressSanitizer + UndefinedBehaviorSanitizer, what the tests run
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release -DTAKEDOWN_BUILD_TESTS=ON -DTAKEDOWN_BUILD_BENCH=ON) ;;
  service) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release -DTAKEDOWN_BUILD_TESTS=OFF -DTAKEDOWN_BUILD_BENCH=OFF) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAKEDOWN_SANITIZE=ON -DTAKEDOWN_SANDBOX_FAULTS=ON) ;;
  *) echo "usage: $0 [release|service|asan]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
