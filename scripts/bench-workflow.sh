#!/usr/bin/env bash
# Workflow benchmark (issue 7): a fresh store with a content index of CONTENT items (default 1M,
# backfilled through the API) and COPIES copies (default 50: identical, re-encoded, downscaled,
# greyscale) of a reported image in different chats; a trusted regulator's request; prints the
# time from the request's acceptance to the last removal acknowledged by the example platform
# (target < 2 s, every copy found), the sweep alone, and the outbox's delivery rate to a fast
# receiver (2,000 removals); then a reported video with VIDEO_COPIES (default 20) copies made by the
# ffmpeg CLI (identical, re-encoded, half size, 15 fps, greyscale) from VIDEO (default: the first
# .mp4 of ../shared/media/videos, else a generated test video).
# OUTBOX (default 2000) sets how many removals the outbox's rate is measured on; WORKERS the
# delivery workers (webhook.workers).
# Usage: scripts/bench-workflow.sh     (env: CONTENT, COPIES, VIDEO, VIDEO_COPIES, OUTBOX, WORKERS,
#                                        DIR, SKIP_SETUP=1)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-0}" = 1 ] || scripts/setup.sh
scripts/build.sh release >/dev/null
dir=${DIR:-build/bench-workflow}
rm -rf "$dir"
mkdir -p "$dir"
store=$dir/takedown.db
key() { build/takedown admin create-key --create --role "$1" --name "bench-$1" --store "$store" 2>/dev/null; }
export TAKEDOWN_ADMIN_KEY=$(key admin) TAKEDOWN_PLATFORM_KEY=$(key platform) TAKEDOWN_REQUESTER_KEY=$(key requester)
export TAKEDOWN_WEBHOOK_SECRET=$(head -c 24 /dev/urandom | base64)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/takedown serve --store.path "$store" --server.port 0 --log.level warn ${WORKERS:+--webhook.workers "$WORKERS"} --webhook.url "http://127.0.0.1:$port/takedown/webhook" >"$dir/serve.out" 2>"$dir/serve.err" &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
url=""
until [ -n "$url" ] && curl -sf "$url/readyz" >/dev/null; do
  sleep 0.1
  kill -0 $serve || { cat "$dir/serve.err"; exit 1; }
  url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$dir/serve.out")
done
build/examples/platform/takedown-example-platform --bench --takedown "$url" --listen "$port" \
  --bench-content "${CONTENT:-1000000}" --copies "${COPIES:-50}" --media ../shared/media/photos \
  --video "${VIDEO:-$(ls ../shared/media/videos/*.mp4 2>/dev/null | head -1)}" --video-copies "${VIDEO_COPIES:-20}" \
  --bench-outbox "${OUTBOX:-2000}"
