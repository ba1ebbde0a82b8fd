#!/usr/bin/env bash
# Fetches photos that are NOT in ../shared, for measuring quality figures on unseen media:
# Debian's plasma-workspace-wallpapers (KDE, LGPL/CC-BY-SA) and mate-backgrounds (GPL/CC) --
# one image per wallpaper (its largest size), plus every MATE background over 100 kB.
# Usage: scripts/extra-media.sh DIR     (needs apt access; writes DIR/*.jpg|png and SOURCES.tsv)
set -euo pipefail
out=${1:?usage: $0 DIR}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download plasma-workspace-wallpapers mate-backgrounds >/dev/null 2>&1)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/x"; done
printf 'file\tdebian_package\tpath_in_package\n' > "$out/SOURCES.tsv"
for d in "$work"/x/usr/share/wallpapers/*/contents; do
  f=$(ls -S "$d"/images/* 2>/dev/null | head -1) || true
  [ -n "$f" ] || continue
  name="plasma_$(basename "$(dirname "$d")")_$(basename "$f")"
  cp "$f" "$out/$name"
  printf '%s\tplasma-workspace-wallpapers\t%s\n' "$name" "${f#"$work"/x}" >> "$out/SOURCES.tsv"
done
find "$work/x/usr/share/backgrounds/mate" -type f -size +100k | sort | while read -r f; do
  name="mate_$(basename "$f")"
  cp "$f" "$out/$name"
  printf '%s\tmate-backgrounds\t%s\n' "$name" "${f#"$work"/x}" >> "$out/SOURCES.tsv"
done
echo "extra-media: $(($(wc -l < "$out/SOURCES.tsv") - 1)) images in $out" >&2
