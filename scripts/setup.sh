#!/usr/bin/env bash
# Installs the Debian 12 packages takedown needs. Idempotent: packages already present are left
# alone; safe to run on every build.
#   scripts/setup.sh service   what building and running the service needs (scripts/run.sh,
#                              scripts/package.sh): the toolchain and the libraries it links
#   scripts/setup.sh           all of it: the service's, then the tests', benchmarks' and checks'
#                              (scripts/test.sh)
set -euo pipefail
mode=${1:-all}
case "$mode" in
  service | all) ;;
  *) echo "usage: $0 [service|all]" >&2; exit 2 ;;
esac

service_packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # media decoding
  libjpeg62-turbo-dev libwebp-dev
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  # digests; index file checksums
  libssl-dev libxxhash-dev
  # CLI, JSON, logging
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  # the service: HTTP server (Boost.Beast/Asio, header-only), HTTP client for webhooks and the
  # example platform (cpp-httplib), config (toml++), store (SQLite; PostgreSQL through libpq)
  libboost-dev libcpp-httplib-dev libtomlplusplus-dev libsqlite3-dev libpq-dev
  # the takedown executable's allocator (see src/cli/CMakeLists.txt)
  libjemalloc-dev
  # evidence kept for a retention period is encrypted at rest (libsodium secretbox)
  libsodium-dev
  # media decoding runs in worker processes under seccomp-bpf filters
  libseccomp-dev
  # the email line: MIME (GMime 3), DKIM (OpenDKIM), IMAP and SMTP (libcurl), reply templates
  libgmime-3.0-dev libopendkim-dev libcurl4-openssl-dev libkainjow-mustache-dev
  # scripts/run.sh waits for the service with curl
  curl
  # the console (console/) is built with npm and Vite into the binary: Node.js 20.19 or later
  # (the machine's; Debian 12's own 18 is too old for Vite 8: see the check below)
  nodejs
  # the victims' form hashes in the browser with this project's hashing built for WebAssembly:
  # Debian's emscripten (its optimiser needs node-acorn), and dpkg-dev to unpack the Debian
  # source packages of libjpeg-turbo and libwebp it is built with (scripts/build-wasm.sh)
  emscripten node-acorn dpkg-dev
)
test_packages=(
  # formatting and static checks
  clang-format clang-tidy
  # the store's command-line shell (tests and troubleshooting); PostgreSQL 15's server, which
  # the tests of the PostgreSQL store start in a temporary directory (initdb, pg_ctl)
  sqlite3 postgresql
  # the email line's round-trip test runs real mail servers on loopback (tests/mail/mailservers.sh)
  postfix dovecot-core dovecot-imapd openssl
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the webhook receivers of examples/receivers are run by the tests (Python is Debian's python3)
  python3 golang-go
  # the console's browser tests: Playwright drives Debian's Chromium (never a downloaded browser);
  # Korean screens need a Korean font
  chromium fonts-nanum
  # image edits for the robustness tests and benchmarks (not linked by the core libraries)
  libopencv-imgproc-dev
  # the index benchmark's comparison (benchmark-only; not linked by takedown itself)
  libfaiss-dev
  # the video benchmark's edits are made with the ffmpeg CLI (drawtext needs a font); the
  # WebAssembly hashing test makes progressive JPEGs with jpegtran
  ffmpeg fonts-dejavu-core libjpeg-turbo-progs
  # the service's load benchmark (wrk drives it; bc in the script)
  wrk bc
  # the fuzz target of the request parsers (libFuzzer ships with clang)
  clang libclang-rt-14-dev
  # the Debian package's test: its dependencies (dpkg-shlibdeps) and its unit (systemd-analyze)
  dpkg-dev systemd
)
packages=("${service_packages[@]}")
[ "$mode" = all ] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The console's build needs npm and Node.js 20.19 or later (Vite 8): say so plainly, not mid-build.
node_check() {
  command -v npm >/dev/null || { echo "setup: npm is missing: the console is built with npm (install Node.js 20.19+ with npm)" >&2; exit 1; }
  local v
  v=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
    echo "setup: Node.js $v is too old: the console's build (Vite 8) needs 20.19 or later" >&2
    exit 1
  }
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed" >&2
  node_check
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how it is used: only as the tests' private instance, so the system one stays local.
if command -v debconf-set-selections >/dev/null; then
  printf '%s\n' "postfix postfix/main_mailer_type select Local only" "postfix postfix/mailname string localhost" |
    "${sudo_cmd[@]}" debconf-set-selections
fi
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
node_check
