#!/usr/bin/env bash
# The console's browser tests (Playwright driving Debian's Chromium, axe-core).
# Usage: tests/browser/run.sh TAKEDOWN_BINARY SCREENSHOT_DIR
# Each test file starts its own `takedown serve` on a fresh store (lib/server.mjs) with a webhook
# receiver standing in for the platform: it checks each delivery's signature and acknowledges it.
# A screenshot of every screen, in English and Korean at 1280 and 390 px, goes to SCREENSHOT_DIR.
# TAKEDOWN_CONSOLE_PREVIEW=1: test console/dist through `vite preview` (the API proxied to takedown)
# when the takedown binary does not serve the console yet (=force: always, for a newer console/dist).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 TAKEDOWN_BINARY SCREENSHOT_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
takedown=$(abs "$1") shots=$(abs "$2")
[ -x "$takedown" ] || { echo "FAIL: takedown binary not found or not executable: $takedown" >&2; exit 1; }
if [ ! -x /usr/bin/chromium ]; then
  echo "FAIL: /usr/bin/chromium is missing: install it with scripts/setup.sh (Debian's chromium and fonts-nanum)" >&2
  exit 1
fi
for m in playwright-core axe-core; do
  if [ ! -d "$here/node_modules/$m" ]; then
    echo "FAIL: tests/browser/node_modules/$m is missing: run 'npm ci' in tests/browser (or scripts/setup.sh)" >&2
    exit 1
  fi
done
command -v node >/dev/null || { echo "FAIL: node is missing: run scripts/setup.sh" >&2; exit 1; }
mkdir -p "$shots"
cd "$here"
export TAKEDOWN_BINARY=$takedown SCREENSHOT_DIR=$shots
exec node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs
