#!/usr/bin/env bash
# Make sure the real services that gonomaly's tests use are up on this machine:
#   PostgreSQL on 127.0.0.1:5432 (trust auth, database "test"), Redis on 127.0.0.1:6379,
#   NATS with JetStream on 127.0.0.1:4222.
# Usage: scripts/services.sh [postgres|redis|nats|all]...   (default: all). Idempotent; installs from
# Debian's packages (needs root) when a server is missing. Exits non-zero if a service cannot be brought up.
set -u
want=("${@:-all}")
has() { for w in "${want[@]}"; do [[ $w == all || $w == "$1" ]] && return 0; done; return 1; }
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 1 60); do up "$1" && return 0; sleep 0.5; done; return 1; }
apt_ready=0
install() {
  if [[ $apt_ready == 0 ]]; then apt-get update -qq >/dev/null 2>&1; apt_ready=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
fail=0

if has postgres && ! up 5432; then
  command -v pg_ctlcluster >/dev/null || install postgresql
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [[ -z $ver ]]; then install postgresql; ver=$(ls /etc/postgresql | sort -V | tail -n 1); fi
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if [[ -f $hba ]] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i 's/^\(local\|host\)\(.*\)\(peer\|scram-sha-256\|md5\)$/\1\2trust/' "$hba"
    printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' >>"$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster "$ver" main start 2>/dev/null
  if wait_up 5432; then
    su postgres -c "psql -qtc \"select 1 from pg_roles where rolname='root'\" | grep -q 1 || psql -qc 'create role root superuser login'" >/dev/null 2>&1
    su postgres -c "psql -qtc \"select 1 from pg_database where datname='test'\" | grep -q 1 || createdb test" >/dev/null 2>&1
  fi
fi
if has postgres; then up 5432 && echo "postgres: up on 127.0.0.1:5432" || { echo "postgres: DOWN" >&2; fail=1; }; fi

if has redis && ! up 6379; then
  command -v redis-server >/dev/null || install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1
  wait_up 6379
fi
if has redis; then up 6379 && echo "redis: up on 127.0.0.1:6379" || { echo "redis: DOWN" >&2; fail=1; }; fi

if has nats && ! up 4222; then
  command -v nats-server >/dev/null || [[ -x /usr/sbin/nats-server ]] || install nats-server
  mkdir -p /var/lib/nats-server
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  start-stop-daemon --start --oknodo --background --exec "$bin" -- -a 127.0.0.1 -p 4222 -js \
    -sd /var/lib/nats-server -l /var/log/nats-server.log >/dev/null 2>&1
  wait_up 4222
fi
if has nats; then up 4222 && echo "nats: up on 127.0.0.1:4222" || { echo "nats: DOWN" >&2; fail=1; }; fi
exit $fail
