"""JSONL (one trace a line, every column as stored) and HAR 1.2 (one entry a call), written as they are
read: a batch at a time, so a large database never sits in memory.

HAR: headers are the stored (redacted) ones; a stream's response text is its raw event stream
(`response_raw`) as received, so DevTools shows the events; request bodies are the stored text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

from r4u_proxy import __version__
from r4u_proxy.reports.metrics import unpriced_reason

PRIVATE_KEYS = ("_rowid", "_task_name", "_task_template")
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 408: "Request Timeout", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded"}  # fmt: skip


def write_jsonl(batches: Iterable[list[dict[str, Any]]], out: IO[str]) -> int:
    count = 0
    for rows in batches:
        for row in rows:
            out.write(json.dumps({k: v for k, v in row.items() if k not in PRIVATE_KEYS}, ensure_ascii=False))
            out.write("\n")
            count += 1
    return count


def _headers(text: str | None) -> list[dict[str, str]]:
    try:
        headers = json.loads(text or "{}")
    except ValueError:
        return []
    return [{"name": k, "value": str(v)} for k, v in headers.items()] if isinstance(headers, dict) else []


def _header(headers: list[dict[str, str]], name: str, default: str) -> str:
    return next((h["value"] for h in headers if h["name"].lower() == name), default)


def har_entry(row: dict[str, Any]) -> dict[str, Any]:
    request_headers = _headers(row.get("request_headers"))
    response_headers = _headers(row.get("response_headers"))
    request_text = row.get("request_body") or ""
    stream = bool(row.get("stream"))
    response_text = (row.get("response_raw") if stream else None) or row.get("response_body") or ""
    status = row.get("status_code") or 0
    latency = float(row.get("latency_ms") or 0.0)
    wait = min(float(row.get("ttft_ms") or 0.0), latency)
    entry: dict[str, Any] = {
        "startedDateTime": row["started_at"],
        "time": latency,
        "request": {
            "method": row.get("method") or "POST",
            "url": row.get("url") or "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": request_headers,
            "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(row.get("url") or "").query)],
            "headersSize": -1,
            "bodySize": row.get("request_bytes") if row.get("request_bytes") is not None else -1,
        },
        "response": {
            "status": status,
            "statusText": _REASONS.get(status, ""),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": response_headers,
            "content": {
                "size": len(response_text.encode()),
                "mimeType": _header(response_headers, "content-type", "application/octet-stream"),
                "text": response_text,
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": row.get("response_bytes") if row.get("response_bytes") is not None else -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": wait, "receive": max(latency - wait, 0.0)},
        "_r4u": {**{k: row.get(k) for k in ("id", "provider", "operation", "request_model", "project",
                                             "input_tokens", "output_tokens", "cost_usd", "error")},
                 "unpriced_reason": unpriced_reason(row)},  # fmt: skip
    }
    if request_text:
        mime = _header(request_headers, "content-type", "application/json")
        entry["request"]["postData"] = {"mimeType": mime, "text": request_text}
    if row.get("error"):
        entry["comment"] = row["error"]
    return entry


def write_har(batches: Iterable[list[dict[str, Any]]], out: IO[str]) -> int:
    """A HAR 1.2 document, streamed: the entries are written one by one between header and footer."""
    creator = json.dumps({"name": "r4u", "version": __version__})
    out.write(f'{{"log": {{"version": "1.2", "creator": {creator}, "entries": [\n')
    count = 0
    for rows in batches:
        for row in rows:
            out.write(",\n" if count else "")
            out.write(json.dumps(har_entry(row), ensure_ascii=False))
            count += 1
    out.write("\n]}}\n")
    return count
