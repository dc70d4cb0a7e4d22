#!/usr/bin/env bash
# Partitioned scoring on NATS JetStream (not CI; docs/cluster.md, BENCHMARKS.md): writes a
# labelled CSV of SIZE_MB megabytes with scripts/streamgen, trains isolation_forest on its first
# 100,000 rows, then, ROUNDS times in turn, scores every row
#   local    gonomaly detect --model (streaming, this process, every core)
#   w1       gonomaly detect --model --distributed with one worker process
#   w2       the same with two worker processes
# checking each run's scores equal the local ones. For each run it prints the wall time, rows/s,
# and the CPU seconds of the coordinator (the detect process), the workers and nats-server.
# Then it measures the coordination cost of a partition alone: a small file cut into
# partitions of 1 KiB (a few rows each) scored by one worker: wall time / partitions.
#
# Usage: scripts/cluster-bench.sh [SIZE_MB]
#   ROUNDS=3  PART=64MiB (partition size)  NATS=nats://127.0.0.1:4222  TMPDIR=/tmp
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-500}
rounds=${ROUNDS:-3}
part=${PART:-64MiB}
nats=${NATS:-nats://127.0.0.1:4222}
base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/cluster-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# The benchmark's cluster (its stream, buckets and object store) off the NATS server.
	[[ -x ${bin:-} ]] && "$bin" cluster delete --nats "$nats" --cluster "$name" --force >/dev/null 2>&1 || true
	[[ -n ${KEEP:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT
name=bench$$
bin=$dir/gonomaly
go build -o "$bin" ./cmd/gonomaly
go build -o "$dir/streamgen" ./scripts/streamgen
"$dir/streamgen" -size "${size_mb}MB" -cols 10 -contamination 0.01 -seed 1 -o "$dir/big.csv"
rows=$(($(wc -l <"$dir/big.csv") - 1))
head -n 100001 "$dir/big.csv" >"$dir/train.csv"
"$bin" train -a isolation_forest --seed 1 -i "$dir/train.csv" --label label -m "$dir/model.gnm" 2>/dev/null
natspid=$(pgrep -x nats-server | head -1 || true)

# cpu PID: user+system CPU seconds of a process so far (0 when it is gone).
cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
start_workers() { # N
	pids=()
	for i in $(seq 1 "$1"); do
		"$bin" worker --nats "$nats" --cluster "$name" --name "w$i" --log json 2>"$dir/w$i.log" &
		pids+=($!)
	done
	sleep 1
}
stop_workers() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pids=()
}
# run LABEL ARGS...: one scoring run, its figures appended to $dir/results.
run() {
	local label=$1
	shift
	local wc0=0 n0 t0 t1
	for p in "${pids[@]}"; do wc0=$(awk -v a="$wc0" -v b="$(cpu "$p")" 'BEGIN { print a + b }'); done
	n0=$(cpu "${natspid:-self}")
	t0=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$dir/time" "$bin" detect --model "$dir/model.gnm" -i "$dir/big.csv" --label label \
		-o "$dir/$label.csv" "$@" 2>"$dir/$label.err"
	t1=$(date +%s.%N)
	local wc1=0
	for p in "${pids[@]}"; do wc1=$(awk -v a="$wc1" -v b="$(cpu "$p")" 'BEGIN { print a + b }'); done
	local n1
	n1=$(cpu "${natspid:-self}")
	if [[ $label != local ]] && ! cmp -s "$dir/$label.csv" "$dir/local.csv"; then
		echo "cluster-bench: $label's scores differ from the local ones" >&2
		exit 1
	fi
	[[ $label == local ]] || rm -f "$dir/$label.csv"
	awk -v l="$label" -v a="$t0" -v b="$t1" -v r="$rows" -v w0="$wc0" -v w1="$wc1" -v n0="$n0" -v n1="$n1" \
		'{ printf "%-6s %8.2f %12.0f %10.2f %10.2f %10.2f\n", l, b - a, r / (b - a), $1 + $2, w1 - w0, n1 - n0 }' \
		"$dir/time" | tee -a "$dir/results"
}

echo "== $size_mb MB, $rows rows x 10 columns, partitions of $part, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %8s %12s %10s %10s %10s\n' run wall_s rows_per_s coord_cpu worker_cpu nats_cpu
run local # the reference scores (and a warm page cache)
for r in $(seq 1 "$rounds"); do
	run local
	start_workers 1
	run w1 --distributed "$nats" --cluster "$name" --partition-size "$part"
	stop_workers
	start_workers 2
	run w2 --distributed "$nats" --cluster "$name" --partition-size "$part"
	stop_workers
done
grep -h 'distributed ' "$dir"/w*.err | tail -2 || true
echo
echo "== medians of $rounds rounds (the first local run only warmed the cache)"
for l in local w1 w2; do
	tail -n +2 "$dir/results" | awk -v l="$l" '$1 == l' | sort -k2,2n | awk -v l="$l" -v r="$rows" '
		{ w[NR] = $2; c[NR] = $4; k[NR] = $5; n[NR] = $6 }
		END { m = int((NR + 1) / 2); printf "%-6s wall %.2f s (%.0f rows/s), CPU: coordinator %.2f s, workers %.2f s, nats-server %.2f s\n", l, w[m], r / w[m], c[m], k[m], n[m] }'
done
echo
echo "== coordination cost of a partition (1 KiB partitions, one worker)"
head -c 2000000 "$dir/big.csv" | head -n -1 >"$dir/small.csv"
sr=$(($(wc -l <"$dir/small.csv") - 1))
start_workers 1
for r in $(seq 1 "$rounds"); do
	t0=$(date +%s.%N)
	"$bin" detect --model "$dir/model.gnm" -i "$dir/small.csv" --label label --distributed "$nats" --cluster "$name" \
		--partition-size 1KiB --json >"$dir/small.json" 2>"$dir/small.err"
	t1=$(date +%s.%N)
	parts=$(grep -o '[0-9]* partitions' "$dir/small.err" | head -1 | cut -d' ' -f1)
	awk -v a="$t0" -v b="$t1" -v p="$parts" -v r="$sr" \
		'BEGIN { printf "%d partitions of %d rows in all: %.2f s, %.2f ms a partition\n", p, r, b - a, (b - a) * 1000 / p }'
done
stop_workers
