#!/usr/bin/env bash
# Clang's thread-safety analysis over every source file of src/: each field marked
# TD_GUARDED_BY(mu) is touched only with mu held, and TD_REQUIRES / TD_EXCLUDES hold at every call
# (core/mutex.h). Syntax-only (no code is generated): a minute or two on two cores. Fails on the
# first warning. scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The configure and build steps' output only when they fail (ninja prints a compiler's errors on
# standard output: sent to /dev/null, a failing step would end CI without saying why).
quiet() {
  local log
  log=$(mktemp)
  "$@" >"$log" 2>&1 || { echo "check-threads: '$*' failed:" >&2; tail -40 "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
}
CC=clang CXX=clang++ quiet cmake -S . -B build-tsa -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DTAKEDOWN_BUILD_TESTS=OFF -DTAKEDOWN_BUILD_BENCH=OFF -DTAKEDOWN_CONSOLE=OFF
# Generated headers the sources include (the git revision of `--version`).
quiet cmake --build build-tsa --target takedown_revision
# The build's own commands for each file of src/ (generated sources need a build: skipped).
python3 - <<'PY' >build-tsa/tsa-commands.txt
import json, os, shlex
root = os.getcwd()
for c in json.load(open("build-tsa/compile_commands.json")):
    f = os.path.relpath(c["file"], root)
    if not f.startswith("src/") or not f.endswith(".cc"):
        continue
    args = shlex.split(c["command"])
    out = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a in ("-c",):
            continue
        out.append(a)
    out += ["-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety", "-Wno-unknown-warning-option"]
    print(json.dumps({"dir": c["directory"], "args": out, "file": f}))
PY
echo "check-threads: $(wc -l <build-tsa/tsa-commands.txt) files under -Wthread-safety" >&2
fail=0
python3 - <<'PY' || fail=1
import json, subprocess, sys, concurrent.futures, os
cmds = [json.loads(l) for l in open("build-tsa/tsa-commands.txt")]
def run(c):
    p = subprocess.run(c["args"], cwd=c["dir"], capture_output=True, text=True)
    bad = p.returncode != 0 or "-Wthread-safety" in p.stderr
    return c["file"], bad, p.stderr
failed = 0
with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
    for f, bad, err in ex.map(run, cmds):
        if bad:
            failed += 1
            sys.stderr.write(f"check-threads: {f}\n{err}\n")
sys.exit(1 if failed else 0)
PY
if [ "$fail" != 0 ]; then
  echo "check-threads: FAILED (clang -Wthread-safety)" >&2
  exit 1
fi
echo "check-threads: no thread-safety warning" >&2
