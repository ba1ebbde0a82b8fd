#!/usr/bin/env bash
# Builds the Debian package: build/pkg/takedown_<version>_amd64.deb (release build; see
# packaging/CMakeLists.txt for what it installs where). Install it with
#   apt install ./build/pkg/takedown_<version>_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh service
scripts/build.sh service >/dev/null
rm -f build/pkg/takedown_*_amd64.deb
(cd build && cpack -G DEB -B pkg >/dev/null)
deb=$(ls -1 build/pkg/takedown_*_amd64.deb)
# No path of this checkout in the shipped binary (-ffile-prefix-map; see CMakeLists.txt).
if dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/takedown | strings | grep -F "$PWD/" >/dev/null; then
  echo "package.sh: the packaged binary names the source tree $PWD" >&2
  exit 1
fi
echo "$deb"
