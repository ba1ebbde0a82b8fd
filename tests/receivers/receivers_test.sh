#!/usr/bin/env bash
# The webhook receivers in examples/receivers (Python, Node.js, Go; standard libraries only), each
# against a real `takedown serve`: a bank, uploads through the receiver's `check` (the upload
# gate), a request filed and approved, the removal webhook applied once; then a replay of the same
# signed delivery (200, "duplicate", not applied again, also after the receiver restarts), a
# tampered body, a wrong, a missing and a stale signature (401, not applied), an oversized body
# (413), and a re-upload blocked by `check`.
# Needs python3, curl, node (Debian: nodejs) and go (Debian: golang-go); a missing one FAILS.
# Usage: tests/receivers/receivers_test.sh TAKEDOWN_BINARY [python node go]
#        (RECEIVERS_TEST_KEEP=1 keeps the temporary directory: logs, captured deliveries)
set -euo pipefail
takedown=$(realpath "$1")
shift
langs=("$@")
[ ${#langs[@]} -gt 0 ] || langs=(python node go)
root=$(cd "$(dirname "$0")/../.." && pwd)
examples=$root/examples/receivers
start=$SECONDS

fail() { echo "receivers_test: FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "'$1' is not installed: apt-get install -y $2"; }
need python3 python3
need curl curl
for l in "${langs[@]}"; do
  case $l in
    node) need node nodejs ;;
    go) need go golang-go ;;
    python) ;;
    *) fail "unknown receiver '$l' (python, node, go)" ;;
  esac
done

dir=$(mktemp -d)
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "${RECEIVERS_TEST_KEEP:-}" ]; then echo "receivers_test: kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Go without a network: the standard library only, caches under /tmp (kept between runs).
export GOPROXY=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
gohome=${TMPDIR:-/tmp}/takedown-receivers-go-$(id -u)
export GOCACHE=$gohome/cache GOPATH=$gohome/path

# Two generated pictures (no ../shared): the one to be reported and an unrelated one.
python3 - "$dir/reported.png" "$dir/other.png" <<'PY'
import math, random, struct, sys, zlib
def png(path, seed, w=200, h=150):
    rnd = random.Random(seed)
    fx, fy, ph = 0.01 + 0.03 * rnd.random(), 0.01 + 0.03 * rnd.random(), 6.28 * rnd.random()
    blobs = [(w * rnd.random(), h * rnd.random(), 10 + 40 * rnd.random(),
              [rnd.randrange(256) for _ in range(3)]) for _ in range(6)]
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            p = [int(127 + 100 * math.sin(fx * x * (k + 1) + fy * y + ph)) for k in range(3)]
            for bx, by, r, c in blobs:
                if (x - bx) ** 2 + (y - by) ** 2 < r * r: p = c
            rows += bytes(p)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b""))
png(sys.argv[1], 7)
png(sys.argv[2], 8)
PY

for l in "${langs[@]}"; do
  if [ "$l" = go ]; then
    (cd "$examples/go" && go build -o "$dir/receiver-go" .) || fail "go build of examples/receivers/go"
  fi
done

# Counts lines of a receiver log with the given result ("applied", "duplicate") and content id.
count() { python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    a = json.loads(l)
    n += a["result"] == sys.argv[2] and a.get("content_id") == sys.argv[3]
print(n)' "$@"; }
# Waits for a line "... http://HOST:PORT..." in FILE; prints the URL (without its path).
wait_url() {
  local file=$1 pid=$2 what=$3 url=""
  for _ in $(seq 1 150); do
    url=$(sed -n 's|.*listening on \(http://[0-9.]*:[0-9]*\).*|\1|p' "$file" | head -1)
    [ -n "$url" ] && { echo "$url"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$file" "$file.err" >&2 || true
  fail "$what did not start"
}
# POSTs JSON with a bearer key; prints the body; fails on an unexpected status.
api() {
  local key=$1 path=$2 body=$3 want=$4 out code
  out=$(curl -sS -o "$dir/api.out" -w '%{http_code}' -X POST "$url$path" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "$body") || fail "POST $path: curl failed"
  code=$out
  [ "$code" = "$want" ] || fail "POST $path: HTTP $code (want $want): $(cat "$dir/api.out")"
  cat "$dir/api.out"
}
# Sends the captured delivery, or a variant of it, to the receiver; prints the HTTP status.
send() { curl -sS -o /dev/null -w '%{http_code}' -X POST "$hook" -H "@$1" --data-binary "@$2" "${@:3}"; }
json_get() { python3 -c 'import json, sys; print(eval("json.load(sys.stdin)" + sys.argv[1]))' "$1"; }

secret="receivers-test-secret-$RANDOM$RANDOM"
export TAKEDOWN_WEBHOOK_SECRET=$secret
for l in "${langs[@]}"; do
  t0=$SECONDS
  d=$dir/$l
  mkdir -p "$d"
  case $l in
    python) cmd=(python3 "$examples/python/receiver.py") ;;
    node) cmd=(node "$examples/node/receiver.js") ;;
    go) cmd=("$dir/receiver-go") ;;
  esac
  store=$d/takedown.db
  key() { "$takedown" admin create-key --create --role "$1" --name "receivers-$1" --store "$store" 2>/dev/null; }
  admin=$(key admin) platform=$(key platform) requester=$(key requester) reviewer=$(key reviewer)

  # The receiver first (any free port), then takedown with its webhook pointing at it.
  start_receiver() {
    "${cmd[@]}" serve --port 0 --log "$d/actions.jsonl" --capture "$d/first" >"$d/receiver.out" 2>>"$d/receiver.out.err" &
    receiver=$!
    pids+=("$receiver")
    hook=$(wait_url "$d/receiver.out" $receiver "the $l receiver")/takedown/webhook
  }
  start_receiver
  "$takedown" serve --store.path "$store" --server.port 0 --webhook.url "$hook" \
    --webhook.workers 2 >"$d/serve.out" 2>"$d/serve.out.err" &
  serve=$!
  pids+=("$serve")
  url=$(wait_url "$d/serve.out" $serve "takedown serve")
  for _ in $(seq 1 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done

  # A bank; two uploads through the receiver's upload gate call, both allowed.
  api "$admin" /v1/banks '{"name":"ncii-reports","category":"ncii"}' 201 >/dev/null
  gate() { "${cmd[@]}" check --takedown "$url" --key "$platform" --file "$1" --content-id "$2" --chat "$3" --uploader "$4"; }
  id=msg-$l-1
  answer=$(gate "$dir/reported.png" "$id" "chat 1&2" user-1) || fail "$l check of $id: exit $?"
  [ "$(json_get '["decision"]' <<<"$answer")" = allow ] || fail "$l check of $id: $answer"
  [ "$(json_get '["recorded"]' <<<"$answer")" = True ] || fail "$l check of $id: not recorded: $answer"
  gate "$dir/other.png" "msg-$l-other" chat-2 user-2 >/dev/null || fail "$l check of the other picture"

  # A victim's notice (untrusted: pending review), approved by a reviewer: the sweep finds $id.
  python3 -c 'import base64, json, sys; print(json.dumps({"category": "ncii",
    "explanation": "an intimate image shared without consent", "accuracy_statement": True,
    "notifier": {"name": "A. Victim", "email": "victim@example.org"},
    "evidence": [{"media": base64.b64encode(open(sys.argv[1], "rb").read()).decode()}]}))' \
    "$dir/reported.png" >"$d/request.json"
  request=$(api "$requester" /v1/requests "@$d/request.json" 201)
  rid=$(json_get '["id"]' <<<"$request")
  # Accepted at once; its media is hashed in the background, then it waits for a reviewer.
  [ "$(json_get '["evidence"][0]["hashing"]' <<<"$request")" = True ] || fail "request: $request"
  for _ in $(seq 1 200); do
    request=$(curl -sf "$url/v1/requests/$rid" -H "Authorization: Bearer $requester")
    [ "$(json_get '["status"]' <<<"$request")" = received ] || break
    sleep 0.05
  done
  [ "$(json_get '["status"]' <<<"$request")" = pending_review ] || fail "request: $request"
  decided=$(api "$reviewer" "/v1/requests/$rid/decision" '{"approve":true,"reason":"the reported image"}' 200)
  [ "$(json_get '["sweep"]["matched"]' <<<"$decided")" = 1 ] || fail "sweep: $decided"

  # The removal webhook arrives, is verified and applied once; takedown counts the 200 as delivered.
  for _ in $(seq 1 100); do
    [ -s "$d/first.body" ] && [ "$(count "$d/actions.jsonl" applied "$id")" = 1 ] && break
    sleep 0.1
  done
  [ "$(count "$d/actions.jsonl" applied "$id")" = 1 ] || fail "$l: no removal of $id applied: $(cat "$d/actions.jsonl" "$d/receiver.out.err" 2>&1)"
  [ "$(count "$d/actions.jsonl" applied "msg-$l-other")" = 0 ] || fail "$l: the other picture was removed"
  grep -q '"kind": *"remove"' "$d/actions.jsonl" || fail "$l: the action is not a removal"
  for _ in $(seq 1 50); do
    view=$(curl -sf "$url/v1/requests/$rid" -H "Authorization: Bearer $requester")
    [ "$(json_get '["status"]' <<<"$view")" = confirmed ] && break
    sleep 0.1
  done
  [ "$(json_get '["status"]' <<<"$view")" = confirmed ] || fail "$l: request not confirmed: $view"
  [ "$(json_get '["removals"][0]["content_id"]' <<<"$view")" = "$id" ] || fail "$l: removals: $view"

  # The same signed delivery again: 200, recorded as a duplicate, not applied twice.
  [ "$(send "$d/first.headers" "$d/first.body")" = 200 ] || fail "$l: replay not answered 200"
  [ "$(count "$d/actions.jsonl" applied "$id")" = 1 ] || fail "$l: replay applied twice"
  [ "$(count "$d/actions.jsonl" duplicate "$id")" = 1 ] || fail "$l: replay not recorded as duplicate"
  # And after a restart of the receiver (the keys applied are read back from its log).
  kill "$receiver"
  wait "$receiver" 2>/dev/null || true
  start_receiver
  [ "$(send "$d/first.headers" "$d/first.body")" = 200 ] || fail "$l: replay after restart not answered 200"
  [ "$(count "$d/actions.jsonl" applied "$id")" = 1 ] || fail "$l: replay after restart applied again"
  [ "$(count "$d/actions.jsonl" duplicate "$id")" = 2 ] || fail "$l: replay after restart not a duplicate"

  # Refused with 401 and not applied: a tampered body, a wrong, a missing and a stale signature.
  sed "s/$id/msg-$l-tampered/" "$d/first.body" >"$d/tampered.body"
  cmp -s "$d/first.body" "$d/tampered.body" && fail "$l: the body was not tampered with"
  sed 's/^\(X-Takedown-Signature: v1=\).*/\1'"$(printf '0%.0s' $(seq 64))"'/' "$d/first.headers" >"$d/wrong.headers"
  grep -v '^X-Takedown-Signature' "$d/first.headers" >"$d/missing.headers"
  # Correctly signed with the secret, but 10 minutes old; and a fresh one signed the same way.
  python3 - "$d" "$id" "$l" <<'PY'
import hashlib, hmac, os, sys, time
d, id, lang = sys.argv[1:]
body = open(f"{d}/first.body", "rb").read()
for name, age, cid in (("stale", 600, f"msg-{lang}-stale"), ("fresh", 0, f"msg-{lang}-fresh")):
    b = body.replace(id.encode(), cid.encode()).replace(b'"idempotency_key":"', f'"idempotency_key":"{name}-'.encode())
    ts = str(int(time.time()) - age)
    sig = hmac.new(os.environ["TAKEDOWN_WEBHOOK_SECRET"].encode(), ts.encode() + b"." + b, hashlib.sha256).hexdigest()
    open(f"{d}/{name}.body", "wb").write(b)
    key = b.split(b'"idempotency_key":"')[1].split(b'"')[0].decode()
    open(f"{d}/{name}.headers", "w").write(f"Content-Type: application/json\nIdempotency-Key: {key}\n"
                                           f"X-Takedown-Timestamp: {ts}\nX-Takedown-Signature: v1={sig}\n")
PY
  [ "$(send "$d/first.headers" "$d/tampered.body")" = 401 ] || fail "$l: tampered body not refused with 401"
  [ "$(send "$d/wrong.headers" "$d/first.body")" = 401 ] || fail "$l: wrong signature not refused with 401"
  [ "$(send "$d/missing.headers" "$d/first.body")" = 401 ] || fail "$l: missing signature not refused with 401"
  [ "$(send "$d/stale.headers" "$d/stale.body")" = 401 ] || fail "$l: stale timestamp not refused with 401"
  for c in tampered stale; do
    [ "$(count "$d/actions.jsonl" applied "msg-$l-$c")" = 0 ] || fail "$l: the $c delivery was applied"
  done
  [ "$(count "$d/actions.jsonl" applied "$id")" = 1 ] || fail "$l: applied again after refusals"
  [ "$(send "$d/fresh.headers" "$d/fresh.body")" = 200 ] || fail "$l: a freshly signed delivery was refused"
  [ "$(count "$d/actions.jsonl" applied "msg-$l-fresh")" = 1 ] || fail "$l: the fresh delivery was not applied"
  # A body over the receiver's bound (1 MiB): 413, before it is sent when the client asks first
  # (curl sends Expect: 100-continue over 1 MiB), else after it is read and dropped; each 3 times
  # (a receiver that closes a connection with unread bytes resets it, and curl sees no answer).
  head -c $((2 << 20)) /dev/zero | tr '\0' x >"$d/big.body"
  for i in 1 2 3; do
    [ "$(send "$d/first.headers" "$d/big.body")" = 413 ] || fail "$l: oversized body not refused with 413"
    [ "$(send "$d/first.headers" "$d/big.body" -H 'Expect:')" = 413 ] ||
      fail "$l: oversized body sent without Expect: 100-continue not refused with 413"
  done

  # A re-upload of the reported picture: the upload gate blocks it (exit 3), naming the bank.
  rc=0
  answer=$(gate "$dir/reported.png" "msg-$l-reupload" chat-9 user-9) || rc=$?
  [ "$rc" = 3 ] || fail "$l check of the re-upload: exit $rc (want 3): $answer"
  [ "$(json_get '["decision"]' <<<"$answer")" = block ] || fail "$l re-upload: $answer"
  [ "$(json_get '["matches"][0]["bank"]' <<<"$answer")" = ncii-reports ] || fail "$l re-upload: $answer"
  [ "$(json_get '["content_id"]' <<<"$answer")" = "msg-$l-reupload" ] || fail "$l re-upload: $answer"

  kill -TERM "$serve"
  wait "$serve" || fail "$l: takedown serve did not stop cleanly: $(tail -5 "$d/serve.out.err")"
  kill "$receiver"
  echo "receivers_test: $l: removal applied once, replay duplicate, forgeries 401, re-upload blocked ($((SECONDS - t0)) s)"
done
echo "receivers_test: PASS (${langs[*]}) in $((SECONDS - start)) s"
