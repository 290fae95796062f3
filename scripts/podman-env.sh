#!/usr/bin/env bash
# Test environment for @mcpfleet/backend-podman (used by CI and by the package's tests).
#  1. installs podman + runc with apt when missing;
#  2. selects the repo's containers.conf (runc, cgroupfs, lowered ulimits, file events) via CONTAINERS_CONF;
#  3. starts `podman system service --time=0` on a socket under $MCPFLEET_PODMAN_DIR unless one already answers;
#  4. builds the test images locally (no registry needed): server-everything in Streamable HTTP mode, the same server in
#     stdio mode, and an image that exits at once. Skips images that exist unless FORCE=1.
# Prints `export ...` lines on stdout (eval "$(scripts/podman-env.sh)") and writes them to $MCPFLEET_PODMAN_DIR/env.
# Progress goes to stderr. Safe to run concurrently (flock) and repeatedly.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${MCPFLEET_PODMAN_DIR:-/tmp/mcpfleet-podman}"
SOCK="$DIR/podman.sock"
CONF="$ROOT/scripts/podman/containers.conf"
TAG="${MCPFLEET_TEST_IMAGE_TAG:-1}"
IMG_HTTP="localhost/mcpfleet-test/everything-http:$TAG"
IMG_STDIO="localhost/mcpfleet-test/everything-stdio:$TAG"
IMG_EXIT="localhost/mcpfleet-test/exit-now:$TAG"
FORCE="${FORCE:-0}"
start_ts=$(date +%s%N)

log() { printf '[podman-env] %s\n' "$*" >&2; }
elapsed() { echo $(( ($(date +%s%N) - start_ts) / 1000000 ))ms; }

mkdir -p "$DIR"
exec 9>"$DIR/lock"
flock 9

# 1. packages
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  log "installing podman and runc with apt"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >&2
fi
export CONTAINERS_CONF="$CONF"

# 2+3. API service
ping_socket() {
  node -e '
    const req = require("node:http").get({ socketPath: process.argv[1], path: "/_ping", timeout: 1000 }, (r) =>
      process.exit(r.statusCode === 200 ? 0 : 1));
    req.on("error", () => process.exit(1));
    req.on("timeout", () => process.exit(1));' "$SOCK" 2>/dev/null
}
if ping_socket; then
  log "service already answering on $SOCK"
else
  rm -f "$SOCK"
  log "starting podman system service on unix://$SOCK"
  setsid nohup podman system service --time=0 "unix://$SOCK" >"$DIR/service.log" 2>&1 < /dev/null 9>&- &
  echo $! >"$DIR/service.pid"
  for _ in $(seq 1 100); do
    if ping_socket; then break; fi
    sleep 0.1
  done
  if ! ping_socket; then
    log "podman service did not answer; see $DIR/service.log"
    tail -n 20 "$DIR/service.log" >&2 || true
    exit 1
  fi
fi

# 4. images
image_missing() { [ "$FORCE" = "1" ] || ! podman image exists "$1"; }

if image_missing "$IMG_HTTP"; then
  log "building $IMG_HTTP"
  CTX="$DIR/build/everything"
  rm -rf "$CTX"
  mkdir -p "$CTX/rootfs/usr/bin" "$CTX/rootfs/tmp"
  chmod 1777 "$CTX/rootfs/tmp"
  NODE_BIN="$(readlink -f "$(command -v node)")"
  cp "$NODE_BIN" "$CTX/rootfs/usr/bin/node"
  # shared libraries node links against (paths kept, symlinks resolved)
  for lib in $(ldd "$NODE_BIN" | awk '/=>/ { print $3 } !/=>/ && $1 ~ /^\// { print $1 }'); do
    mkdir -p "$CTX/rootfs$(dirname "$lib")"
    cp -L "$lib" "$CTX/rootfs$lib"
  done
  # the npm-installed server and its dependency closure, in pnpm's layout
  PKG="$ROOT/packages/backend-podman/node_modules/@modelcontextprotocol/server-everything"
  APP_PKG="$(node "$ROOT/scripts/podman/build-context.mjs" "$PKG" "$CTX/rootfs")"
  ln -s "${APP_PKG#/app/}" "$CTX/rootfs/app/server"
  cp "$ROOT/scripts/podman/everything.Containerfile" "$CTX/Containerfile"
  podman build --quiet --pull=never -t "$IMG_HTTP" -f "$CTX/Containerfile" "$CTX" >&2
  rm -rf "$CTX"
fi

build_from_http() { # tag, CMD json
  log "building $1"
  local ctx="$DIR/build/$(basename "${1%%:*}")"
  mkdir -p "$ctx"
  printf 'FROM %s\nCMD %s\n' "$IMG_HTTP" "$2" >"$ctx/Containerfile"
  podman build --quiet --pull=never -t "$1" -f "$ctx/Containerfile" "$ctx" >&2
  rm -rf "$ctx"
}
if image_missing "$IMG_STDIO"; then
  build_from_http "$IMG_STDIO" '["/usr/bin/node", "/app/server/dist/index.js", "stdio"]'
fi
if image_missing "$IMG_EXIT"; then
  build_from_http "$IMG_EXIT" '["/usr/bin/node", "-e", "console.error(\"exiting at once\"); process.exit(3)"]'
fi

ENV_OUT="export CONTAINERS_CONF=$CONF
export CONTAINER_HOST=unix://$SOCK
export MCPFLEET_PODMAN_SOCKET=$SOCK
export MCPFLEET_TEST_IMAGE_HTTP=$IMG_HTTP
export MCPFLEET_TEST_IMAGE_STDIO=$IMG_STDIO
export MCPFLEET_TEST_IMAGE_EXIT=$IMG_EXIT"
printf '%s\n' "$ENV_OUT" >"$DIR/env.tmp"
mv "$DIR/env.tmp" "$DIR/env"
printf '%s\n' "$ENV_OUT"
log "ready in $(elapsed); env written to $DIR/env"
