#!/usr/bin/env bash
# Make sure the Debian tools that gonomaly's tests use are on this machine: promtool (package
# prometheus: checks the /metrics exposition), chromium (package chromium: the headless browser
# the performance dashboard's browser test drives), pdftoppm (package poppler-utils: the
# report's PDF test renders its pages), wrk (package wrk: scripts/loadtest-vs-wrk.sh and
# scripts/vs-fastapi.sh load the service with it). Idempotent; installs from Debian's packages
# (needs root) when a tool is missing, and says so when it cannot (the tests that need a tool
# then fail and name it).
#
# scripts/tools.sh --reference also installs the Python reference the benchmark scripts run
# against (python3-sklearn, python3-pandas: scripts/vs-sklearn.sh, scripts/stream-bench.sh);
# the tests do not need it.
set -u
apt_ready=0
install() {
  if [[ $apt_ready == 0 ]]; then apt-get update -qq >/dev/null 2>&1; apt_ready=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}
need() { # need COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  install "$2"
  if command -v "$1" >/dev/null; then echo "$1: installed from Debian package $2"; else echo "$1: MISSING (Debian package $2 did not install)" >&2; fi
}
need promtool prometheus
need chromium chromium
need pdftoppm poppler-utils
need wrk wrk
if [[ ${1:-} == --reference ]]; then
  for m in sklearn:python3-sklearn pandas:python3-pandas; do
    /usr/bin/python3 -c "import ${m%%:*}" 2>/dev/null && continue
    install "${m#*:}"
    if /usr/bin/python3 -c "import ${m%%:*}" 2>/dev/null; then echo "python3 ${m%%:*}: installed from Debian package ${m#*:}"; else echo "python3 ${m%%:*}: MISSING (Debian package ${m#*:} did not install)" >&2; fi
  done
fi
exit 0
