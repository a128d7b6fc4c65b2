#!/usr/bin/env bash
# The device directory at fleet scale, on loopback: registers DEVICES devices over HTTP (8
# connections), then measures the device list filtered by kind, a name search and the device
# detail with wrk, and the server's resident memory. Needs wrk and a release build. Bounded:
# DEVICES registrations, then 15 s per scenario.
set -euo pipefail
cd "$(dirname "$0")/../.."
devices=${DEVICES:-100000}
port=${PORT:-18481}
data=$(mktemp -d)
OPTIBID_LOG=warn ./target/release/optibid serve --data "$data/data" --http "127.0.0.1:$port" --mqtt-listen 127.0.0.1:0 > "$data/serve.out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
until grep -q "listening on" "$data/serve.out"; do sleep 0.2; done
export TOKEN=$(grep -o 'obt_[0-9a-f]*' "$data/serve.out" | head -n 1) DEVICES=$devices DEVICE_FORMAT="bench-%06d"
started=$(date +%s)
python3 docs/bench/register_devices.py "127.0.0.1:$port" "$TOKEN" "$devices"
echo "registered $devices devices in $(( $(date +%s) - started )) s"
until curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/v1/devices?limit=1" | grep -q "\"total\":$devices"; do sleep 0.5; done
echo "server resident memory: $(grep VmRSS /proc/$server/status)"
for script in list search detail; do
  echo "== $script"
  wrk -t2 -c32 -d15s --latency -s "docs/bench/$script.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx|requests in"
done
echo "server resident memory: $(grep VmRSS /proc/$server/status)"
