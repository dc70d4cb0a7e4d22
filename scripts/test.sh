#!/usr/bin/env bash
# The project's test command (README, .ci/run): checks formatting, vets, runs staticcheck, then
# the tests with the race detector. When GONOMALY_REFERENCE_DIR names the shared reference data
# (datasets/adbench and reference/sklearn), the accuracy tests then run on every dataset there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"

scripts/services.sh
scripts/tools.sh

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $bad ]]; then echo "gofmt would change: $bad" >&2; exit 1; fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
command -v staticcheck >/dev/null || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck ./...

if [[ -n ${GONOMALY_REFERENCE_DIR:-} ]]; then
  echo "== accuracy against every dataset in $GONOMALY_REFERENCE_DIR"
  go test -count=1 -run 'Reference' ./detector/...
fi

# The process fault tests (SIGKILL and SIGTERM under load) measure how much a killed service
# loses within its write window: they run alone afterwards, without the race detector, so that
# the other packages' tests do not starve the service they kill.
process_tests='TestSIGKILLUnderLoad|TestSIGTERMUnderLoad|TestSIGKILLWorker'

echo "== go test -race (embedded reference subset)"
GONOMALY_REFERENCE_DIR= go test -race -count=1 -skip "$process_tests" ./...

echo "== timing bounds that mean nothing under the race detector"
go test -count=1 -run 'TestWeekReport|TestWeekPDF' ./report/

echo "== process fault tests (real service processes killed under load)"
go test -count=1 -run "$process_tests" -v ./cmd/gonomaly/ | grep -E '^(=== RUN|--- |ok|FAIL|PASS|\s+(serve|worker)_process)'
exit "${PIPESTATUS[0]}"
