#!/usr/bin/env bash
# The main job: install what is needed, build, start `takedown serve` on an embedded SQLite store
# (var/takedown.db unless TAKEDOWN_STORE_PATH or --store.path says otherwise) with the example
# platform (examples/platform) as its webhook receiver, then tell the story: chats fill up through
# the upload gate, a regulator reports an image, every copy in every chat is removed, the
# regulator gets its confirmation, a re-upload is blocked, the uploader's statement of reasons,
# the transparency report. The service and the example platform keep running afterwards
# (Ctrl-C or SIGTERM stops both gracefully).
# On the first start it creates an admin API key and prints it once; the demo's own keys and the
# webhook secret are kept in var/ (mode 600).
# Usage: scripts/run.sh [serve flags, e.g. --server.port 9090]   (env: TAKEDOWN_DEMO_PORT=8081,
#        TAKEDOWN_DEMO_MEDIA=../shared/media/photos, TAKEDOWN_STORY=0 to skip the story)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh service
scripts/build.sh service >/dev/null
store=${TAKEDOWN_STORE_PATH:-var/takedown.db}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--store.path" ] && store=${args[$((i + 1))]:-$store}
done
mkdir -p "$(dirname "$store")" var
umask 077
if [ -z "$(build/takedown admin list-keys --store "$store" 2>/dev/null)" ]; then
  key=$(build/takedown admin create-key --create --role admin --name first-admin --store "$store" 2>/dev/null)
  cat >&2 <<MSG
run.sh: a new store at $store; its first admin API key (shown only now, keep it secret):

    $key

  try:  curl -H "Authorization: Bearer $key" http://127.0.0.1:8080/v1/whoami   (the port printed below)
  more keys:  build/takedown admin create-key --role platform --name NAME --store $store

MSG
fi
keys=var/demo.keys
if [ ! -s "$keys" ] || [ "$(head -1 "$keys")" != "$store" ]; then
  {
    echo "$store"
    for role in admin platform requester; do build/takedown admin create-key --create --role $role --name demo-$role --store "$store" 2>/dev/null; done
  } >"$keys"
fi
[ -s var/webhook.secret ] || head -c 24 /dev/urandom | base64 >var/webhook.secret
export TAKEDOWN_ADMIN_KEY=$(sed -n 2p "$keys") TAKEDOWN_PLATFORM_KEY=$(sed -n 3p "$keys") TAKEDOWN_REQUESTER_KEY=$(sed -n 4p "$keys")
export TAKEDOWN_WEBHOOK_SECRET=$(cat var/webhook.secret)
demo_port=${TAKEDOWN_DEMO_PORT:-8081}

out=var/serve.out
build/takedown serve --store.path "$store" --webhook.url "http://127.0.0.1:$demo_port/takedown/webhook" "$@" >"$out" &
serve=$!
platform=""
trap 'kill -TERM $serve $platform 2>/dev/null; wait $serve 2>/dev/null' EXIT INT TERM
url=""
until [ -n "$url" ]; do
  sleep 0.1
  kill -0 $serve 2>/dev/null || { echo "run.sh: takedown serve did not start" >&2; exit 1; }
  url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$out")
done
until curl -sf "$url/readyz" >/dev/null; do
  kill -0 $serve 2>/dev/null || { echo "run.sh: takedown serve stopped while loading" >&2; exit 1; }
  sleep 0.2
done
echo "run.sh: takedown serve is ready at $url (store $store)"
example=build/examples/platform/takedown-example-platform
if [ "${TAKEDOWN_STORY:-1}" != 0 ]; then
  echo
  "$example" --story --takedown "$url" --listen "$demo_port" --media "${TAKEDOWN_DEMO_MEDIA:-../shared/media/photos}"
  echo
fi
"$example" --takedown "$url" --listen "$demo_port" >var/platform.out 2>&1 &
platform=$!
echo "run.sh: serving at $url; the example platform receives webhooks on port $demo_port. Ctrl-C stops both."
wait $serve
