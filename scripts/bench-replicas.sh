#!/bin/sh
# Issue 21's propagation figure: replicas on one PostgreSQL of the benchmark's own (Debian's
# initdb and pg_ctl in DIR/pg, as the postgres user when run as root; Unix socket only; fsync
# on). Prints the time from an entry added at one replica until every other one blocks it.
#   scripts/bench-replicas.sh [REPLICAS=3] [ENTRIES=200] [DIR=build/bench-replicas] [BENCH=build/bench/takedown-bench]
set -eu
cd "$(dirname "$0")/.."
for kv in "$@"; do export "$kv"; done
REPLICAS=${REPLICAS:-3} ENTRIES=${ENTRIES:-200} DIR=${DIR:-build/bench-replicas}
BENCH=${BENCH:-build/bench/takedown-bench}
[ -x "$BENCH" ] || { echo "bench-replicas: build first: cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build takedown-bench" >&2; exit 2; }
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || { echo "bench-replicas: PostgreSQL 15 is not installed (scripts/setup.sh --tests installs it)" >&2; exit 2; }
as_pg=""
[ "$(id -u)" != 0 ] || as_pg="runuser -u postgres --"
rm -rf "$DIR" && mkdir -p "$DIR/pg"
[ "$(id -u)" != 0 ] || chown postgres "$DIR/pg"
sock=$(realpath "$DIR/pg")
$as_pg "$pgbin/initdb" -D "$DIR/pg/data" -U takedown --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
pg_ctl() { $as_pg "$pgbin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 120 -o "-c listen_addresses='' -c unix_socket_directories=$sock" "$@" >/dev/null; }
pg_ctl start
trap 'pg_ctl -m fast stop || true' EXIT
psql "host=$sock user=takedown dbname=postgres" -qc "CREATE DATABASE takedown"
"$BENCH" replicas --store-url "host=$sock user=takedown dbname=takedown" --replicas "$REPLICAS" --entries "$ENTRIES"
