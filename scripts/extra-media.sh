#!/usr/bin/env bash
# Fetches photos that are NOT in ../shared, for measuring quality figures on unseen media:
# Debian's plasma-workspace-wallpapers (KDE, LGPL/CC-BY-SA) and mate-backgrounds (GPL/CC) --
# one image per wallpaper (its largest size), plus each MATE background over 100 kB (one size each).
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
# MATE ships some pictures at several sizes (Elephants.jpg, Elephants_3840x2160.jpg, ...): those
# are the same picture, so keep one -- the largest -- of each.
find "$work/x/usr/share/backgrounds/mate" -type f -size +100k -printf '%s %p\n' | sort -rn |
  while read -r _ f; do
    base=$(basename "$f")
    key=$(echo "${base%.*}" | sed -E 's/_[0-9]+x[0-9]+$//')
    [ -e "$work/seen_$key" ] && continue
    : > "$work/seen_$key"
    name="mate_$base"
    cp "$f" "$out/$name"
    printf '%s\tmate-backgrounds\t%s\n' "$name" "${f#"$work"/x}" >> "$out/SOURCES.tsv"
  done
# Pairs that are the same picture in PDQ's eyes, so that benchmarks do not count them as false
# matches: Ubuntu MATE's wallpaper in its colour schemes (one design, recoloured).
{
  printf '# same design recoloured: true near-duplicates\n'
  for a in Cold Dark Radioactive Warm; do
    for b in Cold Dark Radioactive Warm; do
      [ "$a" \< "$b" ] && printf 'mate_Ubuntu-Mate-%s-no-logo.png\tmate_Ubuntu-Mate-%s-no-logo.png\trecoloured\n' "$a" "$b"
    done
  done
} > "$out/NEAR_DUPLICATES.tsv"
echo "extra-media: $(($(wc -l < "$out/SOURCES.tsv") - 1)) images in $out" >&2
