#!/usr/bin/env bash
# The C++ sources as clang-format (Debian's, .clang-format: Google style, 100 columns) writes
# them. Lists every file that is not, and fails. Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <( (git ls-files; git ls-files --others --exclude-standard) | sort -u |
  grep -E '^(src|tests|bench|examples|fuzz|wasm)/.*\.(h|cc)$' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  echo "check-format: formatted ${#files[@]} files" >&2
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! clang-format --dry-run --Werror "${files[@]}" 2>"$log"; then
  grep -E '^[^ ].*: error:' "$log" | cut -d: -f1 | sort -u | sed 's/^/check-format: not formatted: /' >&2
  echo "check-format: FAILED -- run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted" >&2
