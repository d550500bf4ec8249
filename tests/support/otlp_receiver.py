"""A minimal OTLP/HTTP traces receiver for tests: decodes every request with opentelemetry-proto
(protobuf or JSON), keeps the spans, and can be told to fail, hang or go away.

    with OtlpReceiver() as receiver:
        receiver.url            # http://127.0.0.1:PORT/v1/traces
        receiver.fail_next(3, 503)  # the next 3 requests get HTTP 503
        receiver.down() / receiver.up()   # connections refused while down (same port after)
        receiver.spans()        # {span_id_hex: decoded span dict}, receiver.duplicates
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def decode(message: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    spans = []
    for resource_spans in message.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append({
                    "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex() or None, "name": span.name, "kind": span.kind,
                    "start_ns": span.start_time_unix_nano, "end_ns": span.end_time_unix_nano,
                    "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                    "status": (span.status.code, span.status.message), "resource": resource,
                    "scope": (scope_spans.scope.name, scope_spans.schema_url),
                })  # fmt: skip
    return spans


def parse_json(body: bytes) -> ExportTraceServiceRequest:
    """OTLP/JSON → the message: hex ids back to the base64 proto3 JSON expects."""
    import base64

    data = json.loads(body)
    for resource in data.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return ParseDict(data, ExportTraceServiceRequest())


class OtlpReceiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: dict[str, dict[str, Any]] = {}
        self.duplicates: list[str] = []
        self.requests: list[dict[str, Any]] = []  # every request: status returned, span count, headers
        self._fail: list[int] = []
        self.hang = threading.Event()  # while set, requests wait, then fail with 503 (nothing is kept)
        self.delay_s = 0.0
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    # --- control ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def fail_next(self, count: int, status: int) -> None:
        with self.lock:
            self._fail += [status] * count

    def spans(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return dict(self.received)

    def wait_spans(self, count: int, timeout: float = 30) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.spans()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> OtlpReceiver:
        self.up()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.hang.clear()
        self.down()

    # --- serving ---------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        hung = self.hang.is_set()
        while self.hang.is_set():
            time.sleep(0.02)
        with self.lock:
            status = 503 if hung else self._fail.pop(0) if self._fail else 200  # a hung request is never taken
        record = {"status": status, "headers": dict(handler.headers), "spans": 0}
        if status == 200:
            is_json = "json" in (handler.headers.get("Content-Type") or "")
            message = parse_json(body) if is_json else ExportTraceServiceRequest.FromString(body)
            spans = decode(message)
            record["spans"] = len(spans)
            with self.lock:
                self.requests.append(record)  # with the spans, so whoever sees the spans sees the request
                for span in spans:
                    if span["span_id"] in self.received:
                        self.duplicates.append(span["span_id"])
                    self.received[span["span_id"]] = span
            reply = ExportTraceServiceResponse()
            payload = json.dumps(MessageToDict(reply)).encode() if is_json else reply.SerializeToString()
            content_type = "application/json" if is_json else "application/x-protobuf"
        else:
            payload, content_type = b'{"error": "test receiver says no"}', "application/json"
            with self.lock:
                self.requests.append(record)
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        if status == 429:
            handler.send_header("Retry-After", "0")
        handler.end_headers()
        handler.wfile.write(payload)
