"""WebSocket endpoints: the upgrade handshake, frames through wsproto, and the delivery controls.

The HTTP server (server.py) reads the upgrade request like any other; when it asks for a WebSocket on a path
one of the protocols below serves, it hands the connection here. Each protocol turns one client message into
the server messages that answer it, in the provider's own event names and shapes:
    /v1/responses          Responses API over WebSocket (Codex, `client.responses.connect()`)
    /v1/realtime           the Realtime API (`client.realtime.connect()`)
    .../BidiGenerateContent Gemini Live (`client.aio.live.connect()`)

Controls (headers on the upgrade request, like the HTTP ones; see simulator/__init__.py):
    x-sim-events, x-sim-gap-ms, x-sim-fixture   as for HTTP (a Responses fixture is replayed per response.create)
    x-sim-ws-close-after: N     after N server messages, send a close frame (x-sim-ws-close-code, default 1011)
    x-sim-ws-abort-after: N     after N server messages, drop the TCP connection (an RST, no close frame)
    x-sim-ws-malformed: 1       start every answer with a text message that is not JSON
    x-sim-ws-echo: binary|all   send every binary (or every) client message back unchanged
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage
from wsproto.extensions import PerMessageDeflate
from wsproto.utilities import generate_accept_token, split_comma_header

from r4u_proxy.simulator.controls import ControlError, Controls, header_flag, header_number


@dataclass
class WebSocketRecord:
    """One WebSocket connection as the upstream saw it, for tests to assert on."""

    path: str
    query: str
    headers: list[tuple[str, str]]
    received: list[tuple[bool, bytes]] = field(default_factory=list)  # (is_text, payload) from the client
    sent: list[tuple[bool, bytes]] = field(default_factory=list)  # (is_text, payload) to the client
    close_code: int | None = None  # the client's close code; None when the connection just dropped
    opened_at: float = field(default_factory=time.time)
    log: list[tuple[float, bool, bool, bytes]] = field(default_factory=list)  # (time, from client, is_text, payload)


class SocketProtocol(Protocol):
    """What one endpoint says: its greeting, and the server messages answering each client message."""

    binary: bool  # whether server messages go out as binary frames (Gemini Live does that)

    def opening(self) -> list[dict[str, Any]]: ...

    def answer(self, message: dict[str, Any]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class SocketControls:
    close_after: int | None = None
    close_code: int = 1011
    abort_after: int | None = None
    malformed: bool = False
    echo: str | None = None  # "binary" or "all": send those client messages back unchanged


def socket_controls(headers: dict[str, str]) -> SocketControls:
    def count(name: str) -> int | None:
        value = header_number(headers, name)
        return int(value) if value is not None else None

    echo = headers.get("x-sim-ws-echo", "").strip().lower() or None
    if echo not in (None, "binary", "all"):
        raise ControlError(f"x-sim-ws-echo must be binary or all, got {echo!r}")
    code = count("x-sim-ws-close-code") or 1011
    if not 1000 <= code <= 4999:
        raise ControlError(f"x-sim-ws-close-code must be a WebSocket close code, got {code}")
    return SocketControls(
        close_after=count("x-sim-ws-close-after"),
        close_code=code,
        abort_after=count("x-sim-ws-abort-after"),
        malformed=bool(header_flag(headers, "x-sim-ws-malformed")),
        echo=echo,
    )


def protocol_for(path: str, query: str, controls: Controls, fixtures_dir: Path) -> SocketProtocol | None:
    """The endpoint that serves `path` over a WebSocket, or None (the upgrade is refused with a 404)."""
    from r4u_proxy.simulator import live_api, realtime_api, responses_socket

    if path.endswith("/responses"):
        return responses_socket.ResponsesSocket(controls, fixtures_dir)
    if path.endswith("/realtime"):
        return realtime_api.RealtimeSocket(query, controls)
    if path.endswith(("BidiGenerateContent", "BidiGenerateContentConstrained")):
        return live_api.LiveSocket(controls)
    return None


class _Closed(Exception):
    """The connection is over (closed, dropped, or deliberately aborted): stop serving it."""


class WebSocketServer:
    """Serves one upgraded connection: answers each client message with its protocol's events."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        protocol: SocketProtocol,
        controls: Controls,
        socket_controls: SocketControls,
        record: WebSocketRecord,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = protocol
        self.gap = controls.gap_ms / 1000
        self.controls = socket_controls
        self.record = record
        self.conn: Connection | None = None
        self.sent_count = 0
        self._parts: list[bytes] = []
        self.answers: asyncio.Queue[list[Any]] = asyncio.Queue()  # what to send, in order

    async def accept(self, key: str, offered_extensions: str) -> None:
        extensions = []
        header_lines = [
            "HTTP/1.1 101 Switching Protocols",
            "upgrade: websocket",
            "connection: Upgrade",
            f"sec-websocket-accept: {generate_accept_token(key.encode()).decode()}",
            "server: r4u-simulator",
        ]
        for offer in split_comma_header(offered_extensions.encode()):
            if offer.split(";", 1)[0].strip() == PerMessageDeflate.name and not extensions:
                deflate = PerMessageDeflate()
                accepted = deflate.accept(offer)
                if accepted is not None:
                    extensions.append(deflate)
                    params = f"; {accepted}" if isinstance(accepted, str) and accepted else ""
                    header_lines.append(f"sec-websocket-extensions: {PerMessageDeflate.name}{params}")
        self.writer.write(("\r\n".join(header_lines) + "\r\n\r\n").encode("latin-1"))
        self.conn = Connection(ConnectionType.SERVER, extensions)
        await self.writer.drain()

    async def serve(self) -> None:
        """Read the client's messages while answers go out from a task of their own, as a real server does:
        a client that closes mid-answer is heard at once."""
        sending = asyncio.create_task(self._send_answers())
        self.answers.put_nowait(list(self.protocol.opening()))
        try:
            while not sending.done():
                reading = asyncio.ensure_future(self.reader.read(65536))
                await asyncio.wait([reading, sending], return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    reading.cancel()
                    return  # the sender ended the connection (a deliberate close or reset)
                data = reading.result()
                assert self.conn is not None
                self.conn.receive_data(data or None)
                for event in self.conn.events():
                    self._handle(event)
                if not data:
                    return
        except (_Closed, ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            sending.cancel()

    def _handle(self, event: Any) -> None:
        assert self.conn is not None
        if isinstance(event, CloseConnection):
            self.record.close_code = event.code
            if self.conn.state is ConnectionState.REMOTE_CLOSING:
                self.writer.write(self.conn.send(event.response()))
            raise _Closed
        if isinstance(event, Ping):
            self.writer.write(self.conn.send(event.response()))
            return
        if not isinstance(event, Message):
            return
        is_text = isinstance(event, TextMessage)
        self._parts.append(event.data.encode() if is_text else bytes(event.data))
        if not event.message_finished:
            return
        payload, self._parts = b"".join(self._parts), []
        self.record.received.append((is_text, payload))
        self.record.log.append((time.time(), True, is_text, payload))
        if self.controls.echo == "all" or (self.controls.echo == "binary" and not is_text):
            self.answers.put_nowait([(is_text, payload)])
            return
        try:
            message = json.loads(payload)
        except ValueError:
            message = None
        if not isinstance(message, dict):  # answered like an unknown event: an error, the socket stays open
            message = {"type": "(not a JSON object)"}
        answer = list(self.protocol.answer(message))
        if answer and self.controls.malformed:
            answer.insert(0, (True, b'{"type": "response.output_text.delta", "delta": "cut off her'))
        self.answers.put_nowait(answer)

    async def _send_answers(self) -> None:
        try:
            while True:
                answer = await self.answers.get()
                for index, reply in enumerate(answer):
                    if isinstance(reply, tuple):  # (is_text, payload): sent as is
                        await self._send_raw(*reply)
                    else:
                        await self._send_event(reply)
                    if self.gap and index < len(answer) - 1:
                        await asyncio.sleep(self.gap)
        except (_Closed, ConnectionError):
            return

    async def _send_event(self, event: dict[str, Any] | bytes) -> None:
        """One server message: an event, or JSON text exactly as a recording has it."""
        if isinstance(event, bytes):
            data = event
        else:
            data = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        await self._send_raw(not self.protocol.binary, data)

    async def _send_raw(self, is_text: bool, payload: bytes) -> None:
        assert self.conn is not None
        frame = TextMessage(data=payload.decode()) if is_text else BytesMessage(data=payload)
        self.writer.write(self.conn.send(frame))
        self.record.sent.append((is_text, payload))
        self.record.log.append((time.time(), False, is_text, payload))
        self.sent_count += 1
        await self.writer.drain()
        if self.controls.close_after is not None and self.sent_count >= self.controls.close_after:
            self.writer.write(self.conn.send(CloseConnection(code=self.controls.close_code, reason="simulated")))
            await self.writer.drain()
            raise _Closed
        if self.controls.abort_after is not None and self.sent_count >= self.controls.abort_after:
            await asyncio.sleep(0.05)  # let the peer read what was sent before the reset
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.writer.transport.abort()
            raise _Closed


async def serve_websocket(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    headers: dict[str, str],
    protocol: SocketProtocol,
    controls: Controls,
    record: WebSocketRecord,
    on_record: Callable[[WebSocketRecord], None],
) -> None:
    """Complete the upgrade and serve the connection until either side ends it."""
    server = WebSocketServer(reader, writer, protocol, controls, socket_controls(headers), record)
    on_record(record)
    await server.accept(headers.get("sec-websocket-key", ""), headers.get("sec-websocket-extensions", ""))
    await server.serve()
