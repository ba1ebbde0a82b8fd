#!/usr/bin/env bash
# The main job's story without apt or ../shared: a fresh store, `takedown serve` with the example
# platform as webhook receiver, generated pictures; the story must end with every copy removed,
# the request confirmed and a re-upload blocked (the example exits 0 only then).
# Usage: tests/story_test.sh TAKEDOWN_BINARY EXAMPLE_BINARY
set -euo pipefail
takedown=$1 example=$2
dir=$(mktemp -d)
serve=""
trap 'set +e; [ -n "$serve" ] && kill $serve 2>/dev/null; rm -rf "$dir"' EXIT
store=$dir/takedown.db
key() { "$takedown" admin create-key --create --role "$1" --name "story-$1" --store "$store" 2>/dev/null; }
export TAKEDOWN_ADMIN_KEY=$(key admin) TAKEDOWN_PLATFORM_KEY=$(key platform) TAKEDOWN_REQUESTER_KEY=$(key requester)
export TAKEDOWN_WEBHOOK_SECRET=story-secret
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$takedown" serve --store.path "$store" --server.port 0 --webhook.url "http://127.0.0.1:$port/takedown/webhook" >"$dir/serve.out" 2>"$dir/serve.err" &
serve=$!
url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$dir/serve.out")
  [ -n "$url" ] && curl -sf "$url/readyz" >/dev/null && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$dir/serve.err"; exit 1; }
"$example" --story --takedown "$url" --listen "$port" --media "$dir/no-photos-here" | tee "$dir/story.out"
grep -q '^== done: 6 copies found and removed, request confirmed, re-upload block$' "$dir/story.out"
kill -TERM $serve
wait $serve
serve=""
"$takedown" audit verify --store "$store"
