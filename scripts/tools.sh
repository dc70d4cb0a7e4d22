#!/usr/bin/env bash
# Make sure the Debian tools that gonomaly's tests use are on this machine: promtool (package
# prometheus: checks the /metrics exposition), chromium (package chromium: the headless browser
# the performance dashboard's browser test drives), pdftoppm (package poppler-utils: the
# report's PDF test renders its pages), wrk (package wrk: scripts/loadtest-vs-wrk.sh and
# scripts/vs-fastapi.sh load the service with it). Idempotent; installs from Debian's packages
# (needs root) when a tool is missing, and says so when it cannot (the tests that need a tool
# then fail and name it).
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
exit 0
