"""The WebSocket client of bench/websocket_bench.py, run in .venv-app with the `websockets` library.

    python ws_client.py echo URL N      N small text messages, each sent after the last one's echo came back
    python ws_client.py stream URL N    one response.create answered by N output_text deltas
Prints one JSON line: round-trip times (echo) or the time from the first to the last message (stream).
The proxy and CA come from HTTPS_PROXY / SSL_CERT_FILE, as for any app.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import websockets


async def echo(url: str, count: int) -> dict:
    rtts = []
    async with websockets.connect(url, additional_headers={"x-sim-ws-echo": "all"}, compression=None) as ws:
        for i in range(count):
            message = json.dumps({"type": "input_text.append", "seq": i, "text": "hello there"})
            start = time.perf_counter()
            await ws.send(message)
            reply = await ws.recv()
            rtts.append(time.perf_counter() - start)
            assert reply == message
    return {"rtts": rtts}


async def stream(url: str, count: int) -> dict:
    headers = {"x-sim-events": str(count)}
    # No keepalive pings: behind a slow proxy their pongs queue behind thousands of deltas and time out.
    async with websockets.connect(url, additional_headers=headers, compression=None, max_size=None,
                                  ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "response.create", "model": "gpt-5", "input": "Count for me"}))
        received, first = 0, None
        while True:
            message = await ws.recv()
            first = first or time.perf_counter()
            received += 1
            if '"type":"response.completed"' in message:
                break
        last = time.perf_counter()
    return {"messages": received, "seconds": last - first}


if __name__ == "__main__":
    mode, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run({"echo": echo, "stream": stream}[mode](url, n))))
