#!/usr/bin/env bash
# HTTP load on loopback: durable commands, device detail, device list page.
# Needs wrk (Debian package `wrk`) and a release build. Bounded: 20 s per run.
set -euo pipefail
cd "$(dirname "$0")/../.."
devices=${DEVICES:-1000}
data=$(mktemp -d)
OPTIBID_LOG=warn ./target/release/optibid serve --data "$data/data" --http 127.0.0.1:18480 > "$data/serve.out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
until grep -q "listening on" "$data/serve.out"; do sleep 0.2; done
export TOKEN=$(grep -o 'obt_[0-9a-f]*' "$data/serve.out" | head -n 1) DEVICES=$devices
for n in $(seq 0 $((devices - 1))); do
  printf '{"id":"http-%05d","name":"Inverter %d","kind":"solar_inverter","protocol":"mqtt","site":"s","region":"eu","tags":[],"firmware_version":"1.0","metrics":[]}\n' "$n" "$n"
done | xargs -d '\n' -P 8 -I{} curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d {} http://127.0.0.1:18480/api/v1/devices
registered=$(curl -s -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:18480/api/v1/devices?limit=1' | grep -o '"total":[0-9]*')
echo "registered devices: $registered"
[ "$registered" = "\"total\":$devices" ] || { echo "registration failed"; exit 1; }
for script in configure detail list; do
  echo "== $script"
  wrk -t2 -c64 -d20s --latency -s "docs/bench/$script.lua" http://127.0.0.1:18480 | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|requests in"
done
