#!/usr/bin/env bash
# Fetches videos that are NOT in ../shared, for measuring video matching on unseen footage:
# OpenCV's sample videos from Debian's opencv-doc (BSD/Apache: Megamind.avi, 11 s; box.mp4, 15 s;
# cup.mp4, 8 s with a damaged slice). With PHOTOS (a directory of pictures not in ../shared, such
# as scripts/extra-media.sh writes), also slideshows of 20 s: four pictures each, 5 s apiece, each
# slowly zoomed and panned by ffmpeg's zoompan -- camera motion over real pictures, none of them in
# another video.
# Usage: scripts/extra-videos.sh DIR [PHOTOS]   (needs apt access; writes DIR/* and SOURCES.tsv)
# Then: build/bench/takedown-bench video-match --extra DIR
set -euo pipefail
out=${1:?usage: $0 DIR [PHOTOS]}
photos=${2:-}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download opencv-doc >/dev/null 2>&1)
dpkg-deb -x "$work"/opencv-doc_*.deb "$work/x"
doc="$work/x/usr/share/doc/opencv-doc"
printf 'file\tsource\tpath_or_inputs\n' > "$out/SOURCES.tsv"
cp "$doc/examples/data/Megamind.avi" "$out/"
printf 'Megamind.avi\topencv-doc\t%s\n' /usr/share/doc/opencv-doc/examples/data/Megamind.avi >> "$out/SOURCES.tsv"
for v in box cup; do
  gunzip -c "$doc/opencv4/html/$v.mp4.gz" > "$out/$v.mp4"
  printf '%s.mp4\topencv-doc\t%s\n' "$v" "/usr/share/doc/opencv-doc/opencv4/html/$v.mp4.gz" >> "$out/SOURCES.tsv"
done
if [ -n "$photos" ]; then
  # One picture of each set of near-duplicates (extra-media.sh's NEAR_DUPLICATES.tsv: one design
  # recoloured), so that no two slideshows share a picture in PDQ's eyes.
  skip=$(awk -F'\t' '!/^#/ {print $2}' "$photos/NEAR_DUPLICATES.tsv" 2>/dev/null || true)
  mapfile -t pics < <(find "$photos" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) |
    sort | grep -v -x -F -f <(printf '%s\n' "$skip" | sed "s|^|$photos/|"; echo /nonexistent))
  n=0
  for ((i = 0; i + 4 <= ${#pics[@]} && n < 6; i += 4)); do
    inputs=() filters="" names=""
    for k in 0 1 2 3; do
      p=${pics[$((i + k))]}
      inputs+=(-i "$p")  # one frame: zoompan makes 125 of it
      # Zoom in slowly towards a point that differs per picture; 125 frames of 640x360.
      filters+="[$k:v]scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,"
      filters+="zoompan=z='min(zoom+0.002,1.3)':x='iw/2-(iw/zoom/2)+$((k * 20 - 30))*on/125':"
      filters+="y='ih/2-(ih/zoom/2)':d=125:s=640x360:fps=25,setsar=1[v$k];"
      names+="$(basename "$p") "
    done
    name="slideshow_$n.mp4"
    ffmpeg -v error -y "${inputs[@]}" -filter_complex "${filters}[v0][v1][v2][v3]concat=n=4:v=1[v]" \
      -map '[v]' -c:v libx264 -crf 23 -preset veryfast -pix_fmt yuv420p "$out/$name"
    printf '%s\tzoompan of\t%s\n' "$name" "$names" >> "$out/SOURCES.tsv"
    n=$((n + 1))
  done
fi
echo "extra-videos: $(($(wc -l < "$out/SOURCES.tsv") - 1)) videos in $out" >&2
