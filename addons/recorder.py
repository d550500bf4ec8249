"""Hand every finished (or failed) LLM call to the writer process as an Exchange (ingest/exchange.py).

Building the Exchange is cheap on purpose — no parsing, no JSON, no disk: the writer
process does that. The proxy keeps each trace until the writer confirms it is on disk
(r4u_proxy/store/supervisor.py); what does not fit the byte bound is dropped and counted,
never delays the app.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

from mitmproxy import ctx, http

from r4u_proxy.guard import COUNTERS, guarded
from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.store.supervisor import DEFAULT_QUEUE_BYTES, TraceWriter

PROXY_STOPPED = "proxy stopped before the response ended"


def describe_error(flow: http.HTTPFlow) -> str:
    """Say what went wrong in the words a user would search for."""
    msg = flow.error.msg if flow.error else "unknown error"
    low = msg.lower()
    if flow.response is None:
        if "client disconnected" in low:  # before "connect": the app gave up (its own timeout, Ctrl-C)
            return f"client disconnected before the response: {msg}"
        if "timeout" in low or "timed out" in low:
            return f"upstream timeout: {msg}"
        if "tls" in low or "certificate" in low or "ssl" in low:
            return f"upstream TLS failed: {msg}"
        if "connect" in low or "refused" in low or "resolve" in low or "name" in low:
            return f"upstream connect failed: {msg}"
        return f"upstream error: {msg}"
    if "client disconnected" in low:
        return f"client disconnected mid-response: {msg}"
    if "server disconnected" in low or "reset" in low or "closed" in low:
        return f"upstream connection reset mid-response: {msg}"
    return f"transfer failed mid-response: {msg}"


def build_exchange(flow: http.HTTPFlow, error: str | None) -> Exchange:
    pending = flow.metadata["r4u"]
    request = flow.request
    response = flow.response
    tap = pending.tap
    exchange: Exchange = {
        "id": pending.id,
        "route": pending.route,
        "project": flow.metadata.get("r4u_project"),
        "tags": flow.metadata.get("r4u_tags"),
        "session_hint": flow.metadata.get("r4u_session"),  # (header, id) from addons/project.py
        "client": "{}:{}".format(*flow.client_conn.peername[:2]) if flow.client_conn.peername else None,
        "method": request.method,
        "scheme": request.scheme,
        "host": request.host,
        "port": request.port,
        "path": request.path.partition("?")[0],
        "query": request.path.partition("?")[2],
        "request_headers": list(request.headers.items(multi=True)),
        "request_body": request.raw_content or b"",
        "request_bytes": len(request.raw_content or b""),
        "request_truncated": False,
        "t_request_start": request.timestamp_start,
        "t_sent": pending.t_sent or request.timestamp_end or request.timestamp_start,
        "status_code": None,
        "response_headers": [],
        "t_first_byte": None,
        "chunks": [],
        "response_bytes": 0,
        "truncated": False,
        "t_end": None,
        "error": error,
        "bodies_lost": 0,
    }
    if (copy := pending.request_tap) is not None:  # streamed: what the copy kept, up to the capture cap
        exchange["request_body"] = copy.data  # a bytearray; the writer receives bytes
        exchange["request_bytes"] = copy.total
        exchange["request_truncated"] = copy.truncated
        copy.data = bytearray()  # the hand-over holds the only reference from now on (the flow keeps `copy`)
    if response is not None:
        exchange["status_code"] = response.status_code
        exchange["response_headers"] = list(response.headers.items(multi=True))
        exchange["t_first_byte"] = response.timestamp_start
        if tap is not None and (tap.total or response.raw_content is None):
            exchange["chunks"] = tap.chunks
            exchange["response_bytes"] = tap.total
            exchange["truncated"] = tap.truncated
            exchange["t_end"] = tap.t_end or (tap.chunks[-1][0] if tap.chunks else None)
        else:  # no body was streamed (empty body, or a response mitmproxy made itself)
            body = response.raw_content or b""
            exchange["chunks"] = [(response.timestamp_end or time.time(), body)] if body else []
            exchange["response_bytes"] = len(body)
        exchange["t_end"] = exchange["t_end"] or response.timestamp_end or time.time()
    else:
        exchange["t_end"] = time.time()
    return exchange


class Recorder:
    def __init__(self) -> None:
        self.writer: TraceWriter | None = None
        self.inflight: dict[str, http.HTTPFlow] = {}

    def load(self, loader) -> None:
        loader.add_option("r4u_db", str, "", "Path of the SQLite file traces are written to.")
        loader.add_option(
            "r4u_queue_bytes", int, DEFAULT_QUEUE_BYTES, "Bytes of traces held for the writer before drops."
        )
        loader.add_option("r4u_stats_file", str, "", "Where the counters are published (JSON).")
        loader.add_option("r4u_redact", Sequence[str], [], "Regular expressions redacted from stored text.")

    def running(self) -> None:
        if ctx.options.r4u_db and self.writer is None:
            self.writer = TraceWriter(
                ctx.options.r4u_db,
                queue_bytes=ctx.options.r4u_queue_bytes,
                stats_file=ctx.options.r4u_stats_file or None,
                redact=list(ctx.options.r4u_redact),
            )
            self.writer.start()

    @guarded
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if "r4u" in flow.metadata:
            self.inflight[flow.id] = flow

    @guarded
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        pending = flow.metadata.get("r4u")
        if pending is not None and pending.tap is not None and self.writer is not None:
            pending.tap.spill = functools.partial(self.writer.submit_part, pending.id)

    @guarded
    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is not None:  # an upgrade: addons/websocket.py records what the connection carries
            self.inflight.pop(flow.id, None)
            return
        self._finish(flow, None)

    @guarded
    def error(self, flow: http.HTTPFlow) -> None:
        if "r4u" in flow.metadata:
            self._finish(flow, describe_error(flow))

    def _finish(self, flow: http.HTTPFlow, error: str | None) -> None:
        if self.inflight.pop(flow.id, None) is None:
            return
        if self.writer is None:
            COUNTERS.add("dropped")
            return
        self.writer.submit(build_exchange(flow, error))

    def done(self) -> None:
        for flow in list(self.inflight.values()):
            try:
                self._finish(flow, PROXY_STOPPED)
            except Exception:
                COUNTERS.add("addon_errors")
        if self.writer is not None:
            self.writer.close()  # drains the queue: every trace captured so far is written
            self.writer = None

