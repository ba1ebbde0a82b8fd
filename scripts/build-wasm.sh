#!/usr/bin/env bash
# Builds the WebAssembly hashing module of the victims' form (wasm/): libjpeg-turbo and libwebp
# from Debian's source packages of exactly the versions the native build links (so both decode
# to the same pixels), then wasm/ with Debian's emscripten.
#
#   scripts/build-wasm.sh WORK_DIR OUT_DIR
#
# WORK_DIR keeps the downloaded sources and the builds (reused on the next run); OUT_DIR receives
# takedown-hash.mjs and takedown-hash.wasm. Needs the packages scripts/setup.sh installs
# (emscripten, node-acorn, dpkg-dev) and Debian's source archive (deb.debian.org, the mirror the
# machine's own sources list names). Called by the project's build (src/http/CMakeLists.txt).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 WORK_DIR OUT_DIR" >&2
  exit 2
fi
work=$(mkdir -p "$1" && cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)

for tool in emcmake emcc apt-get dpkg-source dpkg-query; do
  command -v "$tool" >/dev/null || {
    echo "build-wasm: $tool not found; run scripts/setup.sh (it installs emscripten and dpkg-dev)" >&2
    exit 1
  }
done
# Debian's emscripten runs its optimiser with node; Debian's acorn lives in /usr/share/nodejs.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

# The source package of the version installed for the native build, e.g. libjpeg-turbo 2.1.5-2.
version_of() {
  dpkg-query -W -f '${source:Version}' "$1" 2>/dev/null || {
    echo "build-wasm: $1 is not installed; run scripts/setup.sh" >&2
    exit 1
  }
}
jpeg_version=$(version_of libjpeg62-turbo-dev)
webp_version=$(version_of libwebp-dev)

# apt-get source with a private list of Debian's source archive: the machine's own apt
# configuration is left as it is. apt checks each file against the signed Sources index.
fetch() {  # package version -> unpacked directory name on stdout
  local pkg=$1 version=$2 dir
  dir="$work/src/$pkg-$version"
  if [[ ! -f "$dir/.unpacked" ]]; then
    local apt="$work/apt"
    mkdir -p "$apt/lists/partial" "$dir"
    local suites
    suites=$(awk '/^Suites:/ {for (i = 2; i <= NF; ++i) print $i}' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
      grep -v security | tr '\n' ' ')
    cat >"$apt/sources.list" <<SOURCES
deb-src http://deb.debian.org/debian ${suites:-bookworm bookworm-updates} main
SOURCES
    local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt/lists" -o Debug::NoLocking=1)
    if [[ ! -f "$apt/.updated" ]]; then
      echo "build-wasm: reading Debian's source index" >&2
      apt-get "${opts[@]}" -qq update >&2
      touch "$apt/.updated"
    fi
    echo "build-wasm: fetching the source of $pkg $version" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && apt-get "${opts[@]}" -qq source --download-only "$pkg=$version" >&2 2>/dev/null &&
      dpkg-source -x --no-check ./*.dsc tree >&2)
    touch "$dir/.unpacked"
  fi
  echo "$dir/tree"
}

jpeg_src=$(fetch libjpeg-turbo "$jpeg_version")
webp_src=$(fetch libwebp "$webp_version")

jobs=$(nproc)
if [[ ! -f "$work/jpeg/libjpeg.a" ]]; then
  echo "build-wasm: building libjpeg-turbo $jpeg_version (no SIMD: its C code gives the same pixels)" >&2
  # check_type_size misreads emscripten's objects; wasm32's sizes are stated instead.
  emcmake cmake -S "$jpeg_src" -B "$work/jpeg" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DENABLE_SHARED=OFF -DWITH_SIMD=OFF -DWITH_TURBOJPEG=OFF -DWITH_JAVA=OFF \
    -DHAVE_SIZE_T=TRUE -DSIZE_T=4 -DHAVE_UNSIGNED_LONG=TRUE -DUNSIGNED_LONG=4 >"$work/jpeg.log" 2>&1 ||
    { cat "$work/jpeg.log" >&2; exit 1; }
  ninja -C "$work/jpeg" -j "$jobs" jpeg-static >>"$work/jpeg.log" 2>&1 || { tail -40 "$work/jpeg.log" >&2; exit 1; }
fi
if [[ ! -f "$work/webp/libwebp.a" || ! -f "$work/webp/libwebpdemux.a" ]]; then
  echo "build-wasm: building libwebp $webp_version" >&2
  emcmake cmake -S "$webp_src" -B "$work/webp" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DWEBP_BUILD_ANIM_UTILS=OFF -DWEBP_BUILD_CWEBP=OFF -DWEBP_BUILD_DWEBP=OFF \
    -DWEBP_BUILD_GIF2WEBP=OFF -DWEBP_BUILD_IMG2WEBP=OFF -DWEBP_BUILD_VWEBP=OFF \
    -DWEBP_BUILD_WEBPINFO=OFF -DWEBP_BUILD_WEBPMUX=OFF -DWEBP_BUILD_EXTRAS=OFF \
    -DWEBP_BUILD_WEBP_JS=OFF -DWEBP_ENABLE_SIMD=OFF -DWEBP_USE_THREAD=OFF >"$work/webp.log" 2>&1 ||
    { cat "$work/webp.log" >&2; exit 1; }
  ninja -C "$work/webp" -j "$jobs" webp webpdemux >>"$work/webp.log" 2>&1 || { tail -40 "$work/webp.log" >&2; exit 1; }
fi

# Debian's header-only libraries, without the rest of /usr/include.
mkdir -p "$work/headers"
for h in fmt nlohmann; do
  [[ -d /usr/include/$h ]] || { echo "build-wasm: /usr/include/$h missing; run scripts/setup.sh" >&2; exit 1; }
  ln -sfn "/usr/include/$h" "$work/headers/$h"
done

if [[ ! -f "$work/module/build.ninja" ]]; then
  emcmake cmake -S "$repo/wasm" -B "$work/module" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DJPEG_SOURCE="$jpeg_src" -DJPEG_BUILD="$work/jpeg" -DWEBP_SOURCE="$webp_src" \
    -DWEBP_BUILD="$work/webp" -DHEADERS_DIR="$work/headers" >"$work/module.log" 2>&1 ||
    { cat "$work/module.log" >&2; exit 1; }
fi
ninja -C "$work/module" -j "$jobs" >&2
cp -f "$work/module/takedown-hash.mjs" "$work/module/takedown-hash.wasm" "$out/"
echo "build-wasm: $out/takedown-hash.wasm ($(stat -c %s "$out/takedown-hash.wasm") bytes)" >&2
