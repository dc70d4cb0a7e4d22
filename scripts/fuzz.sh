#!/usr/bin/env bash
# Runs every fuzz target in the repository (func FuzzXxx in a _test.go file), one after another,
# for DURATION each, then prints a table: target, time taken, execs, execs/s, new interesting
# inputs (of the corpus go keeps in its cache), result. Exits 1 if any target failed. go writes
# a failing input to the target's package, testdata/fuzz/FuzzXxx/<hash> (printed below), and
# go test replays it from then on: fix the code, keep the file. Not run in CI (scripts/test.sh
# runs only the seed corpora, as part of go test).
# Usage: scripts/fuzz.sh [DURATION [TARGETS]]
#   DURATION  go test -fuzztime: 60s (default), 10s for a quick pass, or 5000x for a count
#   TARGETS   an extended regexp on "package/FuzzName", e.g. 'dataset|FuzzUnmarshalModel'
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-60s}
filter=${2:-.}
log=${TMPDIR:-/tmp}/gonomaly-fuzz
mkdir -p "$log"

# "dir name" for each target, sorted, from the test files git knows (or every test file).
targets=$( (git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go' -not -path './.git/*') |
  xargs grep -H -o '^func Fuzz[A-Za-z0-9_]*' |
  sed -E 's#^(\./)?(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)$#\2 \3#; s#^[^/ ]*_test\.go:func (Fuzz[A-Za-z0-9_]*)$#. \1#' |
  sort -u | awk -v re="$filter" '($1 "/" $2) ~ re' || true)
if [[ -z $targets ]]; then
  echo "no fuzz target matches '$filter'" >&2
  exit 2
fi

rows=()
failed=0
while read -r dir name; do
  out=$log/${dir//\//_}-$name.log
  echo "== $dir $name ($duration)"
  status=ok
  go test -run '^$' -fuzz "^$name\$" -fuzztime "$duration" -timeout 0 "./$dir" >"$out" 2>&1 || status=FAIL
  # go prints "fuzz: elapsed: 61s, execs: 123 (2/sec), new interesting: 4 (total: 9)"
  # every few seconds; the last such line holds the run's totals.
  last=$(grep -E '^fuzz: elapsed: .*execs: ' "$out" | tail -n 1 || true)
  # elapsed is a Go duration ("45s", "1m1s"): in seconds.
  elapsed=$(sed -nE 's/^fuzz: elapsed: ([0-9hms]+),.*/\1/p' <<<"$last" |
    awk '{ s = 0; d = $0
           while (match(d, /^[0-9]+[hms]/)) {
             u = substr(d, RLENGTH, 1); s += substr(d, 1, RLENGTH - 1) * (u == "h" ? 3600 : u == "m" ? 60 : 1)
             d = substr(d, RLENGTH + 1)
           }
           print s }')
  execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
  interesting=$(sed -nE 's/.*new interesting: ([0-9]+) \(total: ([0-9]+)\).*/\1 of \2/p' <<<"$last")
  rate=-
  if [[ -n $execs && -n $elapsed && $elapsed -gt 0 ]]; then
    rate=$((execs / elapsed))
  fi
  if [[ $status != ok ]]; then
    failed=1
    written=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$out" | tail -n 1)
    seed=$(sed -nE 's/.*failure while testing seed corpus entry: (.*)$/\1/p' "$out" | tail -n 1)
    if [[ -n $written || -n $seed ]]; then
      status=crasher
      grep -E -A12 -- '--- FAIL' "$out" | head -n 30
      if [[ -n $written ]]; then
        echo "   crasher written to $dir/$written; replay: go test -run '$name/${written##*/}' ./$dir"
      else
        echo "   a corpus entry fails: $seed; replay: go test -run '$seed' ./$dir"
      fi
    else
      status=error
      tail -n 20 "$out"
    fi
  fi
  echo "   execs ${execs:-0}, ${rate} execs/s, new interesting ${interesting:-0}: $status (log: $out)"
  rows+=("$(printf '%-40s %8s %12s %10s %14s  %s' "$dir/$name" "${elapsed:-0}s" "${execs:-0}" "$rate" "${interesting:-0}" "$status")")
done <<<"$targets"

echo
printf '%-40s %8s %12s %10s %14s  %s\n' target elapsed execs execs/s "new (corpus)" result
printf '%s\n' "${rows[@]}"
exit $failed
