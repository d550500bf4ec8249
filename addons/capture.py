"""Tap LLM calls as they pass: time the request, copy response chunks, never buffer.

mitmproxy buffers whole responses (event streams included) unless `flow.response.stream`
is set in `responseheaders`. r4u sets it for every response: LLM calls get a `Tap` that
copies each chunk (up to the capture cap) with its arrival time and hands the bytes on
unchanged; other flows stream straight through. All parsing happens later, off the event
loop, in the writer process. What this addon leaves for the recorder (`flow.metadata["r4u"]`,
a Pending) is described in addons/__init__.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mitmproxy import ctx, http

from r4u_proxy.guard import guarded
from r4u_proxy.ids import ulid
from r4u_proxy.providers import route

DEFAULT_CAPTURE_CAP = 10 * 1024 * 1024


SPILL_BYTES = 256 * 1024


class Tap:
    """The response body callable: copy, time, pass through unchanged.

    With a `spill` callable (set by the recorder), every SPILL_BYTES of copied body are handed
    on to the writer as they arrive, so a long stream never sits in the proxy's memory; what
    `chunks` still holds at the end is the tail after the last spill.
    """

    __slots__ = ("cap", "chunks", "held", "stored", "total", "truncated", "t_end", "spill")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: list[tuple[float, bytes]] = []
        self.held = 0  # bytes in self.chunks
        self.stored = 0  # bytes copied in all, spilled or held
        self.total = 0
        self.truncated = False
        self.t_end: float | None = None
        self.spill: Callable[[list[tuple[float, bytes]]], bool] | None = None

    def __call__(self, data: bytes) -> bytes:
        now = time.time()
        if not data:  # mitmproxy's end-of-body call
            self.t_end = now
            return data
        self.total += len(data)
        if self.stored < self.cap:
            room = self.cap - self.stored
            piece = data if len(data) <= room else data[:room]
            self.chunks.append((now, piece))
            self.stored += len(piece)
            self.held += len(piece)
            self.truncated = self.truncated or len(piece) < len(data)
        else:
            self.truncated = True
            self.chunks.append((now, b""))  # keep the timing even past the cap
        full = self.held >= SPILL_BYTES or len(self.chunks) >= 1000
        # A refused spill (writer queue full) keeps holding, never past the cap.
        if full and self.spill is not None and self.spill(self.chunks):
            self.chunks, self.held = [], 0
        return data


class BodyCopy:
    """The request body callable, for bodies that may exceed the cap: one buffer, filled up to the
    cap, every byte passed on unchanged. (A request needs no per-chunk timing, and one buffer is
    handed over as it is: no list of pieces, no joined copy.)"""

    __slots__ = ("cap", "data", "total")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.total = 0

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)

    def __call__(self, data: bytes) -> bytes:
        self.total += len(data)
        room = self.cap - len(self.data)
        if room > 0 and data:
            self.data += memoryview(data)[:room]
        return data


class Pending:
    """What r4u knows of an LLM call in flight (lives in flow.metadata['r4u'])."""

    __slots__ = ("id", "route", "t_sent", "tap", "request_tap")

    def __init__(self, route_) -> None:
        self.id = ulid()
        self.route = route_
        self.t_sent: float | None = None
        self.tap: Tap | None = None
        self.request_tap: BodyCopy | None = None  # set when the request body is streamed (may exceed the cap)


def _declared_length(request: http.Request) -> int | None:
    try:
        return int(request.headers.get("content-length", ""))
    except ValueError:
        return None


class Capture:
    def load(self, loader) -> None:
        loader.add_option(
            "r4u_capture_cap",
            int,
            DEFAULT_CAPTURE_CAP,
            "Bytes of each request and response body r4u stores; traffic past it passes untouched but unstored.",
        )

    @guarded
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        found = route(request.host, request.path.partition("?")[0])
        if found is None:
            request.stream = True  # not an LLM call: pass through, never held in memory
            return
        pending = flow.metadata["r4u"] = Pending(found)
        # A body that may exceed the cap is streamed through a tap like responses are, so that the
        # proxy never holds more of it than the cap (mitmproxy would otherwise buffer all of it).
        length = _declared_length(request)
        if length is None or length > ctx.options.r4u_capture_cap:
            pending.request_tap = BodyCopy(ctx.options.r4u_capture_cap)
            request.stream = pending.request_tap

    @guarded
    def request(self, flow: http.HTTPFlow) -> None:
        pending = flow.metadata.get("r4u")
        if pending is not None:
            pending.t_sent = time.time()

    @guarded
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        pending = flow.metadata.get("r4u")
        if pending is None:
            flow.response.stream = True
            return
        pending.tap = Tap(ctx.options.r4u_capture_cap)
        flow.response.stream = pending.tap

