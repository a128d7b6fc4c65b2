#!/usr/bin/env bash
# The dashboard's measurements (tests/browser/bench.mjs) in Debian's chromium against a release
# `serve` with DEVICES devices registered over HTTP (default 10,000; the scroll figure asks for
# 100,000: DEVICES=100000). Needs chromium, node and `npm ci --prefix tests/browser`. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
devices=${DEVICES:-10000}
data=$(mktemp -d)
OPTIBID_LOG=warn ./target/release/optibid serve --data "$data/data" --http 127.0.0.1:18492 --mqtt-listen 127.0.0.1:18493 > "$data/serve.out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
until grep -q "listening on" "$data/serve.out"; do sleep 0.2; done
token=$(grep -o -m 1 'obt_[0-9a-f]*' "$data/serve.out")
echo "registering $devices devices"
python3 docs/bench/register_devices.py 127.0.0.1:18492 "$token" "$devices"
OPTIBID_URL=http://127.0.0.1:18492 OPTIBID_TOKEN=$token CHROMIUM=${CHROMIUM:-/usr/bin/chromium} node tests/browser/bench.mjs
