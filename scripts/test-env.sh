#!/usr/bin/env bash
# Starts what the integration suites need, installing it with apt when missing:
# Redis (REDIS_URL, default 127.0.0.1:6379), NATS with JetStream (NATS_URL, default 127.0.0.1:4222),
# and Podman's API service (scripts/podman-env.sh). Idempotent: a service that answers is left alone.
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

# Podman API service and test images
if [ -x scripts/podman-env.sh ] || [ -f scripts/podman-env.sh ]; then
  bash scripts/podman-env.sh
fi
