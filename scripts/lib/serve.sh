# Sourced by the benchmark scripts: starts `build/takedown serve` on a free loopback port and
# waits until it is ready (indexes loaded).
#   start_serve DIR [serve flags...]   store DIR/takedown.db, output in DIR/serve.out and
#                                      DIR/serve.log; sets pid and port; exits 1 with the log
#                                      when the server stops before it is ready.
start_serve() {
  local dir=$1
  shift
  build/takedown serve --store.path "$dir/takedown.db" --server.port 0 --log.level warn "$@" \
    >"$dir/serve.out" 2>"$dir/serve.log" &
  pid=$!
  port=""
  until [ -n "$port" ]; do
    sleep 0.1
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$dir/serve.out")
    kill -0 $pid 2>/dev/null || { cat "$dir/serve.log"; exit 1; }
  done
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
}
