"""The Exchange: one LLM call as the proxy saw it, handed from the recorder addon to the writer process.

Built on mitmproxy's event loop by `addons/recorder.py: build_exchange` with no parsing (it must be
cheap), pickled onto the writer's queue, then read by `ingest/parse.py` and `ingest/row.py`. At
runtime it is a plain dict (the writer handles thousands a second); the TypedDict only names and
types its keys. Anything derived from the bytes (models, usage, text, cost) is the writer's job.
"""

from __future__ import annotations

from typing import Any, TypedDict

from r4u_proxy.providers.routes import Route


class WebSocketKeys(TypedDict, total=False):
    """Only on a model response that came over a WebSocket (ingest/websocket.py, docs/websocket.md)."""

    framing: str  # "messages": each chunk is one whole server message
    websocket: dict[str, Any]  # the connection that carried it: {connection_id, url, sent, received, status, notes, request_bytes}


class Exchange(WebSocketKeys):
    id: str  # ULID of the trace, fixed when the request headers arrived
    route: Route  # provider, operation and parser family (providers.route)
    project: str | None  # from the proxy URL's user part or X-R4U-Project
    tags: dict[str, object] | None  # X-R4U-Tag-* and the Helicone/LiteLLM equivalents
    session_hint: tuple[str, str] | None  # (header, id): x-r4u-session / helicone-session-id, popped by addons/project.py (docs/sessions.md)
    client: str | None  # client address host:port
    method: str
    scheme: str
    host: str
    port: int
    path: str  # without the query string
    query: str  # raw, may hold `key=` (redacted in the row)
    request_headers: list[tuple[str, str]]  # as received from the app, tagging headers removed
    # As sent, possibly content-encoded (see the headers); up to the capture cap. A bytearray when the
    # request was streamed through addons/capture.py's copy (the writer receives bytes either way).
    request_body: bytes | bytearray
    request_bytes: int  # all request body bytes sent, including those past the cap
    request_truncated: bool  # the capture cap was hit on the request
    t_request_start: float  # time.time() when the request began
    t_sent: float  # time.time() when the request went upstream
    status_code: int | None  # None when no response arrived
    response_headers: list[tuple[str, str]]
    t_first_byte: float | None  # when the response headers arrived
    # The response body as received, after HTTP de-chunking and before content-decoding, each piece
    # with its arrival time.time(); stops at the capture cap. In the proxy it holds only the tail after
    # the last spill (`TraceWriter.submit_part`); the writer puts the spilled parts back in front.
    chunks: list[tuple[float, bytes]]
    response_bytes: int  # all body bytes received, including those past the cap
    truncated: bool  # the capture cap was hit
    t_end: float | None  # last byte (or when the call failed)
    # A transport problem: "client disconnected …", "upstream connection reset …", "upstream connect
    # failed: …", "upstream TLS failed: …", "upstream timeout: …", "proxy stopped before the response ended".
    error: str | None
    # Body bytes the proxy no longer held when a writer died with this call (store/held.py); the row
    # is written without them and says so. Always 0 from the recorder.
    bodies_lost: int
