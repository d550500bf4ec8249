"""Spans → OTLP (`ExportTraceServiceRequest`, from opentelemetry-proto) and OTLP/HTTP delivery.

One encoder: the protobuf message is built once; OTLP/JSON is its proto3 JSON form with the two changes
the OTLP spec makes (hex trace/span ids, enums as integers). Delivery is a plain HTTP POST with a retry
policy the callers share: 429, 5xx and connection errors are retried with backoff (honouring
Retry-After); other 4xx are final (the receiver will never take that batch).
"""

from __future__ import annotations

import base64
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from r4u_proxy import __version__
from r4u_proxy.export.spans import SCHEMA_URL, Span

ENCODINGS = ("protobuf", "json")
_KINDS = {"client": ProtoSpan.SPAN_KIND_CLIENT, "internal": ProtoSpan.SPAN_KIND_INTERNAL}
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _set(target: AnyValue, value: object) -> None:
    """Fill `target` in place: building messages field by field is ~2x faster than nested constructors."""
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, (list, tuple)):
        array = target.array_value
        for item in value:
            _set(array.values.add(), item)
    else:
        target.string_value = str(value)


def _add_attributes(repeated, attrs: dict) -> None:
    for key, value in attrs.items():
        entry = repeated.add()
        entry.key = key
        _set(entry.value, value)


def request(spans: Iterable[Span]) -> ExportTraceServiceRequest:
    """One request, one ResourceSpans per service (the project)."""
    message = ExportTraceServiceRequest()
    scopes: dict[str, ScopeSpans] = {}
    for span in spans:
        scope = scopes.get(span["service"])
        if scope is None:
            resource_spans = message.resource_spans.add()
            # Phoenix files spans under openinference.project.name; everyone else reads service.name.
            service = span["service"]
            _add_attributes(resource_spans.resource.attributes, {"service.name": service, "openinference.project.name": service})
            scope = scopes[service] = resource_spans.scope_spans.add()
            scope.scope.name, scope.scope.version, scope.schema_url = "r4u", __version__, SCHEMA_URL
        proto = scope.spans.add()
        proto.trace_id, proto.span_id = span["trace_id"], span["span_id"]
        if span["parent_span_id"]:
            proto.parent_span_id = span["parent_span_id"]
        proto.name, proto.kind = span["name"], _KINDS[span["kind"]]
        proto.start_time_unix_nano, proto.end_time_unix_nano = span["start_ns"], span["end_ns"]
        _add_attributes(proto.attributes, span["attributes"])
        if span["status_error"] is not None:
            proto.status.code, proto.status.message = Status.STATUS_CODE_ERROR, span["status_error"]
    return message


def to_json(message: ExportTraceServiceRequest) -> dict:
    """OTLP/JSON: proto3 JSON with hex ids and integer enums."""
    data = MessageToDict(message, use_integers_for_enums=True)
    for resource in data.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for field in _ID_FIELDS:
                    if field in span:
                        span[field] = base64.b64decode(span[field]).hex()
    return data


def encode(spans: Iterable[Span], encoding: str = "protobuf") -> bytes:
    message = request(spans)
    if encoding == "json":
        return json.dumps(to_json(message), ensure_ascii=False, separators=(",", ":")).encode()
    return message.SerializeToString()


def traces_url(endpoint: str) -> str:
    """`http://host:4318` and `.../api/public/otel` get the OTLP traces path; a full URL is kept."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


@dataclass
class Outcome:
    ok: bool
    retry: bool = False  # worth trying again later
    rejected: int = 0  # spans the receiver took the request for but refused (partial success)
    message: str = ""
    retry_after: float | None = None


class Receiver:
    """An OTLP/HTTP traces endpoint: `post(body) -> Outcome` (never raises)."""

    def __init__(self, endpoint: str, headers: dict[str, str] | None = None, encoding: str = "protobuf",
                 timeout: float = 10.0) -> None:  # fmt: skip
        self.url = traces_url(endpoint)
        self.encoding = encoding
        self.timeout = timeout
        content_type = "application/json" if encoding == "json" else "application/x-protobuf"
        self.headers = {"Content-Type": content_type, "User-Agent": f"r4u/{__version__}", **(headers or {})}
        # A receiver on this machine is reached directly, whatever HTTPS_PROXY says (it may be r4u itself).
        host = urllib.parse.urlsplit(self.url).hostname or ""
        direct = host in ("localhost", "::1") or host.startswith("127.")
        self._opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if direct else []))

    def post(self, body: bytes) -> Outcome:
        req = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as response:
                return Outcome(ok=True, rejected=self._rejected(response.read(), response.headers))
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace").strip()
            retry = exc.code in (408, 429) or exc.code >= 500
            return Outcome(ok=False, retry=retry, message=f"HTTP {exc.code} {detail}".strip(),
                           retry_after=_retry_after(exc.headers.get("Retry-After")))  # fmt: skip
        except (OSError, ValueError) as exc:  # refused, reset, timeout, DNS
            reason = getattr(exc, "reason", exc)
            return Outcome(ok=False, retry=True, message=f"{type(exc).__name__}: {reason}")

    def _rejected(self, body: bytes, headers) -> int:
        if not body:
            return 0
        try:
            if "json" in (headers.get("Content-Type") or ""):
                partial = json.loads(body).get("partialSuccess") or {}
                return int(partial.get("rejectedSpans") or 0)
            reply = ExportTraceServiceResponse()
            reply.ParseFromString(body)
            return reply.partial_success.rejected_spans
        except Exception:  # an unreadable success reply is still a success
            return 0


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


@dataclass
class Backoff:
    """Exponential backoff with jitter: first, doubling up to cap."""

    first: float = 0.5
    cap: float = 30.0
    attempt: int = 0

    def next_delay(self, hint: float | None = None) -> float:
        delay = min(self.cap, self.first * 2**self.attempt)
        self.attempt += 1
        delay = delay * (0.5 + random.random() / 2)
        return min(self.cap, max(delay, hint or 0.0))

    def reset(self) -> None:
        self.attempt = 0


def deliver(receiver: Receiver, body: bytes, backoff: Backoff, *, attempts: int | None = None,
            wait: Callable[[float], bool] = lambda s: bool(time.sleep(s))) -> Outcome:  # fmt: skip
    """Post until it is taken, refused for good, `attempts` run out, or `wait(delay)` returns True (stop)."""
    tries = 0
    while True:
        outcome = receiver.post(body)
        tries += 1
        if outcome.ok or not outcome.retry or (attempts is not None and tries >= attempts):
            if outcome.ok:
                backoff.reset()
            return outcome
        if wait(backoff.next_delay(outcome.retry_after)):
            return outcome
