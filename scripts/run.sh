#!/usr/bin/env bash
# The main job: install what is needed, build, and start `takedown serve` on an embedded SQLite
# store (var/takedown.db unless TAKEDOWN_STORE_PATH or --store.path says otherwise), listening on
# http://127.0.0.1:8080. On the first start it creates an admin API key and prints it once.
# Usage: scripts/run.sh [serve flags, e.g. --config config/takedown.toml --server.port 9090]
# Ctrl-C or SIGTERM stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release >/dev/null
store=${TAKEDOWN_STORE_PATH:-var/takedown.db}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--store.path" ] && store=${args[$((i + 1))]:-$store}
done
mkdir -p "$(dirname "$store")"
if [ -z "$(build/takedown admin list-keys --store "$store")" ]; then
  key=$(build/takedown admin create-key --role admin --name first-admin --store "$store" 2>/dev/null)
  cat >&2 <<MSG
run.sh: a new store at $store; its first admin API key (shown only now, keep it secret):

    $key

  try:  curl -H "Authorization: Bearer $key" http://127.0.0.1:8080/v1/whoami   (the port printed below)
  more keys:  build/takedown admin create-key --role platform --name NAME --store $store

MSG
fi
exec build/takedown serve --store.path "$store" "$@"
