#!/usr/bin/env bash
# Installs what is needed, builds with ASan+UBSan, and runs the whole test suite through CTest.
# Tests that need ../shared say so loudly when it is missing; everything else still runs.
# TAKEDOWN_FULL_CORPUS=1 runs the corpus tests on every photo instead of a representative subset.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Formatting and clang's thread-safety analysis first: they fail in seconds, the suite in minutes.
scripts/check-format.sh
scripts/check-threads.sh
scripts/build.sh asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" --timeout 900
# The request parsers under libFuzzer, briefly (scripts/fuzz.sh SECONDS for a longer run).
scripts/fuzz.sh "${TAKEDOWN_FUZZ_SECONDS:-30}"
