#!/usr/bin/env bash
# Streaming benchmark (not CI; docs/streaming.md): writes a labelled CSV of SIZE_GB gigabytes
# (default 5) with scripts/streamgen in a temporary directory, trains isolation_forest on its
# first 100,000 rows, then scores every row with `gonomaly detect --model` and with the
# reference ../shared/tools/pyref_stream.py (pandas read_csv(chunksize) + scikit-learn), one
# after the other on the same file, each under /usr/bin/time -v: wall time, CPU time, peak RSS,
# and the ratios. The directory is deleted at the end.
#
# Usage: scripts/stream-bench.sh [SIZE_GB]
#   REF=0   skip the Python reference (it runs about 10x longer)
#   AUTO=1  also run `detect -a isolation_forest` without a model: the budget's two-pass path
#           (a seeded sample, a fit, then streaming), with its RSS
#   DATA=FILE  score FILE (written earlier by scripts/streamgen, kept) instead of writing one
#   TMPDIR  where the data goes (needs about 1.7 x SIZE_GB of free disk, 0.7 x with DATA)
# Needs Debian's python3-pandas and python3-sklearn for the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
size_gb=${1:-5}
ref=${REF:-1}
auto=${AUTO:-0}
py=/usr/bin/python3
pyref=${PYREF:-../shared/tools/pyref_stream.py}
base=${TMPDIR:-/tmp}

if ! [[ $size_gb =~ ^[0-9]+([.][0-9]+)?$ ]]; then
	echo "usage: $0 [SIZE_GB]" >&2
	exit 2
fi
need=$(awk -v s="$size_gb" 'BEGIN { printf "%d", s * 1.7 + 1 }')
avail=$(df --output=avail -BG "$base" | tail -1 | tr -dc 0-9)
if ((avail < need)); then
	echo "stream-bench: $base has ${avail}G free, the run needs about ${need}G" >&2
	exit 1
fi
[[ $ref == 1 ]] && bash "$(dirname "$0")/tools.sh" --reference
if [[ $ref == 1 ]] && ! $py -c 'import pandas, sklearn' 2>/dev/null; then
	echo "stream-bench: $py lacks pandas or scikit-learn (apt-get install python3-pandas python3-sklearn), or run with REF=0" >&2
	exit 1
fi
dir=$(mktemp -d "$base/stream-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

echo "== build and data ($size_gb GB in $dir)"
go build -o "$dir/gonomaly" ./cmd/gonomaly
if [[ -n ${DATA:-} ]]; then
	ln -s "$(realpath "$DATA")" "$dir/big.csv"
else
	t0=$(date +%s.%N)
	go run ./scripts/streamgen -size "${size_gb}GB" -cols 10 -contamination 0.01 -seed 1 -o "$dir/big.csv"
	t1=$(date +%s.%N)
	echo "big.csv written in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
fi
bytes=$(stat -L -c %s "$dir/big.csv")
echo "big.csv: $bytes bytes"
head -n 100001 "$dir/big.csv" >"$dir/train.csv"
"$dir/gonomaly" train -a isolation_forest --seed 1 -i "$dir/train.csv" --label label -m "$dir/model.gnm"

# measure NAME CMD...: runs CMD under /usr/bin/time -v, keeping its report in $dir/NAME.time.
measure() {
	local name=$1
	shift
	/usr/bin/time -v -o "$dir/$name.time" "$@"
}
# field NAME: wall seconds, CPU seconds (user + sys) and peak RSS in MB of a measured run.
field() {
	awk -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
		/User time/ { c += $2 } /System time/ { c += $2 }
		/Maximum resident set size/ { r = $2 / 1024 }
		END { printf "%.1f %.1f %.0f", w, c, r }' "$dir/$1.time"
}

echo "== gonomaly detect --model (streaming)"
measure go "$dir/gonomaly" detect --model "$dir/model.gnm" -i "$dir/big.csv" --label label -o "$dir/go-scores.csv" --json >"$dir/go.json"
cat "$dir/go.json"
read -r go_wall go_cpu go_rss <<<"$(field go)"
go_rows=$(($(wc -l <"$dir/go-scores.csv") - 1))
rm -f "$dir/go-scores.csv"

if [[ $auto == 1 ]]; then
	echo "== gonomaly detect -a isolation_forest (budget 400MiB: sample, fit, stream)"
	measure auto "$dir/gonomaly" detect -a isolation_forest --seed 1 -i "$dir/big.csv" --label label -o "$dir/auto-scores.csv" --json >"$dir/auto.json"
	cat "$dir/auto.json"
	read -r auto_wall auto_cpu auto_rss <<<"$(field auto)"
	rm -f "$dir/auto-scores.csv"
fi

if [[ $ref == 1 ]]; then
	echo "== pyref_stream.py (pandas read_csv chunks + scikit-learn IsolationForest)"
	measure py "$py" "$pyref" "$dir/big.csv" "$dir/py-scores.csv" --label label
	read -r py_wall py_cpu py_rss <<<"$(field py)"
	py_rows=$(($(wc -l <"$dir/py-scores.csv") - 1))
	rm -f "$dir/py-scores.csv"
fi

echo
echo "== $size_gb GB CSV ($bytes bytes, $go_rows rows x 10 features + label), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %10s %10s %10s %10s\n' run rows wall_s cpu_s rss_MB
printf '%-34s %10s %10s %10s %10s\n' "gonomaly detect --model" "$go_rows" "$go_wall" "$go_cpu" "$go_rss"
if [[ $auto == 1 ]]; then
	printf '%-34s %10s %10s %10s %10s\n' "gonomaly detect -a (two passes)" "$go_rows" "$auto_wall" "$auto_cpu" "$auto_rss"
fi
if [[ $ref == 1 ]]; then
	printf '%-34s %10s %10s %10s %10s\n' "pyref_stream.py" "$py_rows" "$py_wall" "$py_cpu" "$py_rss"
	awk -v gw="$go_wall" -v pw="$py_wall" -v gc="$go_cpu" -v pc="$py_cpu" \
		'BEGIN { printf "reference / gonomaly: wall %.1fx, CPU %.1fx\n", pw / gw, pc / gc }'
	if [[ $go_rows != "$py_rows" ]]; then
		echo "stream-bench: gonomaly scored $go_rows rows, the reference $py_rows" >&2
		exit 1
	fi
fi
