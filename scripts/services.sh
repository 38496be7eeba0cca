#!/usr/bin/env bash
# Makes sure what the tests and the app need on this machine is installed and
# running: PostgreSQL server binaries and a server on 127.0.0.1:5432,
# RabbitMQ on 127.0.0.1:5672, Redis on 127.0.0.1:6379 (the shared rate limits'
# tests), and headless Chromium for the browser tests. Installs Debian packages when missing (as root,
# or through sudo). Safe to run again: it changes nothing that already works.
#
# Usage: scripts/services.sh [postgres-binaries|postgres|rabbitmq|redis|chromium|all]
set -euo pipefail

PG_URL=${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable}

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "need root to run: $*"; exit 1
  fi
}

apt_install() {
  say "installing Debian packages: $*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bindir() {
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && dirname "$(command -v initdb)"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 "$2"); do port_open "$1" && return 0; sleep 1; done
  say "nothing listens on 127.0.0.1:$1 after $2 s"; return 1
}

postgres_binaries() {
  [ -n "$(pg_bindir)" ] || apt_install postgresql postgresql-contrib
}

postgres() {
  postgres_binaries
  if ! port_open 5432; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql-common
    local ver; ver=$(ls /etc/postgresql | sort -V | tail -1)
    say "starting PostgreSQL $ver"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start
    wait_port 5432 60
  fi
  # Tests connect over TCP as postgres. Where the server asks for a password
  # (Debian's default for TCP) give that user the one TEST_DATABASE_URL uses.
  if ! psql "$PG_URL" -qAtc 'select 1' >/dev/null 2>&1; then
    local pw; pw=$(python3 -c 'import sys,urllib.parse as u;print(u.urlparse(sys.argv[1]).password or "")' "$PG_URL")
    if [ -n "$pw" ]; then
      say "setting the password of the postgres role for TCP connections"
      as_root runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD '$pw'" >/dev/null
    fi
    psql "$PG_URL" -qAtc 'select 1' >/dev/null
  fi
  postgres_logical
}

# `extract data --online` moves a module's schema by logical replication,
# which needs wal_level=logical; changing it needs a restart, done only when
# the setting is not logical yet.
postgres_logical() {
  [ "$(psql "$PG_URL" -qAtc 'show wal_level')" = logical ] && return 0
  local ver; ver=$(psql "$PG_URL" -qAtc 'show server_version_num' | cut -c1-2)
  say "setting wal_level=logical and restarting PostgreSQL $ver"
  psql "$PG_URL" -qAtc 'ALTER SYSTEM SET wal_level = logical' >/dev/null
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main restart
  wait_port 5432 60
  for _ in $(seq 1 30); do psql "$PG_URL" -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 1; done
  [ "$(psql "$PG_URL" -qAtc 'show wal_level')" = logical ] || { say "wal_level is still not logical"; return 1; }
}

rabbitmq() {
  if ! port_open 5672; then
    command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
    say "starting RabbitMQ"
    as_root rabbitmq-server -detached
    wait_port 5672 120
  fi
  # The port opens a moment before the broker accepts logins.
  command -v rabbitmqctl >/dev/null && as_root rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1 || true
}

# Redis counts the rate limits shared by several instances (APP_REDIS_URL);
# platform/ratelimit's and internal/process's tests use it. It keeps nothing
# on disk: the counters are worth a minute at most.
redis() {
  if ! port_open 6379; then
    command -v redis-server >/dev/null || apt_install redis-server
    say "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/shop-tests.log
    wait_port 6379 30
  fi
}

# The migration guides' and the demo's commands, which the tests run, use curl, jq and psql;
# deploy/prometheus's test checks the alert rules with promtool; internal/e2e's network
# partitions make namespaces, veth pairs and a blackhole queue with iproute2's ip and tc.
tools() {
  local missing=()
  { command -v ip >/dev/null && command -v tc >/dev/null; } || missing+=(iproute2)
  command -v curl >/dev/null || missing+=(curl)
  command -v jq >/dev/null || missing+=(jq)
  command -v psql >/dev/null || missing+=(postgresql-client)
  command -v promtool >/dev/null || missing+=(prometheus)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# The storefront's and the console's tests drive Debian's Chromium
# (internal/browsertest); fonts-liberation gives pages a real sans-serif.
# type -P looks only for a file: `command -v` would find this script's own
# functions and install nothing.
browser() {
  type -P chromium >/dev/null || apt_install chromium fonts-liberation
}

case "${1:-all}" in
  postgres-binaries) postgres_binaries ;;
  postgres) postgres ;;
  rabbitmq) rabbitmq ;;
  redis) redis ;;
  chromium) browser ;;
  all) tools; postgres; rabbitmq; redis; browser ;;
  *) echo "usage: $0 [postgres-binaries|postgres|rabbitmq|redis|chromium|all]" >&2; exit 2 ;;
esac
