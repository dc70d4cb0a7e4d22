#!/usr/bin/env bash
# Side-by-side speed of gonomaly and scikit-learn on the same files, in one run, alternating the
# two so both see the same machine state. Prints a Markdown table of medians and ratios.
#
# Usage: scripts/vs-sklearn.sh [-r REPEATS] ALGO:FILE[:LABEL] ...
#   e.g. scripts/vs-sklearn.sh -r 5 isolation_forest:/tmp/iforest-400k.csv knn:../shared/datasets/adbench/shuttle.csv:label
# Needs Debian's python3-sklearn and python3-pandas (scripts/tools.sh --reference installs them).
# Both sides time fit + score of every row and leave out reading the file.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5
if [[ ${1:-} == -r ]]; then reps=$2; shift 2; fi
[[ $# -gt 0 ]] || { sed -n '2,10p' "$0"; exit 2; }
bin=$(mktemp -d)/gonomaly
go build -o "$bin" ./cmd/gonomaly
py=/usr/bin/python3
bash "$(dirname "$0")/tools.sh" --reference
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, set on some machines here, slow numpy; unset for its runs only.
pyenv=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
total() { $py -c 'import json,sys; d=json.load(sys.stdin); print(d["fit_seconds"]+d["score_seconds"])'; }

echo "| algorithm | data | rows x cols | scikit-learn median (s) | gonomaly median (s) | speed-up |"
echo "|---|---|---|---|---|---|"
for spec in "$@"; do
  IFS=: read -r algo file label <<<"$spec"
  lflag=(); plabel=()
  if [[ -n ${label:-} ]]; then lflag=(--label "$label"); plabel=(--label "$label"); fi
  sk=(); go=()
  for ((r = 0; r < reps; r++)); do
    sk+=("$("${pyenv[@]}" $py scripts/sklearn_timing.py "$algo" "$file" "${plabel[@]}" | total)")
    go+=("$("$bin" detect -a "$algo" -i "$file" "${lflag[@]}" --json | total)")
  done
  shape=$("$bin" detect -a hbos -i "$file" "${lflag[@]}" --json | $py -c 'import json,sys; d=json.load(sys.stdin); print(d["rows"], "x", d["cols"])')
  skm=$(printf '%s\n' "${sk[@]}" | median)
  gom=$(printf '%s\n' "${go[@]}" | median)
  ratio=$(awk -v a="$skm" -v b="$gom" 'BEGIN {printf "%.1fx", a / b}')
  printf '| %s | %s | %s | %.4f | %.4f | %s |\n' "$algo" "$(basename "$file")" "$shape" "$skm" "$gom" "$ratio"
done
