#!/usr/bin/env bash
# Hostile clients against `takedown serve` (issue 17), on loopback: starts a server on a fresh
# store and runs `takedown-bench edge` against it:
#   1. memory while ATTACKERS clients without a key each send a 400 MB chunked body and one sends a
#      1 GiB gzip bomb (goal: the server's RSS grows < 50 MB);
#   2. /healthz latency while SLOW connections send their headers one byte a second, re-opened
#      whenever the server cuts them off (goal: p99 < 50 ms).
# Usage: scripts/bench-edge.sh            (env: ATTACKERS=8 SLOW=500 DURATION=20 DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh
ATTACKERS=${ATTACKERS:-8}
SLOW=${SLOW:-500}
DURATION=${DURATION:-20}
DIR=${DIR:-build/bench-edge}
[ "${SKIP_SETUP:-0}" = 1 ] || scripts/setup.sh
scripts/build.sh release >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

rm -rf "$DIR"
mkdir -p "$DIR"
build/takedown admin create-key --create --store "$DIR/takedown.db" --role admin --name bench >/dev/null
pid=""
trap 'kill $pid 2>/dev/null || true' EXIT
start_serve "$DIR"
echo "== server pid $pid on port $port (defaults: server.threads, header_timeout_s, max_connections_per_client)"
rc=0
build/bench/takedown-bench edge --port "$port" --pid "$pid" --attackers "$ATTACKERS" --slow "$SLOW" --duration "$DURATION" || rc=$?
kill -TERM $pid
wait $pid || true
trap - EXIT
exit $rc
