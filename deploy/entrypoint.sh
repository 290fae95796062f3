#!/bin/sh
# Starts the API host (`host`, the default) or a worker (`worker`, or FLEET_ROLE=worker without an argument) with
# the environment the container was given. FLEET_ROLE=worker is this image's switch only: the worker itself takes
# no FLEET_ROLE, so it is removed before the worker starts.
set -e
role="${1:-}"
if [ -z "$role" ]; then
  if [ "${FLEET_ROLE:-}" = worker ]; then role=worker; else role=host; fi
fi
case "$role" in
  host)
    if [ "${FLEET_ROLE:-}" = worker ]; then
      echo "mcpfleet: FLEET_ROLE=worker contradicts the argument host" >&2
      exit 2
    fi
    # `--import tsx` resolves from the working directory: the example's own dependency
    cd /app/examples/express-host
    exec node --conditions=@mcpfleet/source --import tsx src/main.ts ;;
  worker)
    unset FLEET_ROLE
    cd /app/examples/worker
    exec node --conditions=@mcpfleet/source --import tsx src/main.ts ;;
  *) echo "usage: host | worker (or FLEET_ROLE=worker)" >&2; exit 2 ;;
esac
