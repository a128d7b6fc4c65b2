#!/usr/bin/env bash
# What open dashboards cost durable commands: durable configuration changes (wrk, 32
# connections, 15 s) with 0, 150 and 500 clients on the live event stream (docs/bench/sse_clients.py),
# following device, edge and campaign events, then 500 following summaries as the dashboard does.
# Needs wrk (Debian package `wrk`) and a release build. Loopback only, bounded in time and count.
set -euo pipefail
cd "$(dirname "$0")/../.."
devices=1000
data=$(mktemp -d)
OPTIBID_LOG=warn ./target/release/optibid serve --data "$data/data" --http 127.0.0.1:18490 --mqtt-listen 127.0.0.1:18491 > "$data/serve.out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
until grep -q "listening on" "$data/serve.out"; do sleep 0.2; done
export TOKEN=$(grep -o 'obt_[0-9a-f]*' "$data/serve.out" | head -1) DEVICES=$devices
for n in $(seq 0 $((devices - 1))); do
  printf '{"id":"http-%05d","name":"Inverter %d","kind":"solar_inverter","protocol":"mqtt","site":"s","region":"eu","tags":[],"firmware_version":"1.0","metrics":[]}\n' "$n" "$n"
done | xargs -d '\n' -P 8 -I{} curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d {} http://127.0.0.1:18490/api/v1/devices
for run in 0:device,edge,campaign 150:device,edge,campaign 500:device,edge,campaign 500:summary; do
  clients=${run%%:*} mode=${run#*:}
  echo "== $clients live clients ($mode)"
  watchers=""
  if [ "$clients" -gt 0 ]; then
    python3 docs/bench/sse_clients.py 127.0.0.1:18490 "$TOKEN" "$clients" "$mode" > "$data/clients.out" 2>&1 &
    watchers=$!
    until grep -q "connected" "$data/clients.out"; do sleep 0.2; done
  fi
  wrk -t2 -c32 -d15s --latency -s docs/bench/configure.lua http://127.0.0.1:18490 | grep -E "Requests/sec|99%|Non-2xx"
  if [ -n "$watchers" ]; then
    kill -TERM "$watchers"; wait "$watchers" || true
    grep received "$data/clients.out"
  fi
done
