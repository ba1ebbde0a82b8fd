#!/usr/bin/env bash
# How long a requester waits when its evidence is a long video (issue 17 item 7): a 60-minute
# video (ffmpeg's test pattern, 1 frame a second, ~2.7 MB) sent as media evidence to a fresh
# `takedown serve`; prints the time to the 201 (the request stored, its media staged encrypted) and
# the time until the background hashing has finished and the request has gone through the policy.
# Usage: scripts/bench-evidence.sh [minutes=60]   (needs a build: scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-60}
dir=$(mktemp -d)
trap 'kill $serve 2>/dev/null; wait $serve 2>/dev/null; rm -rf "$dir"' EXIT
ffmpeg -v error -f lavfi -i "testsrc=size=128x96:rate=1" -t $((minutes * 60)) -c:v libx264 \
  -preset ultrafast -crf 45 -g 300 "$dir/long.mp4"
key=$(build/takedown admin create-key --create --role requester --name bench --store "$dir/db" 2>/dev/null)
build/takedown serve --store.path "$dir/db" --server.port 0 --server.max_body_bytes 67108864 >"$dir/serve.out" 2>&1 &
serve=$!
url=""
until [ -n "$url" ]; do sleep 0.1; url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$dir/serve.out"); done
until curl -sf "$url/readyz" >/dev/null; do sleep 0.1; done
python3 - "$url" "$key" "$dir/long.mp4" <<'PY'
import base64, json, sys, time, urllib.request
url, key, video = sys.argv[1:4]
auth = {"Authorization": "Bearer " + key}
body = json.dumps({"category": "ncii", "explanation": "benchmark", "accuracy_statement": True,
                   "notifier": {"name": "bench", "email": "bench@example.org"},
                   "evidence": [{"media": base64.b64encode(open(video, "rb").read()).decode()}]})
t0 = time.time()
req = urllib.request.Request(url + "/v1/requests", data=body.encode(),
                             headers=dict(auth, **{"Content-Type": "application/json"}))
r = json.load(urllib.request.urlopen(req))
t1 = time.time()
print("video: %d bytes; request accepted in %.0f ms (status %s, media hashing: %s)"
      % (r["evidence"][0]["media_bytes"], (t1 - t0) * 1000, r["status"],
         r["evidence"][0].get("hashing", False)))
while True:
    v = json.load(urllib.request.urlopen(urllib.request.Request(
        "%s/v1/requests/%d" % (url, r["id"]), headers=auth)))
    if v["status"] != "received":
        break
    time.sleep(0.05)
t2 = time.time()
e = v["evidence"][0]
print("hashed in the background and through the policy %.1f s after acceptance: status %s, "
      "usable %s, video %s, problem %s" % (t2 - t1, v["status"], e["usable"], e.get("video"),
                                           e.get("problem")))
PY
