#!/bin/sh
# Side-by-side timing of this package against scikit-learn's OneClassSVM (libsvm), interleaved
# round by round so both see the same machine load. Usage (from the repository root):
#   sh detector/ocsvm/testdata/compare.sh [rounds]
# Prints one line per round and tool; summarise with the medians.
set -e
rounds=${1:-5}
tmp=$(mktemp -d)
go test -c -o "$tmp/ocsvm.test" ./detector/ocsvm/
"$tmp/ocsvm.test" -test.run TestWriteSyntheticBenchData -ocsvm.synthetic-csv="$tmp/synthetic20000x10.csv" >/dev/null
for r in $(seq "$rounds"); do
	(cd detector/ocsvm && GONOMALY_REFERENCE_DIR=/work/shared "$tmp/ocsvm.test" -test.run XXX \
		-test.bench 'Fit|Score' -test.benchtime 1x | grep '^Benchmark' | sed "s/^/go round=$r /")
	/usr/bin/python3 detector/ocsvm/testdata/sklearn_bench.py --runs 1 mammography satellite pendigits \
		"$tmp/synthetic20000x10.csv" | sed "s/^/sklearn round=$r /"
done
rm -r "$tmp"
