#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md: gonomaly and scikit-learn side by side on the same
# files (scripts/vs-sklearn.sh), then gonomaly's own go test benchmarks of the hot paths.
# Usage: scripts/benchmarks.sh [SHARED_DIR]   (default ../shared; needs its datasets/adbench)
# Takes 15-25 minutes on a 2-core machine. Needs python3-sklearn and python3-pandas.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
d=$shared/datasets/adbench
tmp=${TMPDIR:-/tmp}/gonomaly-bench
mkdir -p "$tmp"
[[ -f $tmp/syn-400k-12.csv ]] || /usr/bin/python3 scripts/synthetic_csv.py 400000 12 "$tmp/syn-400k-12.csv"
[[ -f $tmp/syn-20k-10.csv ]] || /usr/bin/python3 scripts/synthetic_csv.py 20000 10 "$tmp/syn-20k-10.csv"

echo "## Side by side with scikit-learn (medians of ${REPS:-5} alternating runs)"
scripts/vs-sklearn.sh -r "${REPS:-5}" \
  isolation_forest:"$tmp/syn-400k-12.csv":label \
  isolation_forest:"$d/shuttle.csv":label \
  local_outlier_factor:"$d/shuttle.csv":label \
  local_outlier_factor:"$d/mammography.csv":label \
  local_outlier_factor:"$d/musk.csv":label \
  local_outlier_factor:"$d/optdigits.csv":label \
  one_class_svm:"$d/mammography.csv":label \
  one_class_svm:"$d/satellite.csv":label \
  one_class_svm:"$d/pendigits.csv":label \
  one_class_svm:"$tmp/syn-20k-10.csv":label \
  knn:"$d/shuttle.csv":label \
  knn:"$d/mammography.csv":label \
  knn:"$d/musk.csv":label \
  knn:"$d/optdigits.csv":label \
  hbos:"$tmp/syn-400k-12.csv":label \
  hbos:"$d/shuttle.csv":label \
  hbos:"$d/mammography.csv":label \
  hbos:"$d/musk.csv":label \
  ecod:"$tmp/syn-400k-12.csv":label \
  ecod:"$d/shuttle.csv":label \
  ecod:"$d/mammography.csv":label \
  ecod:"$d/musk.csv":label

echo
echo "## go test benchmarks"
GONOMALY_REFERENCE_DIR=$(cd "$shared" && pwd) go test -run XXX -bench . -benchtime 3x -count 3 \
  ./dataset/ ./detector/... ./internal/neighbors/ 2>&1 | grep -E '^(Benchmark|ok|pkg)'
