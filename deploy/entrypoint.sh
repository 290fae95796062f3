#!/bin/sh
# Starts the API host (`host`) or a worker (`worker`) with the environment the image was given.
set -e
case "${1:-host}" in
  host) exec node --conditions=@mcpfleet/source --import tsx /app/examples/express-host/src/main.ts ;;
  worker) exec node --conditions=@mcpfleet/source --import tsx /app/examples/worker/src/main.ts ;;
  *) echo "usage: host | worker" >&2; exit 2 ;;
esac
