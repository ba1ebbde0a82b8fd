#!/usr/bin/env bash
# The main job, for now: install what is needed, build, and hash the sample media, printing
# one line per image (pdqhex,quality,file -- the PDQ reference CLI's format).
# Usage: scripts/run.sh [DIR]   (default: ../shared/media/photos)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release >/dev/null
dir=${1:-../shared/media/photos}
if [ ! -d "$dir" ]; then
  echo "run.sh: no media at $dir: give a directory of images: scripts/run.sh DIR" >&2
  exit 2
fi
build/takedown hash -j "$(nproc)" --progress -r "$dir"
