"""Tap LLM WebSocket connections: copy each message as it passes, hand the copies to the writer in batches.

mitmproxy relays a WebSocket message as soon as its last frame has arrived (it reassembles frames into
messages, with or without r4u), and it keeps every message of a connection in `flow.websocket.messages`
until the connection ends: for an hour-long Codex or Realtime session that is unbounded memory. This addon
empties that list as each message passes, on every WebSocket mitmproxy intercepts, and for LLM connections
(the upgrade request matched a route) keeps a copy instead:
- text messages, and binary ones that hold JSON (Gemini Live sends its JSON as binary frames), up to the
  capture cap each; other binary frames (audio) only as their size and first bytes;
- in batches of at most BATCH_MESSAGES messages or BATCH_BYTES bytes, at most FLUSH_AFTER_S after the first
  message of a batch arrived, handed to the writer on the same queue as HTTP exchanges.
Nothing is parsed here: the writer process turns the messages into one trace per model response
(r4u_proxy/ingest/websocket.py). Messages are never held back, changed or dropped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mitmproxy import ctx, http

from r4u_proxy.addons.recorder import PROXY_STOPPED, build_exchange
from r4u_proxy.guard import COUNTERS, guarded
from r4u_proxy.store.writer import SOCKET

BATCH_MESSAGES = 500
BATCH_BYTES = 256 * 1024
FLUSH_AFTER_S = 0.05
BINARY_HEAD = 16  # bytes kept of a binary frame that is not JSON: enough to tell a WAV or Ogg header

# What a copied message's payload is (the third field of a message tuple).
TEXT, BINARY_JSON, BINARY = 0, 1, 2
_JSON_START = (ord("{"), ord("["))


class Socket:
    """One LLM WebSocket in flight: the copies not yet handed to the writer."""

    __slots__ = ("id", "writer", "cap", "opening", "messages", "held", "lost", "timer", "ending")

    def __init__(self, socket_id: str, writer: Any, cap: int, opening: dict[str, Any]) -> None:
        self.id = socket_id
        self.writer = writer
        self.cap = cap
        self.opening: dict[str, Any] | None = opening  # sent with the first batch the writer accepts
        # (arrival time, from client, TEXT | BINARY_JSON | BINARY, payload copy, size on the wire)
        self.messages: list[tuple[float, bool, int, bytes, int]] = []
        self.held = 0
        self.lost = 0  # messages in batches the writer could not take (its queue was full)
        self.timer: asyncio.TimerHandle | None = None
        self.ending: dict[str, Any] | None = None

    def add(self, message: Any) -> None:
        content: bytes = message.content
        size = len(content)
        if message.is_text:
            kind, payload = TEXT, content[: self.cap]
        elif content[:1] and content[0] in _JSON_START:
            kind, payload = BINARY_JSON, content[: self.cap]
        else:
            kind, payload = BINARY, content[:BINARY_HEAD]
        self.messages.append((message.timestamp, message.from_client, kind, payload, size))
        self.held += len(payload)
        if len(self.messages) >= BATCH_MESSAGES or self.held >= BATCH_BYTES:
            self.flush()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self.flush)

    def flush(self) -> None:
        """Hand the copies on (also called by the event loop's timer: it must not raise)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch = (SOCKET, self.id, self.opening, self.messages, self.lost, self.ending)
        try:
            accepted = self.writer.submit_socket(batch)
        except Exception:
            COUNTERS.add("addon_errors")
            accepted = False
        if accepted:
            self.opening, self.lost = None, 0
        else:
            self.lost += len(self.messages)
            COUNTERS.add("dropped")
        self.messages, self.held = [], 0


def ending(flow: http.HTTPFlow, error: str | None = None) -> dict[str, Any]:
    """How the connection ended, as mitmproxy saw it (1006: it dropped without a close frame)."""
    ws = flow.websocket
    return {
        "t_end": (ws.timestamp_end if ws else None) or time.time(),
        "close_code": ws.close_code if ws else None,
        "close_reason": ws.close_reason if ws else None,
        "closed_by_client": ws.closed_by_client if ws else None,
        "error": error,
    }


class WebSocketTap:
    def __init__(self) -> None:
        self.sockets: dict[str, Socket] = {}  # flow id -> the LLM WebSocket it carries

    @guarded
    def websocket_start(self, flow: http.HTTPFlow) -> None:
        pending = flow.metadata.get("r4u")
        if pending is None:  # not an LLM route: messages pass through, nothing is kept
            return
        recorder = ctx.master.addons.get("recorder")
        writer = recorder.writer if recorder is not None else None
        if writer is None:  # not recording (no database): nothing to copy for
            COUNTERS.add("dropped")
            return
        cap = ctx.options.r4u_capture_cap
        opening = build_exchange(flow, None) | {"capture_cap": cap}
        self.sockets[flow.id] = Socket(pending.id, writer, cap, opening)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        messages = flow.websocket.messages
        message = messages[-1]
        # mitmproxy relays `message` itself after this hook; only its history list is emptied.
        messages.clear()
        socket = self.sockets.get(flow.id)
        if socket is not None:
            try:
                socket.add(message)
            except Exception:
                COUNTERS.add("addon_errors")

    @guarded
    def websocket_end(self, flow: http.HTTPFlow) -> None:
        socket = self.sockets.pop(flow.id, None)
        if socket is not None:
            socket.ending = ending(flow)
            socket.flush()

    def done(self) -> None:
        """The proxy is stopping: what is still open ends here (before the recorder closes the writer)."""
        for flow_id, socket in list(self.sockets.items()):
            socket.ending = {"t_end": time.time(), "close_code": None, "close_reason": None,
                             "closed_by_client": None, "error": PROXY_STOPPED}  # fmt: skip
            try:
                socket.flush()
            except Exception:
                COUNTERS.add("addon_errors")
            del self.sockets[flow_id]

