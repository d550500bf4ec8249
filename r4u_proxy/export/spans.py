"""A trace row → one span in the OpenTelemetry GenAI semantic conventions; a session → its root span.

Spans are plain dicts here (`Span`), encoded to OTLP protobuf or JSON by `otlp.py`. Ids are derived from
r4u's own ids, so exporting the same trace twice yields the same span (receivers that key on span ids
keep one): a trace's ULID is its 128-bit OTLP trace id; a session's trace id and root span id are hashes
of the session id, and every call of the session is a child of that root.

Names follow semantic-conventions-genai (schema `gen-ai-dev/1.42.0-dev`, see docs/export.md).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, TypedDict
from urllib.parse import urlsplit

from r4u_proxy import providers
from r4u_proxy.providers.common import stored_json
from r4u_proxy.reports.metrics import unpriced_reason

SCHEMA_URL = "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev"
CONTENT_MODES = ("none", "span")

# r4u's operation column → gen_ai.operation.name (well-known values where one applies).
OPERATIONS = {
    "chat": "chat",
    "responses": "chat",
    "messages": "chat",
    "generate_content": "generate_content",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "realtime": "chat",  # one Realtime response (docs/websocket.md)
    "live": "generate_content",  # one Gemini Live turn
}
# Hosts with a well-known gen_ai.provider.name, by suffix; then r4u's provider column.
PROVIDER_HOSTS = (
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("openai.azure.com", "azure.ai.openai"),
    ("cognitiveservices.azure.com", "azure.ai.openai"),
    ("amazonaws.com", "aws.bedrock"),
    ("api.deepseek.com", "deepseek"),
    ("api.groq.com", "groq"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.x.ai", "x_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("api.moonshot.ai", "moonshot_ai"),
    ("api.cohere.com", "cohere"),
)
PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gen_ai", "vertex": "gcp.vertex_ai",
             "azure": "azure.ai.openai", "bedrock": "aws.bedrock", "cohere": "cohere", "mistral": "mistral_ai"}  # fmt: skip
TOKENS = (
    ("input_tokens", "gen_ai.usage.input_tokens"),  # includes cache reads and writes, as the conventions ask
    ("output_tokens", "gen_ai.usage.output_tokens"),  # includes reasoning
    ("cache_read_tokens", "gen_ai.usage.cache_read.input_tokens"),
    ("cache_write_tokens", "gen_ai.usage.cache_write.input_tokens"),
    ("cache_write_tokens", "gen_ai.usage.cache_creation.input_tokens"),  # its name before #440; Phoenix 20 reads it
    ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"),
)

Attributes = dict[str, Any]  # str | int | float | bool | list[str]


class Span(TypedDict):
    trace_id: bytes  # 16 bytes
    span_id: bytes  # 8 bytes
    parent_span_id: bytes | None
    name: str
    kind: str  # "client" | "internal"
    start_ns: int
    end_ns: int
    attributes: Attributes
    status_error: str | None  # None: OK/unset; else the status message
    service: str  # resource service.name: the project, else "r4u"


def _digest(kind: str, value: str, size: int) -> bytes:
    return hashlib.sha256(f"r4u-{kind}:{value}".encode()).digest()[:size]


def ulid_bytes(ulid: str) -> bytes:
    """A ULID's 128 bits (Crockford base32) — a valid, time-ordered OTLP trace id."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    try:
        value = 0
        for char in ulid.upper():
            value = value * 32 + alphabet.index(char)
        return value.to_bytes(16, "big")
    except (ValueError, OverflowError):
        return _digest("trace", ulid, 16)


def session_trace_id(session_id: str) -> bytes:
    return _digest("session-trace", session_id, 16)


def session_span_id(session_id: str) -> bytes:
    return _digest("session-span", session_id, 8)


def trace_span_id(trace_id: str) -> bytes:
    return _digest("span", trace_id, 8)


def iso_ns(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000) * 1_000_000
    except ValueError:
        return None


def provider_name(row: dict[str, Any]) -> str:
    host = (row.get("host") or "").lower()
    for suffix, name in PROVIDER_HOSTS:
        if host.endswith(suffix):  # also regional names: us-central1-aiplatform.googleapis.com
            return name
    return PROVIDERS.get(row.get("provider") or "", row.get("provider") or "unknown")


def error_type(row: dict[str, Any]) -> str | None:
    """Low-cardinality: the HTTP status for a provider error, else the kind of transport or stream error."""
    status = row.get("status_code")
    if isinstance(status, int) and status >= 400:
        return str(status)
    error = row.get("error")
    if not error:
        return None
    head = error.split(";", 1)[0].split(":", 1)[0].strip().lower()
    kind = "_".join(head.split())
    return kind if kind and len(kind) <= 40 and kind.replace("_", "").isalnum() else "_OTHER"


def _server(row: dict[str, Any]) -> tuple[str | None, int | None]:
    parts = urlsplit(row.get("url") or "")
    port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    return row.get("host") or parts.hostname, port


def trace_span(row: dict[str, Any], *, content: str = "none", task: dict[str, Any] | None = None,
               sessions: dict[str, str] | None = None) -> Span:  # fmt: skip
    """The span of one trace row. `task`: its tasks row (name, template); `sessions`: session → the
    top-level session of its agent run (sub-agents join their parent's trace)."""
    operation = OPERATIONS.get(row.get("operation") or "", row.get("operation") or "unknown")
    model = row.get("request_model") or row.get("response_model")
    provider = provider_name(row)
    attrs: Attributes = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,  # the name before gen_ai.provider.name; some receivers still read it
    }
    _put(attrs, "gen_ai.request.model", row.get("request_model"))
    _put(attrs, "gen_ai.response.model", row.get("response_model"))
    if row.get("stream"):
        attrs["gen_ai.request.stream"] = True
        if row.get("ttft_ms") is not None:
            attrs["gen_ai.response.time_to_first_chunk"] = round(row["ttft_ms"] / 1000, 6)
    for column, name in TOKENS:
        _put(attrs, name, row.get(column))
    kind = error_type(row)
    reason = row.get("finish_reason")
    if reason or kind:
        attrs["gen_ai.response.finish_reasons"] = [reason or "error"]
    if kind:
        attrs["error.type"] = kind
    host, port = _server(row)
    _put(attrs, "server.address", host)
    _put(attrs, "server.port", port)
    _put(attrs, "http.request.method", row.get("method"))
    _put(attrs, "http.response.status_code", row.get("status_code"))
    if row.get("operation") == "responses":
        attrs["openai.api.type"] = "responses"
    _put(attrs, "gen_ai.conversation.id", row.get("session_id"))
    body = stored_json(row.get("response_body"))
    response_id = row.get("_response_id")  # lean rows: picked out in SQL
    if response_id is None and isinstance(body, dict):
        response_id = body.get("id") or body.get("responseId")
    _put(attrs, "gen_ai.response.id", response_id)
    _task_attributes(attrs, row, task, content)
    _r4u_attributes(attrs, row)
    if content == "span":
        _content_attributes(attrs, row, body)
    start = iso_ns(row.get("started_at")) or 0
    end = iso_ns(row.get("ended_at"))
    if end is None:
        end = start + int((row.get("latency_ms") or 0) * 1_000_000)
    session = row.get("session_id")
    top = (sessions or {}).get(session, session) if session else None
    return Span(
        trace_id=session_trace_id(top) if top else ulid_bytes(row["id"]),
        span_id=trace_span_id(row["id"]),
        parent_span_id=session_span_id(session) if session else None,
        name=f"{operation} {model}" if model else operation,
        kind="client",
        start_ns=start,
        end_ns=max(end, start),
        attributes=attrs,
        status_error=(row.get("error") or f"HTTP {row.get('status_code')}") if kind else None,
        service=row.get("project") or "r4u",
    )


def session_span(session: dict[str, Any], sessions: dict[str, str] | None = None) -> Span:
    """The root span of a session (an agent run): `invoke_agent`, spanning its calls, with their totals.

    `session`: session_id, parent_session_id, client_name, project, started_at, ended_at, calls, errors,
    cost_usd and the token sums (the columns of `queries.session_summaries`)."""
    session_id = session["session_id"]
    parent = session.get("parent_session_id")
    top = (sessions or {}).get(session_id, parent or session_id)
    agent = session.get("client_name")
    attrs: Attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": session_id}
    _put(attrs, "gen_ai.agent.name", agent)
    for column, name in TOKENS:
        _put(attrs, name, session.get(column))
    _put(attrs, "r4u.cost_usd", session.get("cost_usd"))
    _put(attrs, "r4u.calls", session.get("calls"))
    _put(attrs, "r4u.project", session.get("project"))
    start = iso_ns(session.get("started_at")) or 0
    end = iso_ns(session.get("ended_at")) or start
    return Span(
        trace_id=session_trace_id(top),
        span_id=session_span_id(session_id),
        parent_span_id=session_span_id(parent) if parent else None,
        name=f"invoke_agent {agent}" if agent else "invoke_agent",
        kind="internal",
        start_ns=start,
        end_ns=max(end, start),
        attributes=attrs,
        status_error=f"{session['errors']} of {session.get('calls')} calls failed" if session.get("errors") else None,
        service=session.get("project") or "r4u",
    )


def _put(attrs: Attributes, name: str, value: Any) -> None:
    if value is not None and value != "":
        attrs[name] = value



def _task_attributes(attrs: Attributes, row: dict[str, Any], task: dict[str, Any] | None, content: str) -> None:
    """The task grouping found is the prompt template: its name, a version that changes with its text,
    and (content only: they are user data) the variable values of this call."""
    if not row.get("task_id"):
        return
    task = task or {}
    attrs["gen_ai.prompt.name"] = task.get("name") or row["task_id"]
    if task.get("template"):
        attrs["gen_ai.prompt.version"] = hashlib.sha256(task["template"].encode()).hexdigest()[:12]
    variables = stored_json(row.get("template_vars"))
    if content == "span" and isinstance(variables, dict):
        for name, value in variables.items():
            attrs[f"gen_ai.prompt.variable.{name}"] = value if isinstance(value, str) else json.dumps(value)


def _r4u_attributes(attrs: Attributes, row: dict[str, Any]) -> None:
    attrs["r4u.trace.id"] = row["id"]
    for column in ("project", "client_name", "task_id", "priced_model"):
        _put(attrs, f"r4u.{column}", row.get(column))
    _put(attrs, "r4u.cost_usd", row.get("cost_usd"))  # unset when the price is unknown, never 0
    _put(attrs, "r4u.unpriced_reason", unpriced_reason(row))  # why it is unknown (reports/metrics.py)
    _put(attrs, "r4u.latency_ms", row.get("latency_ms"))
    if not row.get("stream"):
        _put(attrs, "r4u.time_to_first_byte_ms", row.get("ttft_ms"))


def _content_attributes(attrs: Attributes, row: dict[str, Any], response: Any) -> None:
    """Opt-in message content (stored bodies, already redacted), as JSON strings on the span."""
    route = providers.route(row.get("host") or "", row.get("path") or "")
    if route is None:
        return
    content = providers.genai_content(route.family, stored_json(row.get("request_body")), response)
    for key, name in (
        ("system", "gen_ai.system_instructions"),
        ("messages", "gen_ai.input.messages"),
        ("output", "gen_ai.output.messages"),
        ("tools", "gen_ai.tool.definitions"),
    ):
        if content[key]:
            attrs[name] = json.dumps(content[key], ensure_ascii=False)
