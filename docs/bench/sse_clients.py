"""Open dashboards, as the platform sees them: N clients on /api/v1/events/stream, each reading
and discarding what it receives, until stopped. One process, asyncio, standard library only.

    python3 docs/bench/sse_clients.py HOST:PORT TOKEN N [KINDS | summary]

KINDS (such as device,edge,campaign) asks for those events; `summary` asks for summaries at a
bounded rate, as the dashboard does.

Prints how many clients are connected once they all are, and on SIGTERM the bytes and events
they received. Loopback only; bounded by N.
"""

import asyncio
import signal
import sys


async def client(host, port, token, kinds, totals, opened):
    reader, writer = await asyncio.open_connection(host, port)
    query = "?summary=true" if kinds == "summary" else f"?kinds={kinds}" if kinds else ""
    writer.write(
        f"GET /api/v1/events/stream{query} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    opened.append(1)
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        totals[0] += len(chunk)
        totals[1] += chunk.count(b"\nid: ") + chunk.startswith(b"id: ")


async def main():
    address, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kinds = sys.argv[4] if len(sys.argv) > 4 else ""
    host, port = address.rsplit(":", 1)
    totals, opened = [0, 0], []
    tasks = [asyncio.create_task(client(host, int(port), token, kinds, totals, opened)) for _ in range(count)]
    while len(opened) < count:
        await asyncio.sleep(0.1)
    print(f"{count} clients connected", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    print(f"received {totals[0]} bytes, about {totals[1]} events", flush=True)
    for task in tasks:
        task.cancel()


asyncio.run(main())
