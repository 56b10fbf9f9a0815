#!/usr/bin/env bash
# Measures the service against simulated plugs on loopback and prints one line per figure:
#   - samples per second per healthy node while one plug is unreachable (from the database)
#   - resident memory with 3 plugs (peak RSS of `energy-monitor run`)
#   - CPU seconds per 1,000 plug polls
# Usage: scripts/measure-service.sh [SECONDS]   (default 60; uses the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
seconds=${1:-60}
swift build -c release --product energy-monitor >/dev/null
bin=.build/release/energy-monitor
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts `simulate` with the given arguments and `run` under /usr/bin/time for $seconds.
measure() {
  local name=$1; shift
  local port; port=$(python3 -c 'import random; print(random.randint(20000, 50000))')
  local listen; listen=$(free_port)
  "$bin" simulate --port "$port" --write-config "$work/$name.yaml" --database "$work/$name.db" \
    --listen "127.0.0.1:$listen" "$@" >"$work/$name.sim.log" 2>&1 &
  local sim=$!
  for _ in $(seq 100); do [ -s "$work/$name.yaml" ] && break; sleep 0.1; done
  /usr/bin/time -v -o "$work/$name.time" timeout -s INT "$seconds" "$bin" run --config "$work/$name.yaml" \
    --log-level warning >"$work/$name.run.log" 2>&1 || true
  kill "$sim" 2>/dev/null || true
  wait "$sim" 2>/dev/null || true
}

measure four --plugs 4 --generations 1,2,3,4 --fault 3=unreachable
measure three --plugs 3 --generations 1,2,3

span() { sqlite3 "$work/$1.db" "SELECT (max(ts) - min(ts)) FROM power"; }
for node in sim-0 sim-1 sim-2; do
  rows=$(sqlite3 "$work/four.db" "SELECT count(*), max(ts) - min(ts) FROM power WHERE node = '$node'")
  count=${rows%%|*}; range=${rows##*|}
  echo "samples per second, $node (one of 4 plugs unreachable): $(python3 -c "print(f'{($count - 1) / $range:.3f}')") ($count rows over $range s)"
done
echo "rows stored for the unreachable plug sim-3: $(sqlite3 "$work/four.db" "SELECT count(*) FROM power WHERE node = 'sim-3'")"
rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$work/three.time")
echo "resident memory, 3 plugs: peak $((rss / 1024)) MiB ($rss KiB)"
cpu=$(awk -F: '/User time|System time/ {sum += $2} END {print sum}' "$work/three.time")
polls=$(sqlite3 "$work/three.db" "SELECT count(*) FROM power")
echo "CPU per 1,000 plug polls (3 plugs): $(python3 -c "print(f'{$cpu / $polls * 1000:.3f}')") s ($cpu s for $polls polls)"
