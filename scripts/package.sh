#!/usr/bin/env bash
# Builds the Debian package: build/pkg/takedown_<version>_amd64.deb (release build; see
# packaging/CMakeLists.txt for what it installs where). Install it with
#   apt install ./build/pkg/takedown_<version>_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh service
scripts/build.sh service >/dev/null
(cd build && cpack -G DEB -B pkg >/dev/null)
ls -1 build/pkg/takedown_*_amd64.deb
