#!/usr/bin/env bash
# Starts what the integration suites need, installing it with apt when missing:
# Redis (REDIS_URL, default 127.0.0.1:6379), NATS with JetStream (NATS_URL, default 127.0.0.1:4222),
# PostgreSQL (127.0.0.1:5432, user postgres with trust auth for local TCP), and Podman's API service (scripts/podman-env.sh). Idempotent: a service that answers is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test-env] %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_port() {
  for _ in $(seq 1 100); do port_open "$1" "$2" && return 0; sleep 0.1; done
  log "$3 did not open $1:$2"; return 1
}

# tmux: the CLI's secret prompt is tested interactively in a terminal (packages/cli/test/prompt.test.ts)
command -v tmux >/dev/null || apt_install tmux

# Redis
if ! port_open 127.0.0.1 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 127.0.0.1 6379 redis
  log "started redis on 127.0.0.1:6379"
else
  log "redis answers on 127.0.0.1:6379"
fi

# NATS with JetStream
if ! port_open 127.0.0.1 4222; then
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec "$bin" -- -a 127.0.0.1 -p 4222 -js \
    -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 127.0.0.1 4222 nats
  log "started nats-server (JetStream) on 127.0.0.1:4222"
else
  log "nats answers on 127.0.0.1:4222"
fi
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
command -v redis-server >/dev/null || apt_install redis-server

# bubblewrap: the process runtime's sandbox (packages/backend-process)
command -v bwrap >/dev/null || apt_install bubblewrap

# Chromium: the dashboard's end-to-end suite (examples/express-host/test/dashboard*.test.ts, playwright-core)
[ -x /usr/bin/chromium ] || apt_install chromium

# PostgreSQL (store-postgres suites: trust auth for postgres on 127.0.0.1)
if ! port_open 127.0.0.1 5432; then
  [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ] || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
    sed -i '1i host all postgres ::1/128 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 127.0.0.1 5432 postgresql
  log "started postgresql $version on 127.0.0.1:5432"
else
  log "postgresql answers on 127.0.0.1:5432"
fi

# debootstrap: deploy/base/build-base.sh makes the Containerfile's base image from the Debian mirror (no registry here;
# examples/express-host/test/containerfile.test.ts)
command -v debootstrap >/dev/null || apt_install debootstrap

# Podman API service and test images
if [ -x scripts/podman-env.sh ] || [ -f scripts/podman-env.sh ]; then
  bash scripts/podman-env.sh
fi

# Node 24 + the official MCP conformance suite (packages/mcp/test/conformance.test.ts)
bash scripts/conformance-env.sh
