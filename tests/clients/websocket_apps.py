"""Apps that talk over WebSockets, run in .venv-app: the official SDKs' WebSocket clients and a plain
`websockets` client for the broken-connection and byte-identity cases.

`python websocket_apps.py SCENARIO MARKER [JSON]`; prints one JSON line with what the app saw. The proxy and
CA come from the environment (HTTPS_PROXY, SSL_CERT_FILE), as for any app; `x-test-id: MARKER` rides on the
upgrade request so the test finds its traces.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import sys

scenario, marker = sys.argv[1:3]
args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
HEADERS = {"x-test-id": marker, **args.get("headers", {})}
HALF_SECOND_PCM = base64.b64encode(b"\x10\x00" * 12000).decode()  # 24 kHz pcm16


async def realtime() -> dict:
    from openai import AsyncOpenAI

    seen: dict = {"texts": [], "usage": []}
    client = AsyncOpenAI()
    async with client.realtime.connect(model="gpt-realtime", extra_headers=HEADERS) as conn:
        await conn.session.update(session={"type": "realtime", "instructions": "Answer briefly.",
                                           "output_modalities": ["text"]})  # fmt: skip
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Name a colour"}]}
        )
        await conn.response.create()
        await conn.input_audio_buffer.append(audio=HALF_SECOND_PCM)
        await conn.input_audio_buffer.commit()
        await conn.response.create(response={"output_modalities": ["audio"]})
        transcript = ""
        async for event in conn:
            if event.type == "response.output_audio_transcript.delta":
                transcript += event.delta
            if event.type == "response.done":
                seen["usage"].append(event.response.usage.model_dump())
                text = "".join(
                    part.text or part.transcript or ""
                    for item in event.response.output
                    for part in item.content or []
                )
                seen["texts"].append(text)
                if len(seen["usage"]) == 2:
                    break
        seen["transcript"] = transcript
    return seen


async def responses() -> dict:
    from openai import AsyncOpenAI

    seen: dict = {"texts": [], "ids": []}
    client = AsyncOpenAI()
    async with client.responses.connect(extra_headers=HEADERS) as conn:
        previous = None
        for prompt in ("First question over the socket", "Second question over the socket"):
            extra = {"previous_response_id": previous} if previous else {}
            await conn.response.create(model="gpt-5", input=prompt, store=False, **extra)
            async for event in conn:
                if event.type == "response.completed":
                    previous = event.response.id
                    seen["ids"].append(previous)
                    seen["texts"].append(event.response.output_text)
                    break
    return seen


async def live() -> dict:
    from google import genai

    client = genai.Client(api_key="AIzaTestKey0123456789abcdef", http_options={"headers": HEADERS})
    config = {"response_modalities": ["TEXT"], "system_instruction": "Answer briefly."}
    text, usage = "", None
    async with client.aio.live.connect(model="gemini-live-2.5-flash-preview", config=config) as session:
        await session.send_client_content(turns={"role": "user", "parts": [{"text": "Hello Gemini Live"}]},
                                          turn_complete=True)  # fmt: skip
        async for message in session.receive():
            text += message.text or ""
            if message.usage_metadata:
                usage = message.usage_metadata.total_token_count
            if message.server_content and message.server_content.turn_complete:
                break
    return {"text": text, "total_tokens": usage}


async def sdks() -> dict:
    """The three SDK clients one after another (one interpreter start: importing the SDKs is the slow part);
    each connection carries its own marker, MARKER-realtime, MARKER-responses and MARKER-live."""
    seen = {}
    for name, run in (("realtime", realtime), ("responses", responses), ("live", live)):
        HEADERS["x-test-id"] = f"{marker}-{name}"
        seen[name] = await run()
    return seen


async def raw() -> dict:
    """Send `send` (text, or {"binary": hex}), read answers until `until` (a type, or a count), then end as
    `end` says: "close" (a close frame), "abort" (drop the TCP connection, no close frame), "wait" (until the
    server closes). Reports the sha256 of every message each way, and how the connection ended."""
    import websockets

    url = args["url"]
    received: list[str] = []
    sent: list[str] = []
    outcome = {"closed_by_server": None, "error": None}
    try:
        async with websockets.connect(url, additional_headers=HEADERS, max_size=None,
                                      compression=args.get("compression", "deflate")) as ws:  # fmt: skip
            for item in args.get("send", []):
                if isinstance(item, dict) and "binary" in item:
                    data = bytes.fromhex(item["binary"])
                elif isinstance(item, dict):  # {"prefix", "repeat", "times", "suffix"}: a big text message
                    data = item.get("prefix", "") + item["repeat"] * item["times"] + item.get("suffix", "")
                else:
                    data = item
                await ws.send(data)
                sent.append(hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest())
            count = 0
            until = args.get("until")
            while until is not None:
                message = await ws.recv()
                count += 1
                raw_bytes = message if isinstance(message, bytes) else message.encode()
                received.append(hashlib.sha256(raw_bytes).hexdigest())
                if (isinstance(until, int) and count >= until) or (
                    isinstance(until, str) and isinstance(message, str) and f'"type":"{until}"' in message
                ):
                    break
            if args.get("end") == "abort":
                ws.transport.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                ws.transport.abort()
                return {"received": received, "sent": sent, **outcome}
            if args.get("end") == "wait":
                try:
                    while True:
                        message = await ws.recv()
                        received.append(hashlib.sha256(message if isinstance(message, bytes) else message.encode()).hexdigest())
                except websockets.ConnectionClosed as closed:
                    outcome["closed_by_server"] = closed.rcvd.code if closed.rcvd else 1006
                    outcome["close_frame"] = closed.rcvd is not None
    except websockets.InvalidStatus as refused:
        outcome["error"] = f"HTTP {refused.response.status_code}"
    except websockets.ConnectionClosed as closed:
        outcome["closed_by_server"] = closed.rcvd.code if closed.rcvd else 1006
    return {"received": received, "sent": sent, **outcome}


if __name__ == "__main__":
    os.environ.setdefault("OPENAI_API_KEY", "sk-test-0123456789abcdefSECRET")
    print(json.dumps(asyncio.run(globals()[scenario]())))
