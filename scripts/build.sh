#!/usr/bin/env bash
# Builds the gonomaly binary with the VCS stamp: Go then records the commit it was built from and
# whether the tree was modified, which every benchmark document keeps as its build
# (bench.BuildVersion) and the report groups by. This machine's environment sets
# GOFLAGS=-buildvcs=false, which leaves the stamp out ("(devel) no-vcs"); -buildvcs=true on the
# command line overrides it. Usage: scripts/build.sh [output path, default ./gonomaly]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-./gonomaly}
go build -buildvcs=true -o "$out" ./cmd/gonomaly
go version -m "$out" | grep -E 'vcs\.(revision|modified)' || {
	echo "build.sh: $out carries no VCS stamp (not a git work tree?)" >&2
	exit 1
}
