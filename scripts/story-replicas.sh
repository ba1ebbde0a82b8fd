#!/usr/bin/env bash
# The story across three replicas on one PostgreSQL, on this machine (loopback, a Unix socket):
# a PostgreSQL server of its own in a temporary directory (Debian's initdb and pg_ctl, as the
# `postgres` user when run as root); replica A (store.role all: holds the workflow lease), replica
# B (store.role all: a standby serving the upload gate) and replica C (store.role gate). The
# example platform uploads through B and C in turn; the regulator files at A; A's sweep finds the
# copies recorded at B and C, its removals are delivered once each, and the re-upload is blocked
# at a gate. Then A is killed (-9): B takes the workflow over when A's lease lapses, and serves it
# across a restart of PostgreSQL; the request, its removals and the audit chain are all there.
# With WORKFLOW=shared, A and B both run the workflow (store.workflow shared): B serves it from
# the start, and goes on alone after A's kill.
#
# Usage: [WORKFLOW=lease|shared] scripts/story-replicas.sh [TAKEDOWN_BINARY EXAMPLE_BINARY [MEDIA_DIR]]
#   (defaults: build/takedown, build/examples/platform/takedown-example-platform, no photos:
#   generated pictures)
# Exits 77 (skipped) where PostgreSQL is not installed.
# CTest runs it (StoryOnThreeReplicas) on the test build.
set -euo pipefail
cd "$(dirname "$0")/.."
takedown=$(realpath "${1:-build/takedown}")
example=$(realpath "${2:-build/examples/platform/takedown-example-platform}")
media=${3:-/nonexistent-no-photos}
lease_s=5
workflow=${WORKFLOW:-lease}
case "$workflow" in lease|shared) ;; *) echo "story-replicas: WORKFLOW must be lease or shared, not '$workflow'" >&2; exit 2 ;; esac
bin=""
for v in 15 16 17; do
  if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then bin=/usr/lib/postgresql/$v/bin; break; fi
done
# Exit 77 (CTest: skipped, saying why) where PostgreSQL is not installed.
[ -n "$bin" ] || { echo "story-replicas: SKIPPED, PostgreSQL's server programs are not installed: run scripts/setup.sh (Debian package postgresql)" >&2; exit 77; }
dir=$(mktemp -d)
as=""
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "story-replicas: SKIPPED, running as root and there is no postgres user to run PostgreSQL as (the Debian package postgresql creates it)" >&2; exit 77; }
  chown postgres: "$dir"
  chmod 755 "$dir"
  as="runuser -u postgres --"
fi
pids=()
pg_up=0
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  [ "$pg_up" = 1 ] && $as "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "story-replicas: FAILED: $*" >&2
  for f in "$dir"/*.err; do echo "--- $f (last lines)" >&2; tail -n 15 "$f" >&2; done
  exit 1
}
pgctl() {
  $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/pg/server.log" -w -t 60 -m immediate \
    -o "-c listen_addresses='' -c unix_socket_directories=$dir/pg -c fsync=off" "$@" >/dev/null
}
echo "== PostgreSQL of its own in $dir"
$as mkdir "$dir/pg"
$as "$bin/initdb" -D "$dir/data" -U takedown --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 || fail "initdb: $(cat "$dir/pg/initdb.log")"
pgctl start || fail "pg_ctl start: $(cat "$dir/pg/server.log" 2>/dev/null)"
pg_up=1
url="host=$dir/pg user=takedown dbname=postgres"
store=(--store.backend postgres --store.url "$url")
key() { "$takedown" admin create-key --role "$1" --name "story-$1" "${store[@]}" 2>>"$dir/keys.err" | head -n 1; }
export TAKEDOWN_ADMIN_KEY=$(key admin) TAKEDOWN_PLATFORM_KEY=$(key platform) TAKEDOWN_REQUESTER_KEY=$(key requester)
export TAKEDOWN_WEBHOOK_SECRET=story-secret
[ -n "$TAKEDOWN_ADMIN_KEY" ] && [ -n "$TAKEDOWN_PLATFORM_KEY" ] && [ -n "$TAKEDOWN_REQUESTER_KEY" ] || fail "admin create-key on PostgreSQL"
hook_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The key files are shared by the processes that may run the workflow (here: one directory).
common=("${store[@]}" --server.port 0 --store.workflow "$workflow" --store.lease_s "$lease_s" --webhook.url "http://127.0.0.1:$hook_port/takedown/webhook"
  --evidence.key_file "$dir/evidence.key" --packages.signing_key_file "$dir/package-signing.key")
declare -A url_of pid_of
start() {  # NAME ARGS...: starts a replica and waits until /readyz answers
  local name=$1; shift
  : >"$dir/$name.out"
  "$takedown" serve "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
  pid_of[$name]=$!
  pids+=($!)
  local u=""
  for _ in $(seq 1 600); do
    u=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$dir/$name.out")
    [ -n "$u" ] && curl -sf "$u/readyz" >/dev/null && break
    kill -0 "${pid_of[$name]}" 2>/dev/null || fail "replica $name exited at start"
    sleep 0.1
  done
  curl -sf "$u/readyz" >/dev/null || fail "replica $name not ready"
  url_of[$name]=$u
}
status_of() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1"; }
start A "${common[@]}"
start B "${common[@]}"
start C "${common[@]}" --store.role gate
if [ "$workflow" = lease ]; then
  grep -q "standby: the workflow lease is held by takedown serve pid ${pid_of[A]} " "$dir/B.err" || fail "B is not A's standby"
  echo "== replicas: A ${url_of[A]} (workflow), B ${url_of[B]} (standby, upload gate), C ${url_of[C]} (upload gate)"
  [ "$(status_of "${url_of[B]}/v1/actions" "$TAKEDOWN_PLATFORM_KEY")" = 503 ] || fail "B serves the workflow while A holds the lease"
else
  echo "== replicas: A ${url_of[A]} and B ${url_of[B]} (both run the workflow: store.workflow shared), C ${url_of[C]} (upload gate)"
  [ "$(status_of "${url_of[B]}/v1/actions" "$TAKEDOWN_PLATFORM_KEY")" = 200 ] || fail "B does not run the workflow beside A"
fi

echo "== the story: uploads through B and C, the request at A"
"$example" --story --takedown "${url_of[A]}" --gate "${url_of[B]}" --gate "${url_of[C]}" --listen "$hook_port" --media "$media" | tee "$dir/story.out" || fail "the story"
grep -q '^== done: 6 copies found and removed, request confirmed, re-upload block$' "$dir/story.out" || fail "the story did not end done"
grep -q '^== deliveries applied once each: 6 removals, 0 delivered again$' "$dir/story.out" || fail "a removal was delivered twice"
grep -q 'through the gate at '"${url_of[B]}" "$dir/story.out" && grep -q 'through the gate at '"${url_of[C]}" "$dir/story.out" || fail "uploads did not go through both gates"

if [ "$workflow" = lease ]; then
  echo "== kill -9 of A (the workflow's process): B takes over when A's lease lapses (store.lease_s $lease_s)"
else
  echo "== kill -9 of A: B, running the workflow already, goes on alone"
fi
killed=$(date +%s.%N)
kill -9 "${pid_of[A]}"
wait "${pid_of[A]}" 2>/dev/null || true
pids=("${pid_of[B]}" "${pid_of[C]}")
taken=""
for _ in $(seq 1 300); do
  if [ "$(status_of "${url_of[B]}/v1/actions" "$TAKEDOWN_PLATFORM_KEY")" = 200 ]; then taken=$(date +%s.%N); break; fi
  sleep 0.1
done
[ -n "$taken" ] || fail "B did not take the workflow over"
echo "  B serves the workflow $(python3 -c "print(f'{$taken - $killed:.1f}')") s after the kill"
id=$(sed -n 's/^  request \([0-9]*\) accepted in .*/\1/p' "$dir/story.out")
[ -n "$id" ] || fail "no request id in the story's output"
view=$(curl -sf -H "Authorization: Bearer $TAKEDOWN_REQUESTER_KEY" "${url_of[B]}/v1/requests/$id") || fail "request $id at B"
python3 - "$view" "$id" <<'PY' || fail "request $id as B sees it: $view"
import json, sys
v = json.loads(sys.argv[1])
assert v["status"] == "confirmed", v["status"]
assert len(v["removals"]) == 6, len(v["removals"])
print(f"  request {sys.argv[2]} at B: {v['status']}, {len(v['removals'])} removals")
PY

echo "== a restart of PostgreSQL: B keeps the workflow, C the gate"
pgctl restart
sleep $((lease_s + 1))
kill -0 "${pid_of[B]}" 2>/dev/null || fail "B exited across the restart"
[ "$(status_of "${url_of[B]}/v1/actions" "$TAKEDOWN_PLATFORM_KEY")" = 200 ] || fail "B's workflow after the restart"
check=$(curl -s -X POST -H "Authorization: Bearer $TAKEDOWN_PLATFORM_KEY" -H 'Content-Type: application/json' \
  -d '{"content_id":"after-restart","chat_id":"c","uploader_id":"u","signals":{"pdq":"'"$(python3 -c 'import hashlib; print(hashlib.sha256(b"x").hexdigest())')"'"}}' "${url_of[C]}/v1/check")
echo "$check" | grep -q '"decision"' || fail "C's gate after the restart: $check"
echo "  B runs the workflow, C answers the gate"

kill -TERM "${pid_of[B]}" "${pid_of[C]}"
wait "${pid_of[B]}" || fail "B did not stop cleanly"
wait "${pid_of[C]}" || fail "C did not stop cleanly"
pids=()
"$takedown" audit verify "${store[@]}" || fail "audit verify"
echo "== done: the story across three replicas, a kill -9 and a restart of PostgreSQL"
