#!/usr/bin/env bash
# A/B of the service's request path between two builds: each build serves the same isolation
# forest (100 trees, 2000 x 10 rows) on SQLite, and wrk posts the same single-row predict to it,
# 16 connections for 10 s; the builds take turns, ROUNDS times, so that the machine's drift hits
# both alike. Prints one Markdown row per run and the medians.
#
# Usage: scripts/ab-serve.sh REV_A REV_B [ROUNDS]   e.g. scripts/ab-serve.sh 5004152 HEAD 3
# Env: DURATION (10s), CONNECTIONS (16), THREADS (2). Needs wrk (Debian: wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
a=${1:?usage: ab-serve.sh REV_A REV_B [ROUNDS]} b=${2:?usage: ab-serve.sh REV_A REV_B [ROUNDS]} rounds=${3:-3}
dur=${DURATION:-10s} conns=${CONNECTIONS:-16} threads=${THREADS:-2}
py=/usr/bin/python3
command -v wrk >/dev/null || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
tmp=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  git worktree remove --force "$tmp/src-a" 2>/dev/null || true
  git worktree remove --force "$tmp/src-b" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for side in a b; do
  rev=${!side}
  git worktree add -q --detach "$tmp/src-$side" "$rev"
  (cd "$tmp/src-$side" && go build -o "$tmp/gonomaly-$side" ./cmd/gonomaly)
done
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on $1" >&2; return 1; }
$py - "$tmp" <<'PY'
import json, random, sys
random.seed(1)
json.dump([[random.gauss(0, 1) for _ in range(10)] for _ in range(2000)], open(sys.argv[1] + "/train.json", "w"))
json.dump([[random.gauss(0, 1) for _ in range(10)]], open(sys.argv[1] + "/row.json", "w"))
PY
setup() {
  $py - "$1" "$tmp" <<'PY'
import json, sys, urllib.request
base, tmp = sys.argv[1], sys.argv[2]
def post(path, body):
    r = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(r).read())
d = post("/api/v1/detectors", {"name": "bench", "algorithm": "isolation_forest"})
post("/api/v1/detection/train", {"detector_id": d["id"], "data": json.load(open(tmp + "/train.json"))})
open(tmp + "/predict.json", "w").write(json.dumps({"detector_id": d["id"], "data": json.load(open(tmp + "/row.json"))}))
PY
}
echo "| round | build | requests/s | p50 (ms) | p99 (ms) | errors |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  for side in a b; do
    port=$(free_port)
    rm -f "$tmp/ab.db"*
    "$tmp/gonomaly-$side" serve --addr "127.0.0.1:$port" --database "sqlite:$tmp/ab.db" >"$tmp/serve.log" 2>&1 &
    pid=$!
    wait_port "$port"
    setup "http://127.0.0.1:$port"
    BODY="$tmp/predict.json" wrk -t"$threads" -c"$conns" -d"$dur" --latency -s scripts/predict.lua \
      "http://127.0.0.1:$port/api/v1/detection/predict" >"$tmp/wrk.txt"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    $py - "$r" "$side=${!side}" "$tmp/wrk.txt" "$tmp/results.tsv" <<'PY'
import re, sys
r, name, text, out = sys.argv[1], sys.argv[2], open(sys.argv[3]).read(), sys.argv[4]
def dur(s):
    v, u = float(re.match(r"([\d.]+)", s).group(1)), re.match(r"[\d.]+(\w+)", s).group(1)
    return v * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = dur(re.search(r"^\s*50%\s+(\S+)", text, re.M).group(1))
p99 = dur(re.search(r"^\s*99%\s+(\S+)", text, re.M).group(1))
errs = 0
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m: errs += int(m.group(1))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m: errs += sum(int(x) for x in m.groups())
print(f"| {r} | {name} | {rps:.0f} | {p50:.3f} | {p99:.3f} | {errs} |")
open(out, "a").write(f"{name}\t{rps}\t{p50}\t{p99}\n")
PY
  done
done
$py - "$tmp/results.tsv" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *v = line.split("\t")
    rows.setdefault(name, []).append([float(x) for x in v])
print()
for name, vs in rows.items():
    med = [statistics.median(c) for c in zip(*vs)]
    print(f"median {name}: {med[0]:.0f} requests/s, p50 {med[1]:.3f} ms, p99 {med[2]:.3f} ms ({len(vs)} runs)")
PY
