#!/usr/bin/env bash
# A/B of the service's request path between two builds: each build serves the same isolation
# forest (100 trees, 2000 x 10 rows) on SQLite, and wrk posts the same single-row predict to it,
# 16 connections for 10 s; the builds take turns, ROUNDS times, so that the machine's drift hits
# both alike. Prints one Markdown row per run and the medians.
#
# Usage: scripts/ab-serve.sh REV_A REV_B [ROUNDS]   e.g. scripts/ab-serve.sh 5004152 HEAD 3
# Env: DURATION (10s), CONNECTIONS (16), THREADS (2); ARGS_A and ARGS_B, extra serve flags for
# each side (the same REV twice with different flags A/Bs a setting). Needs wrk (Debian: wrk).
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
source scripts/lib/wrk.sh
make_rows
echo "| round | build | requests/s | p50 (ms) | p99 (ms) | errors |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  for side in a b; do
    port=$(free_port)
    rm -f "$tmp/ab.db"*
    extra=ARGS_${side^^}
    # shellcheck disable=SC2086 # the extra flags are words
    "$tmp/gonomaly-$side" serve --addr "127.0.0.1:$port" --database "sqlite:$tmp/ab.db" ${!extra:-} >"$tmp/serve.log" 2>&1 &
    pid=$!
    wait_port "$port"
    setup_forest "http://127.0.0.1:$port" "$tmp/predict.json" 2>/dev/null
    BODY="$tmp/predict.json" wrk -t"$threads" -c"$conns" -d"$dur" --latency -s scripts/predict.lua \
      "http://127.0.0.1:$port/api/v1/detection/predict" >"$tmp/wrk.txt"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    read -r rps p50 p99 _ errs < <(wrk_summary "$tmp/wrk.txt")
    printf '| %s | %s | %.0f | %.3f | %.3f | %s |\n' "$r" "$side=${!side}" "$rps" "$p50" "$p99" "$errs"
    printf '%s\t%s\t%s\t%s\n' "$side=${!side}" "$rps" "$p50" "$p99" >>"$tmp/results.tsv"
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
# Each round ran both builds back to back: the ratio within a round cancels the machine's slow
# drift, so its median is the steadier figure.
a, b = list(rows.values())[:2]
ratios = [[y / x for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]
med = [statistics.median(c) for c in zip(*ratios)]
print(f"median of the rounds' ratios b/a: requests/s {med[0]:.3f}, p50 {med[1]:.3f}, p99 {med[2]:.3f}")
PY
