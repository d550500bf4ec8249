"""A small HTTP/1.1 server on asyncio streams: keep-alive, chunked streaming with a flush per event, and
the delivery controls (delays, gaps, resets, hangs, content encodings).

Hand-written rather than http.server so that each SSE event is its own write, a connection can be reset
mid-body on purpose, and one thread serves many keep-alive connections fast enough for benchmarks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

from r4u_proxy.simulator.controls import ControlError, Controls, parse_controls
from r4u_proxy.simulator.encoding import encode_whole, stream_encoder, unavailable_reason
from r4u_proxy.simulator.reply import Reply
from r4u_proxy.simulator.routes import build_reply, error_reply
from r4u_proxy.simulator.websocket_server import (
    WebSocketRecord,
    protocol_for,
    serve_websocket,
    socket_controls,
)

_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 413: "Payload Too Large",
    422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
}
# After the last bytes before a reset, give the peer a moment to read them: an RST can make the peer's
# kernel drop data its application has not read yet, and tests want "exactly N bytes, then reset".
_RESET_GRACE_S = 0.05


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as it reached the upstream, for tests to assert on."""

    method: str
    path: str  # without the query string
    query: str  # raw query string, "" when absent
    headers: list[tuple[str, str]]  # as received, original case and order
    body: bytes  # as received (still content-encoded if the client encoded it)
    received_at: float  # time.time() when the request was complete
    request_id: str  # also sent back as the x-request-id response header
    client: str = ""  # the connecting peer, "host:port": one value per upstream connection

    def header(self, name: str) -> str | None:
        """The first header called `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body)


class _ResetDone(Exception):
    """Raised once a deliberate reset has been sent: the connection is gone, stop handling it."""


class _BadRequest(Exception):
    pass


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailers (rare) end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


class ConnectionHandler:
    """Serves the requests of one client connection after another (keep-alive) until it closes."""

    def __init__(
        self,
        fixtures_dir: Path,
        record: Callable[[ReceivedRequest], None],
        record_websocket: Callable[[WebSocketRecord], None] = lambda record: None,
    ) -> None:
        self.fixtures_dir = fixtures_dir
        self.record = record
        self.record_websocket = record_websocket
        self._ids = itertools.count(1)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await self._read_request(reader, writer)
                if request is None:
                    return
                self.record(request)
                if await self._upgrade(request, reader, writer):
                    return
                keep_alive = await self._respond(request, reader, writer)
                if not keep_alive:
                    return
        except (_ResetDone, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        except _BadRequest as bad:
            writer.write(f"HTTP/1.1 400 Bad Request\r\ncontent-length: {len(str(bad))}\r\n"
                         f"connection: close\r\n\r\n{bad}".encode())
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        except Exception:  # a simulator bug must show up in the test output, not as a silent hang
            traceback.print_exc(file=sys.stderr)
        finally:
            if not writer.transport.is_closing():
                writer.close()

    async def _read_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> ReceivedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as eof:
            if eof.partial.strip():
                raise _BadRequest("incomplete request head") from None
            return None  # the client closed an idle keep-alive connection
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            raise _BadRequest(f"bad request line {lines[0]!r}") from None
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
        lower = {name.lower(): value for name, value in headers}
        if lower.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in lower.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader)
        else:
            body = await reader.readexactly(int(lower.get("content-length") or 0))
        path, _, query = target.partition("?")
        peer = writer.get_extra_info("peername") or ("", 0)
        return ReceivedRequest(
            method=method.upper(),
            path=path,
            query=query,
            headers=headers,
            body=body,
            received_at=time.time(),
            request_id=f"req_sim{next(self._ids)}",
            client=f"{peer[0]}:{peer[1]}",
        )

    async def _upgrade(
        self, request: ReceivedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve a WebSocket on this connection if the request asks for one this path speaks; a refused
        upgrade (x-sim-status, a bad control, an unknown path) is answered by `_respond` as plain HTTP."""
        lower = {name.lower(): value for name, value in request.headers}
        if request.method != "GET" or lower.get("upgrade", "").lower() != "websocket":
            return False
        try:
            controls = parse_controls(lower)
            socket_controls(lower)
        except ControlError:
            return False
        protocol = protocol_for(request.path, request.query, controls, self.fixtures_dir)
        if protocol is None or controls.status is not None:
            return False
        if controls.headers_delay_ms:
            await asyncio.sleep(controls.headers_delay_ms / 1000)
        record = WebSocketRecord(request.path, request.query, request.headers)
        await serve_websocket(reader, writer, lower, protocol, controls, record, self.record_websocket)
        return True

    async def _respond(
        self, request: ReceivedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Send the reply; returns whether the connection stays open for another request."""
        lower = {name.lower(): value for name, value in request.headers}
        try:
            controls = parse_controls(lower)
            reply = build_reply(
                request.method, request.path, request.query, lower, request.body, controls, self.fixtures_dir
            )
        except ControlError as bad:
            controls = Controls()
            reply = error_reply(request.path, 400, f"r4u simulator: {bad}")
        if controls.encoding and (missing := unavailable_reason(controls.encoding)):
            controls = Controls()
            reply = error_reply(request.path, 501, f"r4u simulator: {missing}")
        keep_alive = lower.get("connection", "").lower() != "close"
        if controls.headers_delay_ms:
            await asyncio.sleep(controls.headers_delay_ms / 1000)
        sender = _ReplySender(writer, reader, controls)
        await sender.send(reply, request.request_id, keep_alive)
        return keep_alive and not controls.hang


class _ReplySender:
    """Writes one reply, applying the delivery controls."""

    def __init__(self, writer: asyncio.StreamWriter, reader: asyncio.StreamReader, controls: Controls) -> None:
        self.writer = writer
        self.reader = reader
        self.controls = controls
        self.budget = controls.reset_after  # body bytes left before the deliberate reset

    def _head(self, reply: Reply, request_id: str, keep_alive: bool, framing: tuple[str, str]) -> bytes:
        headers = [
            *reply.headers,
            framing,
            ("date", formatdate(usegmt=True)),
            ("server", "r4u-simulator"),
            ("x-request-id", request_id),
        ]
        if self.controls.encoding:
            headers.append(("content-encoding", self.controls.encoding))
        if not keep_alive:
            headers.append(("connection", "close"))
        lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(self, reply: Reply, request_id: str, keep_alive: bool) -> None:
        if reply.events is None:
            await self._send_whole(reply, request_id, keep_alive)
        else:
            await self._send_stream(reply, reply.events, request_id, keep_alive)

    async def _send_whole(self, reply: Reply, request_id: str, keep_alive: bool) -> None:
        body = reply.body or b""
        if self.controls.encoding:
            body = encode_whole(self.controls.encoding, body)
        head = self._head(reply, request_id, keep_alive, ("content-length", str(len(body))))
        if self.budget is None and not self.controls.hang:
            self.writer.write(head + body)  # the fast path: one write per request
            await self.writer.drain()
            return
        self.writer.write(head)
        if self.controls.hang:
            await self._hang()
        await self._write_body(body, chunked=False)
        await self.writer.drain()

    async def _send_stream(self, reply: Reply, events: list[bytes], request_id: str, keep_alive: bool) -> None:
        encoder = stream_encoder(self.controls.encoding) if self.controls.encoding else None
        self.writer.write(self._head(reply, request_id, keep_alive, ("transfer-encoding", "chunked")))
        gap = self.controls.gap_ms / 1000
        for index, event in enumerate(events):
            await self._write_body(encoder.encode(event) if encoder else event, chunked=True)
            await self.writer.drain()
            if index == 0 and self.controls.hang:
                await self._hang()
            pause = gap if index < len(events) - 1 else 0.0
            if index == 0:
                pause += self.controls.first_delay_ms / 1000
            if pause > 0:
                await asyncio.sleep(pause)
        if encoder:
            await self._write_body(encoder.finish(), chunked=True)
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    async def _write_body(self, data: bytes, chunked: bool) -> None:
        if not data:
            return  # an empty chunk would end a chunked body early
        if self.budget is not None and len(data) >= self.budget:
            await self._reset(data[: self.budget], chunked)
        if self.budget is not None:
            self.budget -= len(data)
        self.writer.write(b"%x\r\n%b\r\n" % (len(data), data) if chunked else data)

    async def _reset(self, last_piece: bytes, chunked: bool) -> None:
        """Send the bytes up to the reset point, then drop the TCP connection with an RST."""
        if last_piece:
            self.writer.write(b"%x\r\n%b\r\n" % (len(last_piece), last_piece) if chunked else last_piece)
        await self.writer.drain()
        await asyncio.sleep(_RESET_GRACE_S)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout turns close() into an RST instead of a FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
        raise _ResetDone

    async def _hang(self) -> None:
        """Never finish the reply; return only by raising once the client has gone (or on shutdown)."""
        while await self.reader.read(65536):
            pass  # the client sent more bytes (a pipelined request); ignore them and keep hanging
        raise ConnectionResetError("client closed a hanging reply")
