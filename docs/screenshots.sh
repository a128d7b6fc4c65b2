#!/usr/bin/env bash
# Regenerates the screenshots of docs/dashboard.md from a fresh `optibid demo` (release build)
# after a minute of simulated fleet. Needs chromium, node and `npm ci --prefix tests/browser`.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
OPTIBID_LOG=warn ./target/release/optibid demo --data "$data/data" --http 127.0.0.1:18494 --mqtt-listen 127.0.0.1:18495 \
  --devices 120 --edge-nodes 6 > "$data/demo.out" 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null || true; rm -rf "$data"' EXIT
until grep -q "admin token for this run" "$data/demo.out"; do sleep 0.5; done
token=$(grep "admin token for this run" "$data/demo.out" | grep -o 'obt_[0-9a-f]*')
sleep "${SETTLE_SECS:-60}"
mkdir -p docs/images
OPTIBID_URL=http://127.0.0.1:18494 OPTIBID_TOKEN=$token CHROMIUM=${CHROMIUM:-/usr/bin/chromium} node tests/browser/screenshots.mjs
