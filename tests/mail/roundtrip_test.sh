#!/usr/bin/env bash
# The email line end to end, against real servers: a private Postfix (SMTP, STARTTLS) and Dovecot
# (IMAPS) on loopback (tests/mail/mailservers.sh), `takedown serve` reading takedown@platform.test
# over IMAP and replying over SMTP, and the example platform playing both the platform (uploads
# through the gate, a webhook receiver that removes) and a regulator's analyst who emails a
# DKIM-signed request with the image attached and reads the acknowledgement and the confirmation
# from analyst@regulator.test. Passes only when both replies arrive, threaded to the request, and
# the confirmation lists every copy. Prints the times from SMTP acceptance to each reply.
#   MAIL_CRASH=N (default 60; 0 skips) sends N requests and kills takedown with SIGKILL three times
#   while it takes them: every one must still be filed exactly once, acknowledged and confirmed.
#   MAIL_BENCH=N also sends N requests at once and counts every acknowledgement (scripts/bench-mail.sh).
# Usage: tests/mail/roundtrip_test.sh TAKEDOWN_BINARY EXAMPLE_BINARY
set -euo pipefail
takedown=$1 example=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED (loudly): the email round trip starts private Postfix and Dovecot instances, which needs root." >&2
  echo "CI runs as root and runs it; run as root (or in CI) to exercise it." >&2
  exit 77
fi
for tool in postfix dovecot openssl curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "missing $tool: run scripts/setup.sh" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/tdmail.XXXXXX)
chmod 755 "$dir"
serve=""
cleanup() {
  set +e
  [ -n "$serve" ] && kill "$serve" 2>/dev/null && wait "$serve" 2>/dev/null
  "$here/mailservers.sh" stop "$dir/m" >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir/serve.err" "$dir/m/postfix.log" "$dir/m/dovecot.log"; do
    [ -f "$f" ] && { echo "--- tail of $f" >&2; tail -n 40 "$f" >&2; }
  done
  exit 1
}

"$here/mailservers.sh" start "$dir/m" >"$dir/mailservers.out" 2>&1 || { cat "$dir/mailservers.out" >&2; fail "mail servers did not start"; }
# shellcheck disable=SC1091
source "$dir/m/env"

# The regulator's domain signs its mail; takedown knows its public key from a key file (a closed
# deployment: no DNS here).
openssl genrsa -out "$dir/regulator-dkim.pem" 2048 2>/dev/null
pub=$(openssl rsa -in "$dir/regulator-dkim.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
echo "mail._domainkey.regulator.test v=DKIM1; k=rsa; p=$pub" >"$dir/dkim.keys"

store=$dir/takedown.db
key() { "$takedown" admin create-key --create --role "$1" --name "mail-$1" --store "$store" 2>/dev/null; }
TAKEDOWN_ADMIN_KEY=$(key admin) TAKEDOWN_PLATFORM_KEY=$(key platform) TAKEDOWN_REQUESTER_KEY=$(key requester)
export TAKEDOWN_ADMIN_KEY TAKEDOWN_PLATFORM_KEY TAKEDOWN_REQUESTER_KEY
export TAKEDOWN_WEBHOOK_SECRET=mail-test-secret
export TAKEDOWN_MAIL_IMAP_PASSWORD=$TAKEDOWN_PASS REGULATOR_MAIL_PASSWORD=$ANALYST_PASS
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_serve() {  # with the email line unless $1 is "no-mail"
  : >"$dir/serve.out"
  local urls=$IMAPS_URL/INBOX
  [ "${1:-}" = no-mail ] && urls=""
  "$takedown" serve --store.path "$store" --server.port "${serve_port:-0}" --webhook.url "http://127.0.0.1:$port/takedown/webhook" \
    --mail.imap_urls "$urls" --mail.imap_user "$TAKEDOWN_USER" --mail.smtp_url "$SMTP_URL" \
    --mail.ca_file "$MAIL_CA" --mail.address "$TAKEDOWN_USER" --mail.dkim_key_file "$dir/dkim.keys" \
    >"$dir/serve.out" 2>>"$dir/serve.err" &
  serve=$!
  url=""
  for _ in $(seq 1 300); do
    url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$dir/serve.out")
    [ -n "$url" ] && curl -sf "$url/readyz" >/dev/null && break
    sleep 0.1
  done
  [ -n "$url" ] || fail "takedown serve did not start"
  serve_port=${url##*:}  # the same port after a restart: the example keeps talking to it
  [ "${1:-}" = no-mail ] || grep -q "email line" "$dir/serve.err" || fail "the email line did not start"
}
start_serve

mail_args=(--takedown "$url" --listen "$port" --smtp "$SMTP_URL" --imap "$IMAPS_URL/INBOX" --mail-ca "$MAIL_CA"
  --mail-user "$ANALYST_USER" --mail-line "$TAKEDOWN_USER" --dkim-key "$dir/regulator-dkim.pem" --dkim-selector mail)
"$example" --mail-story "${mail_args[@]}" --media "${TAKEDOWN_MAIL_MEDIA:-$dir/generated}" | tee "$dir/story.out" || fail "the mail story failed"
grep -q '^== mail timing: ' "$dir/story.out" || fail "no timing line"

# A forged message: the analyst's address without the regulator's signature. Quarantined, never
# actioned, no reply.
forged=$dir/forged.eml
printf 'From: <%s>\r\nTo: <%s>\r\nSubject: forged\r\nMessage-ID: <forged-%s@regulator.test>\r\n\r\nPDQ: %s\r\n' \
  "$ANALYST_USER" "$TAKEDOWN_USER" "$$" "$(printf 'f%.0s' $(seq 64))" >"$forged"
curl -s --url "$SMTP_URL" --ssl-reqd --cacert "$MAIL_CA" --mail-from "$ANALYST_USER" --mail-rcpt "$TAKEDOWN_USER" -T "$forged" ||
  fail "could not send the forged message"
quarantine() { curl -sf -H "Authorization: Bearer $TAKEDOWN_ADMIN_KEY" "$url/v1/mail/messages?status=quarantined"; }
for _ in $(seq 1 100); do
  quarantine | grep -q "forged-$$@regulator.test" && break
  sleep 0.1
done
quarantine | grep -q "forged-$$@regulator.test" || fail "the forged message is not in the quarantine (GET /v1/mail/messages)"
[ "$(sqlite3 "$store" "SELECT count(*) FROM audit WHERE kind = 'mail.quarantined'")" = 1 ] || fail "no mail.quarantined audit record"
echo "forged message: quarantined: $(quarantine)"
[ "$(sqlite3 "$store" "SELECT count(*) FROM docs WHERE kind = 'request'")" = 1 ] || fail "the forged message was actioned"

crash=${MAIL_CRASH:-60}
if [ "$crash" -gt 0 ]; then
  # Queued while the email line is off, then taken by a takedown killed three times mid-way.
  kill -TERM "$serve"
  wait "$serve" || fail "takedown serve did not stop cleanly"
  start_serve no-mail
  "$example" --mail-bench "$crash" --mail-bench-phase send --mail-bench-ids "$dir/crash.ids" "${mail_args[@]}" >"$dir/crash.out" ||
    fail "the crash test could not send its messages"
  kill -TERM "$serve"
  wait "$serve" || fail "takedown serve did not stop cleanly"
  for k in 1 2 3; do
    start_serve
    sleep "0.$((RANDOM % 3 + 2))"
    kill -KILL "$serve"
    wait "$serve" 2>/dev/null || true
    echo "crash test: SIGKILL $k after $(sqlite3 "$store" "SELECT count(*) FROM docs WHERE kind = 'mail_in'") messages recorded" | tee -a "$dir/serve.err"
  done
  start_serve
  "$example" --mail-bench "$crash" --mail-bench-phase count --mail-bench-allow-resend --mail-bench-ids "$dir/crash.ids" "${mail_args[@]}" |
    tee -a "$dir/crash.out" | grep -E '^  [0-9]+ ack|^== mail bench: none' | sed 's/^/crash test: /' || fail "requests lost or filed twice across kill -9"
  accepted=$(sqlite3 "$store" "SELECT count(*) FROM audit WHERE kind = 'mail.accepted'")
  [ "$accepted" = $((crash + 1)) ] || fail "crash test: $accepted messages accepted in the audit log, expected $((crash + 1))"
  echo "crash test: every message accepted once in the audit log ($accepted with the story's)"
fi

if [ "${MAIL_BENCH:-0}" -gt 0 ]; then
  # MAIL_BENCH requests queued while takedown is stopped, then taken when it starts again: every
  # one filed once, acknowledged once and confirmed once.
  "$example" --mail-bench "$MAIL_BENCH" --mail-bench-phase send --mail-bench-ids "$dir/bench.ids" "${mail_args[@]}" | tee "$dir/bench.out" ||
    fail "the mail bench could not queue its messages"
  kill -TERM "$serve"
  wait "$serve" || fail "takedown serve did not stop cleanly"
  start_serve
  "$example" --mail-bench "$MAIL_BENCH" --mail-bench-phase count --mail-bench-ids "$dir/bench.ids" "${mail_args[@]}" | tee -a "$dir/bench.out" ||
    fail "the mail bench lost or duplicated requests"
fi

kill -TERM "$serve"
wait "$serve" || fail "takedown serve did not stop cleanly"
serve=""
"$takedown" audit verify --store "$store" || fail "audit chain"
echo "email round trip: PASS"
