"""Trace rows made the way the proxy makes them, for tests and the UI bench.

A test describes a call as the recorder would have seen it: an Exchange (addons/recorder.py's
shape: request and response bytes, headers, the arrival time of every chunk), and `write()` runs
it through the writer's own row builder (`r4u_proxy.ingest.row.build_row`: parsing, reassembly,
redaction, timing, pricing with genai-prices) and inserts the row as the writer does. So a row
holds exactly what a recorded call would: a cost only when usage was reported, a fingerprinted
key, a ttft where the first content arrived.

    db = open_db(path)
    write(db, [call(OPENAI_CHAT, chat_request("hi"), chat_response("hello", usage=(12, 3)), at=now)])
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from r4u_proxy import pricing
from r4u_proxy.ids import ulid
from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.ingest.row import build_row
from r4u_proxy.providers import route
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR, split_events
from r4u_proxy.store.batch import BatchWriter
from r4u_proxy.store.schema import trace_columns

OPENAI_CHAT = ("api.openai.com", "/v1/chat/completions")
OPENAI_RESPONSES = ("api.openai.com", "/v1/responses")
ANTHROPIC_MESSAGES = ("api.anthropic.com", "/v1/messages")


def gemini_generate(model: str, stream: bool = False) -> tuple[str, str]:
    action = "streamGenerateContent" if stream else "generateContent"
    return "generativelanguage.googleapis.com", f"/v1beta/models/{model}:{action}"


API_KEY = "sk-0123456789abcdef3f9a"  # fingerprinted to "sk-…3f9a #dcf64dc0" before storage
JSON = "application/json"
EVENT_STREAM = "text/event-stream"


def recording(name: str) -> bytes:
    """A recorded response body shipped with the simulator (sources in its MANIFEST.tsv)."""
    return (RECORDINGS_DIR / name).read_bytes()


def sse(*events: dict[str, Any] | str, done: bool = True) -> bytes:
    """An event stream of these JSON payloads (`data: ...` each), ended by `data: [DONE]`."""
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return "".join([*lines, "data: [DONE]\n\n" if done else ""]).encode()


def chat_request(*messages: dict[str, Any] | str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    turns = [{"role": "user", "content": m} if isinstance(m, str) else m for m in messages]
    return {"model": model, "messages": turns, **extra}


def chat_response(
    content: str | None,
    *,
    usage: tuple[int, int] | None = (120, 40),
    tool_calls: list[dict[str, Any]] | None = None,
    model: str = "gpt-4o-mini-2024-07-18",
    **extra: Any,
) -> dict[str, Any]:
    """An OpenAI chat.completion body; `usage` is (prompt_tokens, completion_tokens) or None."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        **extra,
    }
    if usage is not None:
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}
    return body


def call(
    where: tuple[str, str],
    request: dict[str, Any] | bytes | None,
    response: dict[str, Any] | bytes | list[bytes] | None,
    *,
    at: float,
    status: int = 200,
    latency_ms: float = 800.0,
    ttft_ms: float = 300.0,
    chunk_ms: Sequence[float] | None = None,
    content_type: str | None = None,
    project: str | None = None,
    tags: dict[str, Any] | None = None,
    error: str | None = None,
    query: str = "",
    request_headers: Sequence[tuple[str, str]] = (),
    trace_id: str | None = None,
) -> Exchange:
    """One call as the recorder hands it over. `at`: when the request started (time.time()).

    A dict response is sent as one JSON body whose first byte arrives at `ttft_ms`; bytes are an
    event stream (unless `content_type` says otherwise) cut into events as received, and a list of
    bytes arrives as exactly those chunks; the first at `ttft_ms`, the last at `latency_ms`, unless
    `chunk_ms` gives each one's arrival. `status` None with `error`: no response arrived. `trace_id`
    replaces the ULID the recorder would give the call.
    """
    host, path = where
    body = json.dumps(request).encode() if isinstance(request, dict) else (request or b"")
    headers = [("content-type", JSON), ("authorization", f"Bearer {API_KEY}"), *request_headers]
    t_sent = at + 0.001
    exchange: Exchange = {
        "id": trace_id or ulid(at), "route": route(host, path), "project": project, "tags": tags, "client": "127.0.0.1:50000",
        "method": "POST", "scheme": "https", "host": host, "port": 443, "path": path, "query": query,
        "request_headers": headers, "request_body": body, "request_bytes": len(body), "request_truncated": False,
        "t_request_start": at, "t_sent": t_sent,
        "status_code": None, "response_headers": [], "t_first_byte": None, "chunks": [], "response_bytes": 0,
        "truncated": False, "t_end": t_sent + latency_ms / 1000, "error": error, "bodies_lost": 0,
    }  # fmt: skip
    if status is None or response is None:
        return exchange
    if isinstance(response, dict):
        data, kind = json.dumps(response).encode(), content_type or JSON
        pieces, times = [data], [latency_ms]
    else:
        data = b"".join(response) if isinstance(response, list) else response
        kind = content_type or EVENT_STREAM
        if isinstance(response, list):
            pieces = response
        else:
            pieces = split_events(data) if kind == EVENT_STREAM else [data]
        times = list(chunk_ms) if chunk_ms is not None else _spread(len(pieces), ttft_ms, latency_ms)
        if len(times) != len(pieces):
            raise ValueError(f"{len(pieces)} chunks but {len(times)} arrival times")
    exchange.update(
        status_code=status,
        response_headers=[("content-type", kind), ("x-request-id", "req_0001")],
        t_first_byte=t_sent + ttft_ms / 1000,
        chunks=[(t_sent + ms / 1000, piece) for ms, piece in zip(times, pieces, strict=True)],
        response_bytes=len(data),
    )
    return exchange


def _spread(n: int, first_ms: float, last_ms: float) -> list[float]:
    if n == 1:
        return [last_ms]
    return [first_ms + (last_ms - first_ms) * i / (n - 1) for i in range(n)]


def build(exchanges: Iterable[Exchange], prices_file: Path | None = None) -> list[dict[str, Any]]:
    """The rows the writer would store for these exchanges, priced by genai-prices and `prices_file`
    (a prices.toml of overrides; never the user's own)."""
    pricing.configure(prices_file)
    return [build_row(exchange) for exchange in exchanges]


def write(
    conn: sqlite3.Connection, exchanges: Iterable[Exchange], prices_file: Path | None = None
) -> list[dict[str, Any]]:
    """Build and insert the rows as the writer stores them (one batch, content storage); returns them."""
    rows = build(exchanges, prices_file)
    columns = trace_columns(conn)
    BatchWriter(conn).insert_built([{column: row.get(column) for column in columns} for row in rows])
    return rows


def assign_task(
    conn: sqlite3.Connection, task: dict[str, Any], members: Sequence[tuple[str, dict[str, str]]]
) -> None:
    """What grouping writes for a task it found: the tasks row, and each member's task_id and variables.

    `members` holds (trace id, variable values). Stats columns are left to `refresh_task_stats`.
    """
    columns = {**task, "trace_count": len(members)}
    with conn:
        conn.execute(
            f"INSERT INTO tasks ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            list(columns.values()),
        )
        conn.executemany(
            "UPDATE traces SET task_id = ?, template_vars = ? WHERE id = ?",
            [(task["id"], json.dumps(values), trace_id) for trace_id, values in members],
        )


def read_rows(db: Path, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows a query returns from the database file at `db`, as dicts, on a connection of its own."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()
