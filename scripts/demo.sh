#!/usr/bin/env bash
# Builds energy-monitor and runs the demo: simulated plugs for tvpc, wyse and rpi on loopback,
# the service polling them once a second, /metrics on 127.0.0.1:9840. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
swift build --product energy-monitor
exec .build/debug/energy-monitor demo "$@"
