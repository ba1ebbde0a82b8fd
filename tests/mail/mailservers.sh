#!/usr/bin/env bash
# Throwaway Postfix (SMTP + STARTTLS) and Dovecot (IMAPS) pair on loopback for
# the email intake integration test.  Everything (config, queue, TLS, mail,
# logs, sockets) lives under DIR; the only change outside DIR is the system
# user `tdvmail` (created once, idempotently) that owns the virtual mailboxes.
#
#   tests/mail/mailservers.sh start    DIR   # start both, write DIR/env
#   tests/mail/mailservers.sh selftest DIR   # end-to-end check with curl
#   tests/mail/mailservers.sh stop     DIR   # stop both (idempotent)
#
# Env: SMTP_PORT (default 2525), IMAPS_PORT (default 10993).
# Needs root and the Debian packages postfix, dovecot-core, dovecot-imapd,
# curl, openssl.  The system postfix/dovecot services are not used.
# shellcheck disable=SC2016  # literal $TakedownTaken is intended
set -Eeuo pipefail   # -E: the ERR trap in start also covers functions

SMTP_PORT=${SMTP_PORT:-2525}
IMAPS_PORT=${IMAPS_PORT:-10993}
VMAIL_USER=tdvmail
START_TIMEOUT=20

# user:password pairs; the mailbox of each lives in DIR/mail/<domain>/<user>/
USERS=(
  "takedown@platform.test:takedown-pass"
  "analyst@regulator.test:analyst-pass"
  "intruder@regulator.test:intruder-pass"
)
DOMAINS="platform.test regulator.test"

die() { echo "mailservers: error: $*" >&2; exit 1; }
log() { echo "mailservers: $*" >&2; }

usage() {
  echo "usage: $0 {start|stop|selftest} DIR" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
CMD=$1
DIR=$(realpath -m -- "$2")
# Paths end up unquoted in postfix/dovecot config files: keep them simple.
[[ $DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || die "DIR must match [A-Za-z0-9._/-]+: $DIR"
# Dovecot puts unix sockets under DIR/dovecot/run (sun_path is 108 bytes).
(( ${#DIR} <= 60 )) || die "DIR path too long for dovecot sockets (max 60 chars): $DIR"

PF_CONF=$DIR/postfix/conf        # postfix -c $PF_CONF
PF_QUEUE=$DIR/postfix/queue
PF_DATA=$DIR/postfix/data
DC_DIR=$DIR/dovecot
DC_CONF=$DC_DIR/dovecot.conf     # dovecot -c $DC_CONF
DC_RUN=$DC_DIR/run               # dovecot base_dir (sockets, master.pid)
TLS=$DIR/tls
MARKER=$DIR/.mailservers

# ---------------------------------------------------------------- helpers

postfix_running() {
  [[ -f $PF_CONF/main.cf ]] && postfix -c "$PF_CONF" status >/dev/null 2>&1
}

dovecot_pid() {
  local pid
  [[ -f $DC_RUN/master.pid ]] || return 1
  pid=$(head -n1 "$DC_RUN/master.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# SMTP greeting seen (not just the socket master(8) pre-binds)?
smtp_ready() {
  timeout 3 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/'"$SMTP_PORT"'
    IFS= read -r -t 2 line <&3 && [[ $line == 220* ]] && printf "QUIT\r\n" >&3
  ' 2>/dev/null
}

# IMAP greeting seen over a verified TLS connection?
imaps_ready() {
  printf 'a LOGOUT\r\n' |
    timeout 3 openssl s_client -connect "127.0.0.1:$IMAPS_PORT" -CAfile "$TLS/ca.pem" \
      -verify_return_error -verify_hostname localhost -quiet 2>/dev/null |
    grep -q '^\* OK'
}

show_logs() {
  local f
  for f in "$DIR/postfix.log" "$DIR/postfix-start.log" "$DIR/dovecot.log" "$DIR/dovecot-start.log"; do
    [[ -s $f ]] || continue
    echo "----- tail $f -----" >&2
    tail -n 40 "$f" >&2
  done
}

# ---------------------------------------------------------------- stop

do_stop() {
  local pid i
  if postfix_running; then
    log "stopping postfix ($PF_CONF)"
    # postfix-script stop waits up to 5 s, then kill -9s the process group.
    postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
  fi
  if pid=$(dovecot_pid); then
    log "stopping dovecot (pid $pid)"
    dovecot -c "$DC_CONF" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dovecot did not exit, killing pid $pid"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  return 0
}

# ---------------------------------------------------------------- start

ensure_vmail_user() {
  # One unprivileged uid/gid owns all mailboxes: postfix virtual(8) delivers
  # as it and dovecot's imap processes run as it.  This is the only change
  # outside DIR (an /etc/passwd + /etc/group entry, created once).
  if ! id -u "$VMAIL_USER" >/dev/null 2>&1; then
    log "creating system user $VMAIL_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --comment "takedown test mailboxes" "$VMAIL_USER" ||
      id -u "$VMAIL_USER" >/dev/null 2>&1 || die "useradd $VMAIL_USER failed"
  fi
  VMAIL_UID=$(id -u "$VMAIL_USER")
  VMAIL_GID=$(id -g "$VMAIL_USER")
  (( VMAIL_UID > 0 )) || die "$VMAIL_USER must not be uid 0"
}

make_tls() {
  mkdir -p "$TLS"
  # Throwaway CA, then a server cert for localhost / 127.0.0.1 signed by it.
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
    -keyout "$TLS/ca.key" -out "$TLS/ca.pem" -subj "/CN=takedown test mail CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" -subj "/CN=localhost" 2>/dev/null
  cat >"$TLS/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 30 -extfile "$TLS/server.ext" \
    -out "$TLS/server.pem" 2>/dev/null
  rm -f "$TLS/server.csr" "$TLS/server.ext"
  # Keys stay root-only: postfix smtpd and dovecot read them before dropping
  # privileges.  The CA cert is world-readable for the test client.
  chmod 600 "$TLS/ca.key" "$TLS/server.key"
  chmod 644 "$TLS/ca.pem" "$TLS/server.pem"
  openssl verify -CAfile "$TLS/ca.pem" "$TLS/server.pem" >/dev/null ||
    die "generated server certificate does not verify"
}

make_mailboxes() {
  local entry addr user domain
  # Pre-create Maildirs owned by the vmail user so neither server needs write
  # access above DIR/mail/<domain>.
  install -d -m 755 -o "$VMAIL_UID" -g "$VMAIL_GID" "$DIR/mail"
  for entry in "${USERS[@]}"; do
    addr=${entry%%:*}; user=${addr%@*}; domain=${addr#*@}
    install -d -m 700 -o "$VMAIL_UID" -g "$VMAIL_GID" "$DIR/mail/$domain"
    install -d -m 700 -o "$VMAIL_UID" -g "$VMAIL_GID" "$DIR/mail/$domain/$user" \
      "$DIR/mail/$domain/$user/new" "$DIR/mail/$domain/$user/cur" "$DIR/mail/$domain/$user/tmp"
  done
}

configure_postfix() {
  local entry addr
  # Config dir must be root-owned and not group/world writable (postfix check).
  install -d -m 755 "$PF_CONF" "$PF_QUEUE"
  # data_directory (tls prng, verify cache, master.lock) is owned by postfix;
  # the queue subdirectories are created by `postfix start` (post-install
  # create-missing) with the right owners.
  install -d -m 700 -o postfix -g postfix "$PF_DATA"

  : >"$PF_CONF/vmailbox"
  for entry in "${USERS[@]}"; do
    addr=${entry%%:*}
    # Trailing slash = Maildir format; path is relative to virtual_mailbox_base.
    echo "$addr ${addr#*@}/${addr%@*}/" >>"$PF_CONF/vmailbox"
  done

  cat >"$PF_CONF/main.cf" <<EOF
# Generated by tests/mail/mailservers.sh -- private throwaway instance.
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
# mail_owner/setgid_group: the Debian package's postfix/postdrop (defaults).

# Identity; nothing here resolves, and it is not a local destination.
myhostname = mx.takedown.test
mydomain = takedown.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no

# Loopback only, IPv4 only (the listener itself is bound in master.cf).
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8

# No network on the test machine: never touch DNS.  The smtpd reverse lookup
# of the client is skipped too (it would otherwise go through the resolver).
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtpd_peername_lookup = no

# Accept mail only for the virtual domains below (from anyone on loopback,
# no auth); anything else is rejected at RCPT time ("Relay access denied"),
# which is more useful in a test than a later bounce.  Unknown users in the
# virtual domains get "550 User unknown in virtual mailbox table"
# (smtpd_reject_unlisted_recipient = yes is the default).
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
# Belt and braces: never try to deliver anywhere outside the instance.
default_transport = error:outbound mail disabled in test instance
relay_transport = error:outbound mail disabled in test instance

# Virtual mailboxes as Maildir under $DIR/mail/<domain>/<user>/.
virtual_mailbox_domains = $DOMAINS
virtual_mailbox_base = $DIR/mail
virtual_mailbox_maps = texthash:$PF_CONF/vmailbox
virtual_uid_maps = static:$VMAIL_UID
virtual_gid_maps = static:$VMAIL_GID
# virtual(8) refuses uids below this; the tdvmail system uid may be < 100.
virtual_minimum_uid = $VMAIL_UID

message_size_limit = 40000000
# virtual_mailbox_limit (default 51200000) must not be below
# message_size_limit; 0 = no mailbox size limit.
virtual_mailbox_limit = 0

# STARTTLS offered, not required, with the throwaway cert.
smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLS/server.pem
smtpd_tls_key_file = $TLS/server.key
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtp_tls_security_level = none

# Fast delivery for tests: no inbound throttling, quick retries, and no
# 1-second sleep after each rejected command.
in_flow_delay = 0s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_error_sleep_time = 0s

# Log to a file via postlogd (no syslog in the test environment).
# maillog_file_prefixes whitelists where maillog_file may point.
maillog_file = $DIR/postfix.log
maillog_file_prefixes = $DIR
EOF

  # Minimal master.cf: the SMTP listener bound to 127.0.0.1:$SMTP_PORT plus
  # the internal services; nothing chrooted (the chroot would need copies of
  # /etc files and the TLS material).
  cat >"$PF_CONF/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  chmod 644 "$PF_CONF/main.cf" "$PF_CONF/master.cf" "$PF_CONF/vmailbox"
}

configure_dovecot() {
  local entry addr pass dh_line=""
  install -d -m 755 "$DC_DIR" "$DC_RUN"
  install -d -m 750 "$DC_DIR/state"
  # Debian ships DH params; only used if a client picks a DHE cipher.
  [[ -r /usr/share/dovecot/dh.pem ]] && dh_line="ssl_dh = </usr/share/dovecot/dh.pem"

  # passwd-file: user:password:uid:gid:(gecos):home:(shell):(extra)
  # Plain-text passwords are fine for throwaway test accounts.
  : >"$DC_DIR/users"
  for entry in "${USERS[@]}"; do
    addr=${entry%%:*}; pass=${entry#*:}
    echo "$addr:{PLAIN}$pass:$VMAIL_UID:$VMAIL_GID::$DIR/mail/${addr#*@}/${addr%@*}::" >>"$DC_DIR/users"
  done
  chown root:dovecot "$DC_DIR/users"
  chmod 640 "$DC_DIR/users"

  cat >"$DC_CONF" <<EOF
# Generated by tests/mail/mailservers.sh -- private throwaway instance.
# Nothing from /etc/dovecot is included.
instance_name = takedown-test-dovecot
base_dir = $DC_RUN
state_dir = $DC_DIR/state
log_path = $DIR/dovecot.log
auth_verbose = yes

protocols = imap
listen = 127.0.0.1

ssl = required
ssl_cert = <$TLS/server.pem
ssl_key = <$TLS/server.key
$dh_line

auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = username_format=%Lu $DC_DIR/users
}
userdb {
  driver = passwd-file
  args = username_format=%Lu $DC_DIR/users
}
# The mailbox owner is the tdvmail system user; allow exactly that uid.
first_valid_uid = $VMAIL_UID
last_valid_uid = $VMAIL_UID
first_valid_gid = $VMAIL_GID
last_valid_gid = $VMAIL_GID

# Same Maildirs postfix virtual(8) delivers to.  Maildir stores keywords
# such as \$TakedownTaken in dovecot-keywords (PERMANENTFLAGS includes \*).
mail_location = maildir:$DIR/mail/%d/%n
namespace inbox {
  inbox = yes
  separator = /
}

# IMAPS only, on loopback.  The plain IMAP listener is disabled (port 0).
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
EOF
  chmod 644 "$DC_CONF"
}

write_env() {
  local entry addr pass var tmp=$DIR/env.tmp
  {
    echo "# Generated by tests/mail/mailservers.sh start"
    echo "SMTP_URL=smtp://127.0.0.1:$SMTP_PORT"
    echo "IMAPS_URL=imaps://127.0.0.1:$IMAPS_PORT"
    echo "MAIL_CA=$TLS/ca.pem"
    echo "MAIL_DIR=$DIR"
    for entry in "${USERS[@]}"; do
      addr=${entry%%:*}; pass=${entry#*:}
      var=${addr%@*}; var=${var^^}      # takedown -> TAKEDOWN
      echo "${var}_USER=$addr"
      echo "${var}_PASS=$pass"
    done
  } >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$DIR/env"
}

wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) smtp=no imaps=no
  while (( SECONDS < deadline )); do
    if [[ $smtp != yes ]] && smtp_ready; then smtp=yes; fi
    if [[ $imaps != yes ]] && imaps_ready; then imaps=yes; fi
    if [[ $smtp == yes && $imaps == yes ]]; then return 0; fi
    sleep 0.2
  done
  log "timeout after ${START_TIMEOUT}s: smtp 127.0.0.1:$SMTP_PORT ready=$smtp, imaps 127.0.0.1:$IMAPS_PORT ready=$imaps"
  return 1
}

start_failed() {
  log "start failed in $DIR; logs follow"
  show_logs
  do_stop
  exit 1
}

do_start() {
  umask 022   # created dirs must be searchable by postfix/tdvmail/dovenull
  [[ $(id -u) -eq 0 ]] || die "start must run as root"
  local bin
  for bin in postfix postconf dovecot openssl curl useradd; do
    command -v "$bin" >/dev/null || die "missing command: $bin"
  done

  if postfix_running || dovecot_pid >/dev/null; then
    die "servers already running in $DIR; run: $0 stop $DIR"
  fi
  if [[ -d $DIR && -n $(ls -A "$DIR") ]]; then
    # Only wipe a directory that a previous (stopped) run of ours created.
    [[ -f $MARKER ]] || die "$DIR is not empty (and not a previous mailservers dir)"
    log "reusing stopped instance dir $DIR (wiping it)"
    rm -rf --one-file-system -- "${DIR:?}"/* "$MARKER"
  fi
  local port
  for port in "$SMTP_PORT" "$IMAPS_PORT"; do
    ! port_open "$port" || die "127.0.0.1:$port is already in use (another instance still running?)"
  done

  mkdir -p "$DIR"
  chmod 755 "$DIR"
  touch "$MARKER"

  ensure_vmail_user
  # The daemons drop privileges; every parent directory must be searchable.
  for bin in postfix "$VMAIL_USER" dovenull; do
    runuser -u "$bin" -- test -x "$DIR" ||
      die "user $bin cannot reach $DIR (a parent directory is not world-searchable)"
  done

  trap start_failed ERR
  make_tls
  make_mailboxes
  configure_postfix
  configure_dovecot

  postfix -c "$PF_CONF" check >"$DIR/postfix-start.log" 2>&1
  postfix -c "$PF_CONF" start >>"$DIR/postfix-start.log" 2>&1
  dovecot -c "$DC_CONF" >"$DIR/dovecot-start.log" 2>&1
  wait_ready
  trap - ERR

  write_env
  log "ready: smtp://127.0.0.1:$SMTP_PORT imaps://127.0.0.1:$IMAPS_PORT (env: $DIR/env)"
}

# ---------------------------------------------------------------- selftest

SELFTEST_FAILED=0
ok()   { echo "  ok   $*"; }
fail() { echo "  FAIL $*"; SELFTEST_FAILED=1; }

imap() {  # imap USER:PASS URL [curl args...] -> response on stdout, CR stripped
  local cred=$1 url=$2; shift 2
  curl -sS --max-time 10 --cacert "$MAIL_CA" -u "$cred" "$url" "$@" | tr -d '\r'
}

do_selftest() {
  [[ -f $DIR/env ]] || die "$DIR/env missing; run: $0 start $DIR"
  # shellcheck disable=SC1091
  source "$DIR/env"
  local tmp token eml out uid i err rc
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  token="selftest-$(date +%s)-$RANDOM"
  eml=$tmp/msg.eml

  echo "selftest against $SMTP_URL and $IMAPS_URL"
  # CRLF line endings, as SMTP wants them.
  printf '%s\r\n' \
    "From: Analyst <$ANALYST_USER>" \
    "To: Takedown <$TAKEDOWN_USER>" \
    "Subject: $token" \
    "Date: $(date -R)" \
    "Message-ID: <$token@regulator.test>" \
    "MIME-Version: 1.0" \
    "Content-Type: text/plain; charset=us-ascii" \
    "" \
    "Body of $token." >"$eml"

  # 1. Send over SMTP; --ssl-reqd makes curl fail unless STARTTLS succeeds.
  if err=$(curl -sS --max-time 20 --url "$SMTP_URL" --ssl-reqd --cacert "$MAIL_CA" \
      --mail-from "$ANALYST_USER" --mail-rcpt "$TAKEDOWN_USER" -T "$eml" 2>&1); then
    ok "SMTP send with STARTTLS ($ANALYST_USER -> $TAKEDOWN_USER)"
  else
    fail "SMTP send: $err"
  fi
  if grep -q "TLS connection established from .*127.0.0.1" "$DIR/postfix.log" 2>/dev/null; then
    ok "postfix log shows a TLS session"
  else
    fail "postfix log shows no TLS session"
  fi

  # 2. Unknown recipient in a served domain and a foreign domain are refused.
  for rcpt in nobody@platform.test someone@example.com; do
    rc=0
    err=$(curl -sS --max-time 20 --url "$SMTP_URL" --ssl-reqd --cacert "$MAIL_CA" \
      --mail-from "$ANALYST_USER" --mail-rcpt "$rcpt" -T "$eml" 2>&1) || rc=$?
    if (( rc != 0 )) && [[ $err == *" 55"[0-9]* || $err == *"RCPT failed: 55"* ]]; then
      ok "recipient $rcpt rejected (curl rc=$rc: ${err##*curl: })"
    else
      fail "recipient $rcpt not rejected (rc=$rc): $err"
    fi
  done

  # 3. Poll IMAPS until the message arrives; find its UID by subject.
  uid=""
  for ((i = 0; i < 50; i++)); do
    out=$(imap "$TAKEDOWN_USER:$TAKEDOWN_PASS" "$IMAPS_URL/INBOX" -X "UID SEARCH SUBJECT $token" 2>/dev/null) || true
    uid=$(sed -n 's/^\* SEARCH \([0-9]*\).*/\1/p' <<<"$out")
    [[ -n $uid ]] && break
    sleep 0.2
  done
  if [[ -n $uid ]]; then
    ok "message arrived in INBOX as UID $uid after ~$((i * 200)) ms"
  else
    fail "message not in INBOX after 10 s"; uid=1
  fi

  out=$(imap "$TAKEDOWN_USER:$TAKEDOWN_PASS" "$IMAPS_URL/INBOX;UID=$uid" 2>&1) || true
  if [[ $out == *"Body of $token."* && $out == *"Subject: $token"* ]]; then
    ok "fetched INBOX;UID=$uid ($(wc -c <<<"$out") bytes)"
  else
    fail "fetch INBOX;UID=$uid: $out"
  fi

  out=$(imap "$TAKEDOWN_USER:$TAKEDOWN_PASS" "$IMAPS_URL/INBOX" -X 'UID SEARCH ALL' 2>&1) || true
  if grep -Eq "^\* SEARCH( [0-9]+)* $uid( |$)" <<<"$out"; then
    ok "UID SEARCH ALL -> ${out}"
  else
    fail "UID SEARCH ALL does not list $uid: $out"
  fi

  # 4. Custom keyword: store it, then NOT KEYWORD must exclude the message.
  out=$(imap "$TAKEDOWN_USER:$TAKEDOWN_PASS" "$IMAPS_URL/INBOX" \
    -X "UID STORE $uid +FLAGS (\$TakedownTaken)" 2>&1) || true
  if out=$(grep -E "^\* [0-9]+ FETCH \(.*UID $uid .*"'\$TakedownTaken' <<<"$out"); then
    ok "UID STORE $uid +FLAGS (\$TakedownTaken) -> ${out}"
  else
    fail "UID STORE keyword: $out"
  fi
  out=$(imap "$TAKEDOWN_USER:$TAKEDOWN_PASS" "$IMAPS_URL/INBOX" \
    -X 'UID SEARCH NOT KEYWORD $TakedownTaken' 2>&1) || true
  if [[ $out == "* SEARCH"* ]] && ! grep -Eq "^\* SEARCH.* $uid( |$)" <<<"$out"; then
    ok "UID SEARCH NOT KEYWORD \$TakedownTaken excludes $uid -> ${out}"
  else
    fail "UID SEARCH NOT KEYWORD: $out"
  fi
  out=$(imap "$TAKEDOWN_USER:$TAKEDOWN_PASS" "$IMAPS_URL/INBOX" \
    -X 'UID SEARCH KEYWORD $TakedownTaken' 2>&1) || true
  if grep -Eq "^\* SEARCH.* $uid( |$)" <<<"$out"; then
    ok "UID SEARCH KEYWORD \$TakedownTaken includes $uid"
  else
    fail "UID SEARCH KEYWORD: $out"
  fi

  # 5. Mailboxes are separate, and bad passwords are refused.
  out=$(imap "$INTRUDER_USER:$INTRUDER_PASS" "$IMAPS_URL/INBOX" -X 'UID SEARCH ALL' 2>&1) || true
  if [[ $out == "* SEARCH" ]]; then
    ok "$INTRUDER_USER logs in and sees an empty INBOX"
  else
    fail "$INTRUDER_USER INBOX: $out"
  fi
  rc=0
  out=$(imap "$TAKEDOWN_USER:wrong" "$IMAPS_URL/INBOX" -X 'UID SEARCH ALL' 2>&1) || rc=$?
  if (( rc != 0 )); then
    ok "wrong password refused (curl rc=$rc)"
  else
    fail "wrong password accepted: $out"
  fi

  if (( SELFTEST_FAILED )); then
    echo "selftest FAILED"
    show_logs
    return 1
  fi
  echo "selftest passed"
}

case $CMD in
  start) do_start ;;
  stop) do_stop ;;
  selftest) do_selftest ;;
  *) usage ;;
esac
