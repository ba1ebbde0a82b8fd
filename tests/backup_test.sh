#!/usr/bin/env bash
# Backup and restore under load (issue 22 item 5): while clients write to a running
# `takedown serve`, `takedown admin backup` makes a copy that verifies; a second serve on the same
# store and a restore under the running one are refused; the backup restored into a stopped
# store's place serves, blocks what was banked before the backup, and keeps the old store aside.
# Usage: tests/backup_test.sh TAKEDOWN_BINARY
set -euo pipefail
takedown=$1
dir=$(mktemp -d)
serve="" load=""
trap 'set +e; [ -n "$load" ] && kill $load 2>/dev/null; [ -n "$serve" ] && kill $serve 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "backup_test: FAIL: $*" >&2; exit 1; }
store=$dir/takedown.db
key() { "$takedown" admin create-key --create --role "$1" --name "b-$1" --store "$store" 2>/dev/null; }
admin=$(key admin) platform=$(key platform)

start_serve() {  # sets serve and url
  : >"$dir/serve.out"
  "$takedown" serve --store.path "$store" --server.port 0 >"$dir/serve.out" 2>"$dir/serve.err" &
  serve=$!
  url=""
  for _ in $(seq 1 300); do
    url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$dir/serve.out")
    [ -n "$url" ] && curl -sf "$url/readyz" >/dev/null && return 0
    kill -0 $serve 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/serve.err" >&2
  fail "takedown serve did not start"
}
stop_serve() { kill -TERM $serve; wait $serve || true; serve=""; }
post() {  # KEY PATH BODY -> body; the status in $dir/status
  curl -s -o "$dir/body" -w '%{http_code}' -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    --data-binary "$3" "$url$2" >"$dir/status"
  cat "$dir/body"
}
md5() { printf '%032x' "$1"; }

start_serve
post "$admin" /v1/banks '{"name":"b","category":"ncii"}' >/dev/null
[ "$(cat "$dir/status")" = 201 ] || fail "bank: $(cat "$dir/body")"
post "$admin" /v1/banks/b/entries "{\"md5\":\"$(md5 1)\"}" >/dev/null
[ "$(cat "$dir/status")" = 201 ] || fail "entry: $(cat "$dir/body")"

# Load: uploads recorded through the gate and bank entries added, until stopped.
(
  i=100
  while :; do
    i=$((i + 1))
    curl -s -o /dev/null -H "Authorization: Bearer $platform" -H 'Content-Type: application/json' \
      --data-binary "{\"content_id\":\"c$i\",\"chat_id\":\"chat\",\"signals\":{\"md5\":\"$(md5 $i)\"}}" "$url/v1/check"
    curl -s -o /dev/null -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
      --data-binary "{\"sha256\":\"$(printf '%064x' $i)\"}" "$url/v1/banks/b/entries"
  done
) &
load=$!
sleep 1

# A second serve on the same store is refused, naming the lock.
if "$takedown" serve --store.path "$store" --server.port 0 >"$dir/second.out" 2>"$dir/second.err"; then
  fail "a second serve on the same store started"
fi
grep -q 'in use by another takedown serve' "$dir/second.err" || fail "second serve: $(cat "$dir/second.err")"

# Backups while the load goes on: each verifies.
for n in 1 2 3; do
  "$takedown" admin backup --store "$store" --to "$dir/backup.db" >"$dir/backup.out" 2>&1 || { cat "$dir/backup.out"; fail "backup $n"; }
  grep -q 'audit chain intact' "$dir/backup.out" || fail "backup $n: $(cat "$dir/backup.out")"
  [ ! -e "$dir/backup.db.partial" ] || fail "a partial file was left"
done
cat "$dir/backup.out"
records=$(sed -n 's/.*audit chain intact: \([0-9]*\) records.*/\1/p' "$dir/backup.out")
[ "${records:-0}" -gt 10 ] || fail "the load wrote too little before the backup (${records:-0} audit records)"
"$takedown" audit verify --store "$dir/backup.db"
# A restore under the running service is refused, and changes nothing.
if "$takedown" admin restore --store "$store" --from "$dir/backup.db" >"$dir/r.out" 2>&1; then
  fail "restore under a running serve was accepted"
fi
grep -q 'in use by another takedown serve' "$dir/r.out" || fail "restore: $(cat "$dir/r.out")"
kill $load; wait $load 2>/dev/null || true; load=""
# What the service recorded after the backup is in the store, not in the backup.
post "$admin" /v1/banks/b/entries "{\"md5\":\"$(md5 999999)\"}" >/dev/null
[ "$(cat "$dir/status")" = 201 ] || fail "entry after the backup: $(cat "$dir/body")"
stop_serve

# Not a backup: refused before the store is touched.
echo "not a database" >"$dir/junk.db"
before=$(sha256sum "$store" | cut -d' ' -f1)
if "$takedown" admin restore --store "$store" --from "$dir/junk.db" >"$dir/r.out" 2>&1; then fail "junk restored"; fi
[ "$(sha256sum "$store" | cut -d' ' -f1)" = "$before" ] || fail "a refused restore changed the store"

"$takedown" admin restore --store "$store" --from "$dir/backup.db" | tee "$dir/r.out"
grep -q 'the old store is kept as' "$dir/r.out" || fail "the old store was not kept"
ls "$store".before-restore-* >/dev/null || fail "no .before-restore copy"
"$takedown" audit verify --store "$store"

start_serve
check() {  # MD5_NUMBER -> decision
  post "$platform" /v1/check "{\"content_id\":\"x$1\",\"signals\":{\"md5\":\"$(md5 "$1")\"}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["decision"])'
}
[ "$(check 1)" = block ] || fail "an entry banked before the backup does not block after the restore"
[ "$(check 999999)" = allow ] || fail "an entry added after the backup came back with the restore"
stop_serve
echo "backup_test: ok"
