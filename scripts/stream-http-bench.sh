#!/usr/bin/env bash
# Streams ROWS rows (default 1,000,000) of COLS values over one connection to a real
# `gonomaly serve` (SQLite in a temporary directory) through POST /api/v1/detection/stream,
# ROUNDS times, and reports each round's rows/s and the server's resident memory: its peak
# (VmHWM of /proc/PID/status) before the first stream and after each, and its current RSS.
# The rows are written to a file first (not timed); curl uploads it and takes the answer at the
# same time, as a streaming client does. The detector is an isolation forest (100 trees)
# trained on 2000 rows.
#
# Usage: scripts/stream-http-bench.sh [ROWS]   Env: COLS (10), ROUNDS (3)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000} cols=${COLS:-10} rounds=${ROUNDS:-3}
py=/usr/bin/python3
tmp=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
source scripts/lib/wrk.sh # free_port, wait_port

go build -o "$tmp/gonomaly" ./cmd/gonomaly
"$py" - "$tmp" "$rows" "$cols" <<'PY'
import json, random, sys
tmp, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
json.dump([[random.gauss(0, 1) for _ in range(d)] for _ in range(2000)], open(tmp + "/train.json", "w"))
pool = ["[" + ",".join("%.4f" % random.gauss(0, 1) for _ in range(d)) + "]\n" for _ in range(1000)]
with open(tmp + "/rows.ndjson", "w") as f:
    for i in range(0, n, 1000):
        f.write("".join(pool[: min(1000, n - i)]))
PY

port=$(free_port)
"$tmp/gonomaly" serve --addr "127.0.0.1:$port" --database "sqlite:$tmp/bench.db" >"$tmp/serve.log" 2>&1 &
pid=$!
wait_port "$port"
base="http://127.0.0.1:$port/api/v1"
id=$(curl -sS -X POST "$base/detectors" -H 'Content-Type: application/json' \
  -d '{"name":"stream-bench","algorithm":"isolation_forest","parameters":{"seed":1}}' | "$py" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
printf '{"detector_id":"%s","data":%s}' "$id" "$(cat "$tmp/train.json")" >"$tmp/train-body.json"
curl -sS -X POST "$base/detection/train" -H 'Content-Type: application/json' --data-binary "@$tmp/train-body.json" >/dev/null

status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; } # kB
echo "rows $rows x $cols values ($(du -m "$tmp/rows.ndjson" | cut -f1) MB of NDJSON), isolation_forest, $(nproc) cores"
echo "server before streaming: VmHWM $(($(status VmHWM) / 1024)) MB, VmRSS $(($(status VmRSS) / 1024)) MB"
echo "| round | rows/s | seconds | answer lines | VmHWM after (MB) | VmRSS after (MB) |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  t0=$(date +%s.%N)
  curl -sS -X POST "$base/detection/stream?detector_id=$id" -H 'Content-Type: application/x-ndjson' \
    -H 'Expect:' -T "$tmp/rows.ndjson" -o "$tmp/out.ndjson"
  t1=$(date +%s.%N)
  lines=$(wc -l <"$tmp/out.ndjson")
  last=$(tail -n 1 "$tmp/out.ndjson")
  case $last in
    *'"done":true'*"\"rows\":$rows,"*) ;;
    *) echo "round $r: the stream did not end well: $last" >&2; exit 1 ;;
  esac
  printf '| %s | %.0f | %.2f | %s | %s | %s |\n' "$r" "$("$py" -c "print($rows / ($t1 - $t0))")" \
    "$("$py" -c "print($t1 - $t0)")" "$lines" "$(($(status VmHWM) / 1024))" "$(($(status VmRSS) / 1024))"
done
# The monitor's view of the streams' batches (its window is the last minute).
curl -sS "http://127.0.0.1:$port/api/performance/metrics" | "$py" -c '
import json, sys
for o in json.load(sys.stdin)["operations"]:
    if o["name"] == "detection stream batch":
        print("batches in the monitor'"'"'s last minute: %d, %d rows, %.0f rows a batch, p50 %.2f ms, p99 %.2f ms a batch" % (
            o["count"], o["rows"], o["rows"] / max(o["count"], 1), o["p50_ns"] / 1e6, o["p99_ns"] / 1e6))'
