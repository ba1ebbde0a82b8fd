#!/bin/sh
# Issue 21's replica figures: replicas on one PostgreSQL of the benchmark's own (Debian's
# initdb and pg_ctl in DIR/pg, as the postgres user when run as root; Unix socket only; fsync
# on). With BANK=N, the last replica is stopped while N entries are imported at the first: prints
# how long the live replicas take to hold them all, how long the stopped one takes to start again
# and the memory it adds. Then prints the time from an entry added at one replica until every
# other one blocks it (on the bank of N). Last, with BANK=N, starts one `takedown serve --store.role
# gate` on that database and prints its start time and resident memory (one replica's, with the
# bank), and one `--store.role shard` holder's (no bank).
# With WORKFLOWS=R, first prints what store.workflow shared's document locks cost: R requests
# decided (and swept) through one workflow alone, then through two sharing the store.
#   scripts/bench-replicas.sh [REPLICAS=3] [ENTRIES=200] [BANK=0] [WORKFLOWS=0]
#                             [DIR=build/bench-replicas] [BIN=build/takedown]
#                             [BENCH=build/bench/takedown-bench]
set -eu
cd "$(dirname "$0")/.."
for kv in "$@"; do export "${kv?}"; done
REPLICAS=${REPLICAS:-3} ENTRIES=${ENTRIES:-200} BANK=${BANK:-0} WORKFLOWS=${WORKFLOWS:-0}
DIR=${DIR:-build/bench-replicas}
BENCH=${BENCH:-build/bench/takedown-bench} BIN=${BIN:-build/takedown}
if [ ! -x "$BENCH" ] || [ ! -x "$BIN" ]; then echo "bench-replicas: build first: scripts/build.sh release" >&2; exit 2; fi
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || { echo "bench-replicas: PostgreSQL 15 is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
as_pg=""
[ "$(id -u)" != 0 ] || as_pg="runuser -u postgres --"
rm -rf "$DIR" && mkdir -p "$DIR/pg"
[ "$(id -u)" != 0 ] || chown postgres "$DIR/pg"
sock=$(realpath "$DIR/pg")
$as_pg "$pgbin/initdb" -D "$DIR/pg/data" -U takedown --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
pg_ctl() { $as_pg "$pgbin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 120 -o "-c listen_addresses='' -c unix_socket_directories=$sock" "$@" >/dev/null; }
pg_ctl start
. scripts/lib/gate.sh
gate_pids=""
trap 'stop_gates; pg_ctl -m fast stop || true' EXIT
psql "host=$sock user=takedown dbname=postgres" -qc "CREATE DATABASE takedown"
url="host=$sock user=takedown dbname=takedown"
[ "$WORKFLOWS" -eq 0 ] || "$BENCH" workflows --store-url "$url" --requests "$WORKFLOWS"
"$BENCH" replicas --store-url "$url" --replicas "$REPLICAS" --entries "$ENTRIES" --bank "$BANK"
[ "$BANK" -gt 0 ] || exit 0
# One replica as a process of its own: its start and its memory with the bank.
start_gate gate
sleep 12  # jemalloc gives back what loading freed after ~10 s
gate_line gate "one replica process (gate):"
# A content-shard holder on the same database (store.role shard, shard 0 of 2): it loads no bank.
ROLE=shard start_gate shard --content.shards 2 --content.hold 0
sleep 12
gate_line shard "one shard holder (shard):"
