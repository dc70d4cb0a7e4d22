#!/usr/bin/env bash
# Side-by-side throughput of `gonomaly serve` and the FastAPI + scikit-learn reference service
# (../shared/tools/pyref_service.py, the way the seed system serves detection): both serve the
# same isolation forest (100 trees, trained on the same 2000 x 10 rows), and wrk posts the same
# single-row predict request to each, 16 connections for 10 s, one after the other.
#
# A third row serves from PostgreSQL and Redis (GONOMALY_TEST_POSTGRES / GONOMALY_TEST_REDIS,
# defaults the local servers; a schema of its own, dropped at the end) when both answer.
#
# Usage: scripts/vs-fastapi.sh [SHARED_DIR]   (default ../shared)
# Env: DURATION (10s), CONNECTIONS (16), THREADS (2). Installs wrk, python3-fastapi,
# python3-uvicorn and python3-sklearn from Debian when missing (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
dur=${DURATION:-10s} conns=${CONNECTIONS:-16} threads=${THREADS:-2}
py=/usr/bin/python3
need=()
command -v wrk >/dev/null || need+=(wrk)
$py -c 'import fastapi, uvicorn, sklearn' 2>/dev/null || need+=(python3-fastapi python3-uvicorn python3-sklearn)
if ((${#need[@]})); then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d)
pids=()
schema=""
pg=${GONOMALY_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
rd=${GONOMALY_TEST_REDIS:-redis://127.0.0.1:6379/0}
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -n $schema ]]; then psql -q "$pg" -c "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/gonomaly" ./cmd/gonomaly
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on $1" >&2; return 1; }

# The same training rows and the same predict row for both services.
$py - "$tmp" <<'PY'
import json, random, sys
random.seed(1)
X = [[random.gauss(0, 1) for _ in range(10)] for _ in range(2000)]
json.dump(X, open(sys.argv[1] + "/train.json", "w"))
json.dump([[random.gauss(0, 1) for _ in range(10)]], open(sys.argv[1] + "/row.json", "w"))
PY

# setup BASE: create and train an isolation forest, write the predict body, print its id.
setup() {
  $py - "$1" "$tmp" <<'PY'
import json, sys, urllib.request
base, tmp = sys.argv[1], sys.argv[2]
def post(path, body):
    r = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(r).read())
d = post("/api/v1/detectors", {"name": "bench", "algorithm": "isolation_forest", "parameters": {}})
post("/api/v1/detection/train", {"detector_id": d["id"], "data": json.load(open(tmp + "/train.json"))})
body = {"detector_id": d["id"], "data": json.load(open(tmp + "/row.json"))}
print(json.dumps(post("/api/v1/detection/predict", body)), file=sys.stderr)
open(tmp + "/predict-" + base.rsplit(":", 1)[1] + ".json", "w").write(json.dumps(body))
PY
}

# load NAME PORT: run wrk and print one Markdown row.
load() {
  BODY="$tmp/predict-$2.json" wrk -t"$threads" -c"$conns" -d"$dur" --latency -s scripts/predict.lua \
    "http://127.0.0.1:$2/api/v1/detection/predict" >"$tmp/wrk-$1.txt"
  $py - "$1" "$tmp/wrk-$1.txt" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
def dur(s):
    v, u = float(re.match(r"([\d.]+)", s).group(1)), re.match(r"[\d.]+(\w+)", s).group(1)
    return v * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = dur(re.search(r"^\s*50%\s+(\S+)", text, re.M).group(1))
p99 = dur(re.search(r"^\s*99%\s+(\S+)", text, re.M).group(1))
total = int(re.search(r"(\d+) requests in", text).group(1))
errs = 0
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m: errs += int(m.group(1))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m: errs += sum(int(x) for x in m.groups())
print(f"| {name} | {rps:.1f} | {p50:.3f} | {p99:.3f} | {total} | {errs} |")
open(sys.argv[2] + ".rps", "w").write(str(rps))
PY
}

echo "| service | requests/s | p50 (ms) | p99 (ms) | requests | errors |"
echo "|---|---|---|---|---|---|"
pport=$(free_port)
$py "$shared/tools/pyref_service.py" "$pport" >"$tmp/pyref.log" 2>&1 &
pids+=($!)
wait_port "$pport"
setup "http://127.0.0.1:$pport" 2>/dev/null
load "FastAPI + scikit-learn" "$pport"
kill "${pids[0]}"

gport=$(free_port)
"$tmp/gonomaly" serve --addr "127.0.0.1:$gport" --database "sqlite:$tmp/bench.db" >"$tmp/serve.log" 2>&1 &
pids+=($!)
wait_port "$gport"
setup "http://127.0.0.1:$gport" 2>/dev/null
load "gonomaly serve" "$gport"
kill "${pids[1]}"

if psql -q "$pg" -c 'select 1' >/dev/null 2>&1 && (exec 3<>"/dev/tcp/127.0.0.1/6379") 2>/dev/null; then
  schema=bench_$$
  psql -q "$pg" -c "CREATE SCHEMA $schema" >/dev/null
  sep='?'; [[ $pg == *\?* ]] && sep='&'
  gport2=$(free_port)
  "$tmp/gonomaly" serve --addr "127.0.0.1:$gport2" --database "$pg${sep}search_path=$schema" --redis "$rd" >"$tmp/serve2.log" 2>&1 &
  pids+=($!)
  wait_port "$gport2"
  setup "http://127.0.0.1:$gport2" 2>/dev/null
  load "gonomaly serve (PostgreSQL + Redis)" "$gport2"
fi
awk -v a="$(cat "$tmp/wrk-FastAPI + scikit-learn.txt.rps")" -v b="$(cat "$tmp/wrk-gonomaly serve.txt.rps")" \
  'BEGIN {printf "\ngonomaly / FastAPI requests per second: %.0fx\n", b / a}'
