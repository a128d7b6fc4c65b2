"""Resident memory of the platform's MQTT endpoint per idle, logged-in device connection.

Starts a release `optibid serve` on loopback, registers N devices over HTTP, logs N paho-mqtt
devices in (one connection each, MQTT 3.1.1, keep-alive 600 s), and reads the server's resident
memory (VmRSS) before and after. The devices are plain sockets that send an MQTT 3.1.1 CONNECT
and read the CONNACK (one file descriptor each, so 10,000 fit the machine's limit). Bounded: N
connections, loopback only.

    python3 docs/bench/idle_connections.py [N]
"""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import socket
import struct

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
HTTP = "127.0.0.1:18490"
MQTT_PORT = 18491


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def post(path, token, body):
    request = urllib.request.Request(
        f"http://{HTTP}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return json.load(urllib.request.urlopen(request))


def register(token, n):
    device = {
        "id": f"idle-{n:06d}", "name": f"Meter {n}", "kind": "smart_meter", "protocol": "mqtt",
        "site": "s", "region": "eu", "tags": [], "firmware_version": "1.0", "metrics": [],
    }
    return device["id"], post("/api/v1/devices", token, device)["mqtt_secret"]


def string(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def connect_packet(device, secret):
    """MQTT 3.1.1 CONNECT: clean session, user name and password, keep-alive 600 s."""
    body = string("MQTT") + bytes([4, 0b1100_0010]) + struct.pack(">H", 600)
    body += string(device) + string(device) + string(secret)
    length, encoded = len(body), b""
    while True:
        byte, length = length % 128, length // 128
        encoded += bytes([byte | (0x80 if length else 0)])
        if not length:
            return b"\x10" + encoded + body


def main():
    data = tempfile.mkdtemp()
    server = subprocess.Popen(
        ["./target/release/optibid", "serve", "--data", f"{data}/data", "--http", HTTP,
         "--mqtt-listen", f"127.0.0.1:{MQTT_PORT}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "OPTIBID_LOG": "warn"},
    )
    try:
        token = None
        for line in server.stdout:
            line = line.decode()
            if "admin token" in line:
                token = line.strip().rsplit(" ", 1)[-1]
            if "listening on" in line:
                break
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            logins = list(pool.map(lambda n: register(token, n), range(N)))
        time.sleep(2)
        before = rss_kib(server.pid)
        sockets = []
        for device, secret in logins:
            sockets.append(socket.create_connection(("127.0.0.1", MQTT_PORT)))
            sockets[-1].sendall(connect_packet(device, secret))
        connected = sum(1 for sock in sockets if sock.recv(4) == b"\x20\x02\x00\x00")
        time.sleep(3)
        after = rss_kib(server.pid)
        per = (after - before) * 1024 / max(connected, 1)
        print(f"{connected} idle connections: server RSS {before / 1024:.0f} MiB -> {after / 1024:.0f} MiB, "
              f"{per / 1024:.1f} KiB per connection")
    finally:
        server.kill()
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
