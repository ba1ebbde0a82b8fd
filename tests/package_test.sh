#!/usr/bin/env bash
# The Debian package (issue 22 item 2): built by CPack from the build tree under test, installed
# with dpkg on this machine, the unit accepted by systemd-analyze verify, the installed binary's
# story run as the package's user against the installed configuration, then purged cleanly.
# Needs root (dpkg): exits 77 (skipped, loudly) otherwise. Refuses to touch a takedown package
# that was installed before it ran.
# Usage: tests/package_test.sh BUILD_DIR EXAMPLE_BINARY
set -euo pipefail
build=$1 example=$2
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
  echo "package_test: SKIPPED: needs root to install the package with dpkg" >&2
  exit 77
fi
if dpkg-query -W -f='${Status}' takedown 2>/dev/null | grep -q 'installed'; then
  fail "a takedown package is already installed on this machine; remove it first (dpkg --purge takedown)"
fi
dir=$(mktemp -d)
serve="" installed=""
cleanup() {
  set +e
  [ -n "$serve" ] && kill "$serve" 2>/dev/null && wait "$serve" 2>/dev/null
  if [ -n "$installed" ]; then
    dpkg --purge takedown >/dev/null 2>&1
    rm -rf /var/lib/takedown
    userdel takedown 2>/dev/null; groupdel takedown 2>/dev/null
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

(cd "$build" && cpack -G DEB -B "$dir/pkg" >"$dir/cpack.out" 2>&1) || { cat "$dir/cpack.out"; fail "cpack"; }
deb=$(ls "$dir"/pkg/takedown_*_amd64.deb)
echo "package_test: built $(basename "$deb") ($(du -k "$deb" | cut -f1) kB)"
dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ */  depends: /'
dpkg-deb -c "$deb" >"$dir/contents"
grep -q ' ./usr/bin/takedown$' "$dir/contents" || fail "no /usr/bin/takedown in the package"
grep -q ' ./etc/takedown/takedown.toml$' "$dir/contents" || fail "no configuration in the package"
grep -q ' ./usr/share/takedown/mail/ack.en.mustache$' "$dir/contents" || fail "no templates in the package"

installed=1
dpkg -i "$deb" >"$dir/dpkg.out" 2>&1 || { cat "$dir/dpkg.out"; fail "dpkg -i"; }
id takedown >/dev/null || fail "no takedown user"
[ "$(stat -c %U "/var/lib/takedown")" = takedown ] || fail "/var/lib/takedown is not the service user's"
[ "$(stat -c %a /etc/takedown/takedown.toml)" = 640 ] || fail "/etc/takedown/takedown.toml mode $(stat -c %a /etc/takedown/takedown.toml)"
grep -q '^path = "/var/lib/takedown/takedown.db"$' /etc/takedown/takedown.toml || fail "the packaged store path"
# No path of the source tree in the installed binary. A sanitizer build (the one scripts/test.sh
# makes) is the exception: GCC 12's UndefinedBehaviorSanitizer keeps the headers' paths in its
# checks whatever -ffile-prefix-map says, so there the check is made on release packages only
# (scripts/package.sh makes it on every package it builds).
src=$(cd "$(dirname "$0")/.." && pwd)
if dpkg-deb -f "$deb" Depends | grep -q libasan; then
  echo "package_test: NOTE: a sanitizer build; the no-source-path check is left to release packages (scripts/package.sh)"
elif strings /usr/bin/takedown | grep -F "$src" >/dev/null; then
  fail "the installed binary names the source tree $src"
fi
systemd-analyze verify /lib/systemd/system/takedown.service 2>"$dir/verify.err" || { cat "$dir/verify.err"; fail "systemd-analyze verify"; }
[ ! -s "$dir/verify.err" ] || { cat "$dir/verify.err"; fail "systemd-analyze verify warned"; }
/usr/bin/takedown --version

# The unit's command, as the unit's user, on the installed configuration (a free port and the
# example platform as webhook receiver given as flags, as a drop-in would).
as_service() { runuser -u takedown -- "$@"; }
key() { as_service /usr/bin/takedown admin create-key --create --role "$1" --name "pkg-$1" --config /etc/takedown/takedown.toml 2>/dev/null; }
export TAKEDOWN_ADMIN_KEY=$(key admin) TAKEDOWN_PLATFORM_KEY=$(key platform) TAKEDOWN_REQUESTER_KEY=$(key requester)
export TAKEDOWN_WEBHOOK_SECRET=package-secret
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cp "$example" "$dir/example" && chmod 755 "$dir" "$dir/example"
runuser -u takedown -- /usr/bin/takedown serve --config /etc/takedown/takedown.toml --server.port 0 \
  --webhook.url "http://127.0.0.1:$port/takedown/webhook" >"$dir/serve.out" 2>"$dir/serve.err" &
serve=$!
url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$dir/serve.out")
  [ -n "$url" ] && curl -sf "$url/readyz" >/dev/null && break
  kill -0 $serve 2>/dev/null || break
  sleep 0.1
done
[ -n "$url" ] || { cat "$dir/serve.err"; fail "the installed takedown serve did not start"; }
"$dir/example" --story --takedown "$url" --listen "$port" --media "$dir/no-photos-here" >"$dir/story.out" || { cat "$dir/story.out"; fail "the story"; }
grep -q '^== done: 6 copies found and removed, request confirmed, re-upload block$' "$dir/story.out" || { cat "$dir/story.out"; fail "the story's end"; }
tail -1 "$dir/story.out"
kill -TERM $serve; wait $serve || true; serve=""
[ -s /var/lib/takedown/takedown.db ] || fail "the store is not in /var/lib/takedown"
as_service /usr/bin/takedown audit verify --config /etc/takedown/takedown.toml

# Removed cleanly: no file of the package left, the store kept (it is evidence).
files=$(dpkg-query -L takedown | grep -v '/$' || true)
dpkg --purge takedown >"$dir/purge.out" 2>&1 || { cat "$dir/purge.out"; fail "dpkg --purge"; }
for f in $files; do [ -d "$f" ] || [ ! -e "$f" ] || fail "$f left after purge"; done
[ ! -e /usr/bin/takedown ] && [ ! -e /etc/takedown/takedown.toml ] && [ ! -e /lib/systemd/system/takedown.service ] || fail "files left after purge"
[ -s /var/lib/takedown/takedown.db ] || fail "purge deleted the store"
installed=""
rm -rf /var/lib/takedown
userdel takedown 2>/dev/null || true
groupdel takedown 2>/dev/null || true
echo "package_test: ok"
