#!/usr/bin/env bash
# The service's p99 in the open model at half its saturated single-row throughput (issue 13's
# target: under 2 ms on a 2-core machine, generator included), and A/B comparisons of builds
# or settings on that measurement.
#
# Each run starts a fresh `gonomaly serve` (SQLite in a temporary directory), creates and
# trains an isolation forest (2000 x 10 rows, scripts/lib/wrk.sh), warms it up for WARMUP at the
# run's rate, then runs `gonomaly performance loadtest --rate RATE --duration DURATION` with a
# single-row predict body and stops the service. Every variant runs once per round, in turn, so
# a change in the machine's load falls on all of them alike; the table ends with each
# variant's medians.
#
# The rate: RATE if set, else PERCENT (50) % of the saturated throughput, measured first with
# the closed model (loadtest --concurrency 16 for 10 s, SAT_ROUNDS (3) runs, median) against
# the first variant.
#
# A variant is NAME=SERVE_BINARY[,GENERATOR_BINARY[,ENV...]]: the binary gonomaly serve runs
# from, the one the generator runs from (default the serve binary's), and KEY=VALUE settings
# put in both processes' environment (GOGC=200, GOMAXPROCS=1, ...); ENV entries that start with
# serve: or gen: go only to that process (gen:GOMAXPROCS=1); db:DIR puts the service's
# database in DIR (db:/dev/shm: no disk under it); flag:FLAG adds FLAG to the generator's
# command line (flag:--pacing=timer). Without VARIANTS: one variant,
# "head", built from this tree. SERVE_FLAGS are extra flags for every serve.
#
# Usage: scripts/p99-half.sh
# Env: VARIANTS, ROUNDS (3), DURATION (20s), WARMUP (3s), RATE, PERCENT (50), SAT_ROUNDS (3),
# SERVE_FLAGS, KEEP (a directory to keep the JSON documents and service logs in), NICE (run
# serve and the generator under nice -n NICE: -15, as root, keeps other processes of a shared
# machine from taking the cores in the middle of a request; say so when you quote figures).
# Example (A/B of two builds, the generator always the first):
#   go build -o /tmp/a ./cmd/gonomaly; (edit) go build -o /tmp/b ./cmd/gonomaly
#   VARIANTS="before=/tmp/a after=/tmp/b,/tmp/a" ROUNDS=5 scripts/p99-half.sh
# (the two pacings of one build: VARIANTS="precise=/tmp/a timer=/tmp/a,/tmp/a,flag:--pacing=timer")
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3} dur=${DURATION:-20s} warm=${WARMUP:-3s} percent=${PERCENT:-50} satrounds=${SAT_ROUNDS:-3}
py=/usr/bin/python3
pfx=()
if [[ -n ${NICE:-} ]]; then
  # Linux groups processes by session for scheduling (autogroup): nice alone weighs only
  # against the same session's processes, so each process gets a session of its own, niced.
  pfx=(setsid sh -c 'n=$1; shift; [ -w /proc/self/autogroup ] && echo "$n" >/proc/self/autogroup; exec nice -n "$n" "$@"' sh "$NICE")
fi

tmp=$(mktemp -d)
serve_pid=
cleanup() {
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP" && cp "$tmp"/*.json "$tmp"/*.log "$KEEP"/ 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
source scripts/lib/wrk.sh
make_rows

variants=${VARIANTS:-}
if [[ -z $variants ]]; then
  go build -o "$tmp/gonomaly" ./cmd/gonomaly
  variants="head=$tmp/gonomaly"
fi
read -r -a specs <<<"$variants"

# parse SPEC: sets name, sbin, gbin, senv (array), genv (array), gflags (array).
parse() {
  name=${1%%=*}
  local rest=${1#*=}
  IFS=, read -r -a parts <<<"$rest"
  sbin=${parts[0]} gbin=${parts[1]:-${parts[0]}}
  senv=() genv=() gflags=() dbdir=
  for kv in "${parts[@]:2}"; do
    case $kv in
      db:*) dbdir=${kv#db:} ;;
      serve:*) senv+=("${kv#serve:}") ;;
      gen:*) genv+=("${kv#gen:}") ;;
      flag:*) gflags+=("${kv#flag:}") ;;
      *) senv+=("$kv") genv+=("$kv") ;;
    esac
  done
}

# start: starts serve from $sbin with $senv and trains the forest; sets base and serve_pid.
start() {
  local port
  port=$(free_port)
  local db=${dbdir:-$tmp}/serve.db
  rm -f "$db"*
  # shellcheck disable=SC2086
  "${pfx[@]}" env "${senv[@]}" "$sbin" serve --addr "127.0.0.1:$port" --database "sqlite:$db" --log-level warn ${SERVE_FLAGS:-} \
    >>"$tmp/serve-$name.log" 2>&1 &
  serve_pid=$!
  wait_port "$port"
  base="http://127.0.0.1:$port"
  setup_forest "$base" "$tmp/predict.json" 2>/dev/null
}

stop() {
  kill "$serve_pid" && wait "$serve_pid" || true
  serve_pid=
}

# load OUT FLAGS...: the generator, from $gbin with $genv.
load() {
  local out=$1
  shift
  "${pfx[@]}" env "${genv[@]}" "$gbin" performance loadtest --url "$base/api/v1" --body-file "$tmp/predict.json" \
    --json --database none "$@" "${gflags[@]}" >"$out"
}

# summary FILE: "throughput p50 p99 p999 sendlag_p99 late dropped requests errors" (ms).
summary() {
  $py - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
lat, lag = r["latency"], r.get("send_lag") or {}
print("%.0f %.3f %.3f %.3f %.3f %d %d %d %d" % (r["throughput"], 1e3 * lat["p50_seconds"], 1e3 * lat["p99_seconds"],
      1e3 * lat["p999_seconds"], 1e3 * lag.get("p99_seconds", 0), r.get("late", 0), r.get("dropped", 0),
      r["requests"], r["requests"] - r["successes"]))
PY
}

# server_stats BEFORE AFTER: "service_p99_ms gc_cycles cpu_s" from two scrapes of /metrics.
server_stats() {
  $py - "$@" <<'PY'
import re, sys
def read(path):
    text, b = open(path).read(), {}
    for le, v in re.findall(r'gonomaly_http_request_duration_seconds_bucket\{(?:instance_id="[^"]*",)?route="POST /api/v1/detection/predict",le="([^"]+)"\} (\S+)', text):
        b[float(le)] = float(v)
    num = lambda name: float((re.search(r"^%s(?:\{[^}]*\})? (\S+)" % name, text, re.M) or [0, 0])[1])
    return b, num("process_cpu_seconds_total"), num("go_gc_duration_seconds_count")
(b0, c0, g0), (b1, c1, g1) = read(sys.argv[1]), read(sys.argv[2])
d = sorted((le, b1[le] - b0.get(le, 0)) for le in b1)
total = d[-1][1] if d else 0
p99 = next((le for le, c in d if total and c >= 0.99 * total), float("nan"))
print("%.3f %d %.2f" % (1e3 * p99, g1 - g0, c1 - c0))
PY
}

rate=${RATE:-}
if [[ -z $rate ]]; then
  parse "${specs[0]}"
  start
  : >"$tmp/sat.rows"
  for i in $(seq "$satrounds"); do
    load "$tmp/sat-$i.json" --concurrency 16 --duration 10s
    summary "$tmp/sat-$i.json" | cut -d' ' -f1 >>"$tmp/sat.rows"
  done
  stop
  sat=$($py -c "import statistics,sys; print(statistics.median(float(l) for l in open(sys.argv[1])))" "$tmp/sat.rows")
  rate=$($py -c "print(round($sat * $percent / 100))")
  echo "saturation (closed model, 16 connections, median of $satrounds x 10 s, variant $name): $(printf '%.0f' "$sat") req/s: $(tr '\n' ' ' <"$tmp/sat.rows")"
fi
echo "open model at $rate req/s for $dur, $rounds rounds ($(nproc) cores); load1 is /proc/loadavg's at the run's end"
echo
echo "| round | variant | p50 (ms) | p99 (ms) | p99.9 (ms) | send lag p99 (ms) | late | dropped | errors | throughput | service p99 <= (ms) | service GC cycles | service CPU (s) | load1 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
: >"$tmp/rows"
for r in $(seq "$rounds"); do
  for spec in "${specs[@]}"; do
    parse "$spec"
    start
    load "$tmp/warm.json" --rate "$rate" --duration "$warm"
    curl -s "$base/metrics" >"$tmp/m0.txt"
    load "$tmp/open-$name-$r.json" --rate "$rate" --duration "$dur"
    curl -s "$base/metrics" >"$tmp/m1.txt"
    stop
    read -r rps p50 p99 p999 lag late dropped total errs < <(summary "$tmp/open-$name-$r.json")
    read -r sp99 gcs scpu < <(server_stats "$tmp/m0.txt" "$tmp/m1.txt")
    printf '| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$r" "$name" "$p50" "$p99" "$p999" "$lag" \
      "$late" "$dropped" "$errs" "$rps" "$sp99" "$gcs" "$scpu" "$(cut -d' ' -f1 /proc/loadavg)"
    echo "$name $p50 $p99 $p999 $lag $scpu" >>"$tmp/rows"
  done
done
echo
$py - "$tmp/rows" <<'PY'
import statistics as st, sys
rows = {}
for l in open(sys.argv[1]):
    f = l.split()
    rows.setdefault(f[0], []).append(list(map(float, f[1:])))
first = None
for name, rs in rows.items():
    med = [st.median(r[i] for r in rs) for i in range(5)]
    first = first or med
    print("median %-12s p50 %.3f ms, p99 %.3f ms (x%.2f of %s), p99.9 %.3f ms, send lag p99 %.3f ms, service CPU %.2f s; p99s: %s"
          % (name, med[0], med[1], med[1] / first[1], next(iter(rows)), med[2], med[3], med[4],
             " ".join("%.2f" % r[1] for r in rs)))
PY
