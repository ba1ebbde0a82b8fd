#!/usr/bin/env bash
# Issue 21's shard figures: a content index of CONTENT items on a PostgreSQL of the benchmark's
# own (Debian's initdb and pg_ctl in DIR/pg, as the postgres user when run as root; Unix socket
# only), split into SHARDS shards each held by one `takedown serve --store.role gate` process,
# against one process holding it all. Prints each process's load time and memory (VmRSS), and the
# sweep latency (p50, p99) both ways.
#   scripts/bench-shards.sh [CONTENT=1000000] [SHARDS=4] [REPORTED=50] [DIR=build/bench-shards]
#                           [BIN=build/takedown] [BENCH=build/bench/takedown-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
for kv in "$@"; do export "${kv?}"; done
CONTENT=${CONTENT:-1000000} SHARDS=${SHARDS:-4} REPORTED=${REPORTED:-50} DIR=${DIR:-build/bench-shards}
BIN=${BIN:-build/takedown} BENCH=${BENCH:-build/bench/takedown-bench}
if [ ! -x "$BENCH" ] || [ ! -x "$BIN" ]; then echo "bench-shards: build first: scripts/build.sh release" >&2; exit 2; fi
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || { echo "bench-shards: PostgreSQL 15 is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
as_pg=()
[ "$(id -u)" != 0 ] || as_pg=(runuser -u postgres --)
rm -rf "$DIR" && mkdir -p "$DIR/pg"
[ "$(id -u)" != 0 ] || chown postgres "$DIR/pg"
sock=$(realpath "$DIR/pg")
"${as_pg[@]}" "$pgbin/initdb" -D "$DIR/pg/data" -U takedown --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
pg_ctl() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 120 -o "-c listen_addresses='' -c unix_socket_directories=$sock" "$@" >/dev/null; }
. scripts/lib/gate.sh
gate_pids=""
cleanup() {
  stop_gates
  wait 2>/dev/null || true
  pg_ctl -m fast stop || true
}
pg_ctl start
trap cleanup EXIT
psql "host=$sock user=takedown dbname=postgres" -qc "CREATE DATABASE takedown"
url="host=$sock user=takedown dbname=takedown"
args=(--store-url "$url" --content "$CONTENT" --reported "$REPORTED" --shards "$SHARDS")
"$BENCH" shards-seed "${args[@]}"
psql "$url" -Atc "SELECT 'content table with its indexes: ' || pg_size_pretty(pg_total_relation_size('content')) || ', ' || (pg_total_relation_size('content') / greatest(count(*), 1)) || ' bytes a row' FROM content"

start() {  # NAME ARGS...: a gate replica, once ready
  start_gate "$@"
  gate_line "$1"
}
echo "== $SHARDS processes, one shard each"
for i in $(seq 0 $((SHARDS - 1))); do
  start "shard-$i-of-$SHARDS" --content.shards "$SHARDS" --content.hold "$i"
done
echo "== sweeps"
"$BENCH" shards "${args[@]}"
echo "== one process holding the whole index, for its memory"
start "whole-index" --content.shards 1
