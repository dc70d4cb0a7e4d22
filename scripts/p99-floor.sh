#!/usr/bin/env bash
# The latency floor of this machine and of the load generator, apart from the service (not CI;
# BENCHMARKS.md, issue 13's p99 target). Two measurements:
#   1. scripts/jitter: one spinning thread per core for JITTER (10s) at nice -20 (as root),
#      counting the gaps over 0.5 ms in which the thread did not run: interrupts, other
#      processes, or in a VM the hypervisor. A request in flight on that core waits as long.
#   2. scripts/floorserver (a fixed answer, no parsing or scoring) loaded with
#      `gonomaly performance loadtest --rate RATE` for DURATION, with each --pacing in turn,
#      ROUNDS times: the p99 that no service can beat on this machine with this generator.
#      RATE if set, else PERCENT (50) % of the floor server's own saturated throughput,
#      measured as p99-half.sh measures the service's (closed model, 16 connections, 10 s,
#      median of SAT_ROUNDS (3) runs): issue 13's target put to a server that does nothing.
# Usage: scripts/p99-floor.sh
# Env: RATE, PERCENT (50), SAT_ROUNDS (3), DURATION (10s), ROUNDS (3), JITTER (10s)
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${RATE:-} percent=${PERCENT:-50} satrounds=${SAT_ROUNDS:-3} dur=${DURATION:-10s} rounds=${ROUNDS:-3}
tmp=$(mktemp -d)
spid=
cleanup() {
  [[ -n $spid ]] && kill "$spid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
py=/usr/bin/python3
source scripts/lib/wrk.sh
go build -o "$tmp/gonomaly" ./cmd/gonomaly
go build -o "$tmp/floorserver" ./scripts/floorserver
go build -o "$tmp/jitter" ./scripts/jitter
echo "== jitter ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
if [[ $(id -u) == 0 ]]; then nice -n -20 "$tmp/jitter" "${JITTER:-10s}"; else "$tmp/jitter" "${JITTER:-10s}"; fi
port=$(free_port)
"$tmp/floorserver" "127.0.0.1:$port" &
spid=$!
wait_port "$port"
echo '{"detector_id":"floor","data":[[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0]]}' >"$tmp/body.json"
if [[ -z $rate ]]; then
  sats=()
  for _ in $(seq "$satrounds"); do
    "$tmp/gonomaly" performance loadtest --url "http://127.0.0.1:$port/api/v1" --body-file "$tmp/body.json" --json \
      --database none --concurrency 16 --duration 10s >"$tmp/sat.json"
    sats+=("$($py -c 'import json, sys; print("%.0f" % json.load(open(sys.argv[1]))["result"]["throughput"])' "$tmp/sat.json")")
  done
  sat=$(printf '%s\n' "${sats[@]}" | sort -n | sed -n "$(((satrounds + 1) / 2))p")
  rate=$((sat * percent / 100))
  echo
  echo "saturation of the floor server (closed model, 16 connections, median of $satrounds x 10 s): $sat req/s: ${sats[*]}"
fi
echo
echo "== floorserver at $rate req/s for $dur, $rounds rounds"
echo "| round | pacing | p50 (ms) | p99 (ms) | p99.9 (ms) | send lag p50 (ms) | send lag p99 (ms) | late | generator CPU/request (µs) |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  for pacing in precise timer; do
    /usr/bin/time -f '%U %S' -o "$tmp/time" "$tmp/gonomaly" performance loadtest --url "http://127.0.0.1:$port/api/v1" \
      --body-file "$tmp/body.json" --json --database none --rate "$rate" --duration "$dur" --pacing "$pacing" >"$tmp/out.json"
    $py - "$tmp/out.json" "$tmp/time" "$r" "$pacing" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
u, s = map(float, open(sys.argv[2]).read().split()[-2:])
l, g = r["latency"], r["send_lag"]
print("| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %d | %.1f |" % (sys.argv[3], sys.argv[4], 1e3 * l["p50_seconds"],
      1e3 * l["p99_seconds"], 1e3 * l["p999_seconds"], 1e3 * g["p50_seconds"], 1e3 * g["p99_seconds"], r.get("late", 0),
      1e6 * (u + s) / max(r["requests"], 1)))
PY
  done
done
