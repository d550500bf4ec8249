"""Exchange + parsed fields → one `traces` row: ids, timing, redaction, cost.

Runs in the writer process, never on the proxy's event loop.
"""

from __future__ import annotations

import json
from typing import Any

from mitmproxy.net.encoding import decode as decode_body

from r4u_proxy.guard import COUNTERS, log
from r4u_proxy.ids import iso_utc
from r4u_proxy.ingest.client_name import client_name
from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.ingest.parse import analyze
from r4u_proxy.ingest.redact import redact_headers, redact_query, redact_text
from r4u_proxy.ingest.websocket import upgrade_refused, websocket_columns
from r4u_proxy.messages.hashing import HashedRequest
from r4u_proxy.pricing.prices import TOKEN_COLUMNS, price_row

TIMELINE_POINTS = 200
# Read by pricing, stored so that repricing never parses a body (pricing/schema.py).
PRICING_INPUTS = ("service_tier", "cache_write_1h_tokens")
# Text columns searched for key-shaped strings before storage (headers are redacted as they are built).
REDACTED_COLUMNS = ("url", "tags", "request_body", "response_body", "response_raw", "prompt_text", "completion_text", "error")


def _ms(later: float | None, earlier: float | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round(max(later - earlier, 0.0) * 1000, 3)


def _timeline(chunks: list[tuple[float, bytes]], t0: float) -> list[list[float]]:
    """[[ms since the request was sent, bytes], ...], merged down to at most TIMELINE_POINTS."""
    points = [[round((t - t0) * 1000, 1), len(data)] for t, data in chunks]
    if len(points) <= TIMELINE_POINTS:
        return points
    step = len(points) / TIMELINE_POINTS
    merged: list[list[float]] = []
    for i in range(TIMELINE_POINTS):
        group = points[int(i * step) : int((i + 1) * step)] or [points[-1]]
        merged.append([group[0][0], sum(p[1] for p in group)])
    return merged


def _timing(exchange: Exchange, stream: bool, first_content_at: float | None) -> dict[str, Any]:
    t_sent = exchange["t_sent"]
    chunks = exchange["chunks"]
    times = [t for t, _ in chunks]
    first_byte = times[0] if times else exchange.get("t_first_byte")
    timing: dict[str, Any] = {
        "latency_ms": _ms(exchange["t_end"], t_sent),
        "ttft_ms": _ms(first_content_at, t_sent) if stream else _ms(exchange.get("t_first_byte") or first_byte, t_sent),
    }
    if stream:
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        timing["chunk_count"] = len(chunks)
        timing["max_chunk_gap_ms"] = round(max(gaps) * 1000, 3) if gaps else 0.0
        timing["stream_timeline"] = json.dumps(_timeline(chunks, t_sent))
    return timing


def build_row(exchange: Exchange, text: str | None = None, hashed: HashedRequest | None = None) -> dict[str, Any]:
    """`text`, `hashed`: the request body as `request_text` decoded and `redact_text` redacted it, and as the
    session tracker hashed it, when the caller has them (store/batch.py), so none of it is done twice."""
    route = exchange["route"]
    try:
        parsed = analyze(route, exchange, hashed)
    except Exception as exc:  # analyze promises not to raise; belt and braces
        COUNTERS.add("analysis_errors")
        log.exception("r4u: analysis failed for trace %s", exchange["id"])
        parsed = {"parse_note": f"analysis failed: {exc.__class__.__name__}: {exc}"}
    if exchange.get("bodies_lost"):  # see r4u_proxy/store/held.py: a writer died while it held them
        lost = f"the writer process stopped while it held this call's bodies ({exchange['bodies_lost']} bytes)"
        parsed["parse_note"] = f"{lost}; {parsed['parse_note']}" if parsed.get("parse_note") else lost
    if exchange.get("request_truncated"):
        kept = f"capture cap reached: kept {len(exchange['request_body'])} of {exchange['request_bytes']} request bytes"
        parsed["parse_note"] = f"{kept}; {parsed['parse_note']}" if parsed.get("parse_note") else kept
    stream = bool(parsed.get("stream"))
    query = redact_query(exchange["query"])
    host_port = exchange["host"]
    default_port = 443 if exchange["scheme"] == "https" else 80
    if exchange["port"] and exchange["port"] != default_port:
        host_port = f"{host_port}:{exchange['port']}"
    row: dict[str, Any] = {
        "id": exchange["id"],
        "started_at": iso_utc(exchange["t_request_start"]),
        "ended_at": iso_utc(exchange["t_end"]) if exchange.get("t_end") else None,
        "project": exchange.get("project"),
        "tags": json.dumps(exchange["tags"]) if exchange.get("tags") else None,
        "client": exchange.get("client"),
        "client_name": client_name({str(k).lower(): v for k, v in exchange["request_headers"]}),
        "provider": route.provider,
        "operation": route.operation,
        "method": exchange["method"],
        "url": f"{exchange['scheme']}://{host_port}{exchange['path']}" + (f"?{query}" if query else ""),
        "host": exchange["host"],
        "path": exchange["path"],
        "status_code": exchange["status_code"],
        "stream": int(stream),
        "request_headers": json.dumps(redact_headers(exchange["request_headers"])),
        "response_headers": json.dumps(redact_headers(exchange["response_headers"])),
        "request_body": text if text is not None else request_text(exchange),
        "request_bytes": exchange["request_bytes"],
        "response_bytes": exchange["response_bytes"],
        "body_truncated": int(bool(exchange.get("truncated") or exchange.get("request_truncated"))),
        "error": exchange.get("error"),
        **{key: parsed.get(key) for key in PRICING_INPUTS},
    }
    for key in (
        "request_model", "response_model", "response_body", "response_raw", "prompt_text",
        "completion_text", "finish_reason", "parse_note", *TOKEN_COLUMNS,
    ):  # fmt: skip
        if parsed.get(key) is not None:
            row[key] = parsed[key]
    if parsed.get("error"):  # the provider's own error (status >= 400, or inside the stream)
        row["error"] = f"{row['error']}; {parsed['error']}" if row["error"] else parsed["error"]
    row.update(_timing(exchange, stream, parsed.get("first_content_at")))
    websocket_columns(exchange, row)
    upgrade_refused(exchange, row)
    if stream and row.get("output_tokens") and parsed.get("first_content_at") and exchange.get("t_end"):
        seconds = exchange["t_end"] - parsed["first_content_at"]
        if seconds > 0:
            row["output_tokens_per_s"] = round(row["output_tokens"] / seconds, 2)
    _add_cost(row)
    for column in REDACTED_COLUMNS:
        if row.get(column) and not (column == "request_body" and text is not None):  # `text` is redacted
            row[column] = redact_text(row[column])
    return row


def request_text(exchange: Exchange) -> str | None:
    """The request body as text: content-decoded, UTF-8 (a placeholder when it is neither)."""
    body: bytes = exchange["request_body"]
    if not body:
        return None
    encoding = next((v for k, v in exchange["request_headers"] if k.lower() == "content-encoding"), None)
    if encoding and encoding.lower() != "identity":
        try:
            body = decode_body(body, encoding)
        except ValueError:
            return f"<{len(body)} bytes, {encoding}-encoded, not decodable>"
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(body)} bytes of binary data>"


def _add_cost(row: dict[str, Any]) -> None:
    quote = price_row(row)
    row["cost_usd"] = quote.cost_usd
    row["priced_model"] = quote.priced_model
    row["price_source"] = quote.source
