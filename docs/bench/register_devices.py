"""Registers N devices over HTTP with a few keep-alive connections, for the dashboard's
measurements: solar inverters, wind turbines, batteries and meters across four regions, each
with a location. Standard library only. Loopback only; bounded by N.

    python3 docs/bench/register_devices.py HOST:PORT TOKEN N
"""

import http.client
import json
import sys
import threading

KINDS = ["solar_inverter", "wind_turbine", "battery_storage", "smart_meter"]
REGIONS = [("eu-west", 48.8, 2.3), ("eu-north", 59.3, 18.1), ("eu-south", 40.4, -3.7), ("us-east", 39.0, -77.5)]


def register(address, token, numbers):
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for n in numbers:
        region, lat, lon = REGIONS[n % len(REGIONS)]
        body = {
            "id": f"bench-{n:06d}", "name": f"Bench device {n}", "kind": KINDS[n % len(KINDS)],
            "protocol": "mqtt", "site": f"site-{n // 250:04d}", "region": region, "tags": ["bench"],
            "firmware_version": "1.0.0", "metrics": [],
            "location": {"lat": lat + (n % 97) / 50 - 1, "lon": lon + (n % 89) / 45 - 1},
        }
        connection.request("POST", "/api/v1/devices", json.dumps(body), headers)
        response = connection.getresponse()
        response.read()
        if response.status not in (201, 409):
            raise SystemExit(f"registration {n} answered {response.status}")


def main():
    address, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    workers = 8
    threads = [threading.Thread(target=register, args=(address, token, range(w, count, workers))) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{count} devices registered", flush=True)


main()
