# shellcheck shell=sh
# Sourced by the PostgreSQL benchmark scripts (bench-replicas.sh, bench-shards.sh): one
# `takedown serve --store.role gate` (or $ROLE) on the benchmark's database ($BIN, $url; output
# in $DIR).
#   start_gate NAME [serve flags...]   starts it (store.role $ROLE, gate unless set) and waits
#                                      until its indexes are loaded; sets pid
#                                      and adds it to gate_pids (the caller kills them on exit);
#                                      exits 1 naming it when it stops first or is not ready
#                                      within 10 minutes
#   gate_line NAME [LABEL]             LABEL (NAME), what NAME's ready line says it loaded,
#                                      and the VmRSS of the last one started
#   stop_gates                         kills every one started
start_gate() {
  gate_name=$1
  shift
  # shellcheck disable=SC2154  # BIN, url and DIR are the caller's
  "$BIN" serve --store.backend postgres --store.url "$url" --store.role "${ROLE:-gate}" --server.port 0 \
    --sandbox.enabled false "$@" >"$DIR/$gate_name.out" 2>"$DIR/$gate_name.err" &
  pid=$!
  gate_pids="${gate_pids:-} $pid"
  gate_tries=0
  until grep -q 'ready: ' "$DIR/$gate_name.err"; do
    kill -0 "$pid" 2>/dev/null || { echo "$0: $gate_name exited:" >&2; tail -5 "$DIR/$gate_name.err" >&2; exit 1; }
    gate_tries=$((gate_tries + 1))
    [ "$gate_tries" -lt 3000 ] || { echo "$0: $gate_name never became ready" >&2; exit 1; }
    sleep 0.2
  done
}
gate_line() {
  printf '%-28s %s; VmRSS %s MiB\n' "${2:-$1}" "$(sed -n 's/.*ready: \(.*\)$/\1/p' "$DIR/$1.err")" \
    "$(awk '/^VmRSS:/ {printf "%d", $2/1024}' "/proc/$pid/status")"
}
stop_gates() {
  for gate_pid in ${gate_pids:-}; do kill "$gate_pid" 2>/dev/null || true; done
}
