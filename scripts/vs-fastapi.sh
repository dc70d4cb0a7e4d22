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
source scripts/lib/wrk.sh
make_rows

# setup BASE: create and train an isolation forest, write the predict body.
setup() { setup_forest "$1" "$tmp/predict-${1##*:}.json"; }

# load NAME PORT: run wrk and print one Markdown row.
load() {
  BODY="$tmp/predict-$2.json" wrk -t"$threads" -c"$conns" -d"$dur" --latency -s scripts/predict.lua \
    "http://127.0.0.1:$2/api/v1/detection/predict" >"$tmp/wrk-$1.txt"
  read -r rps p50 p99 total errs < <(wrk_summary "$tmp/wrk-$1.txt")
  printf '| %s | %.1f | %.3f | %.3f | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "$total" "$errs"
  echo "$rps" >"$tmp/wrk-$1.txt.rps"
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
