"""Row builders shared by the UI tests' sample data and the bench's bulk data (no tests here)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from r4u_proxy.store.migrations import open_db


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _trace_id(moment: datetime, serial: int) -> str:
    """Sortable by time like the real ULIDs: 13-digit ms + a 13-digit serial."""
    return f"{int(moment.timestamp() * 1000):013d}{serial:013d}"


def _openai_headers() -> tuple[str, str]:
    request = {
        "authorization": "Bearer sk-…3f9a (redacted)",
        "content-type": "application/json",
        "user-agent": "OpenAI/Python 3.57.0",
    }
    response = {
        "content-type": "text/event-stream",
        "openai-processing-ms": "212",
        "x-request-id": "req_abc123",
    }
    return json.dumps(request), json.dumps(response)


def base_trace(moment: datetime, serial: int, **fields: Any) -> dict[str, Any]:
    request_headers, response_headers = _openai_headers()
    row: dict[str, Any] = {
        "id": _trace_id(moment, serial),
        "started_at": _iso(moment),
        "project": "default",
        "provider": "openai",
        "operation": "chat",
        "method": "POST",
        "url": "https://api.openai.com/v1/chat/completions",
        "host": "api.openai.com",
        "path": "/v1/chat/completions",
        "status_code": 200,
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "stream": 0,
        "request_headers": request_headers,
        "response_headers": response_headers,
        "latency_ms": 800.0,
        "ttft_ms": 300.0,
        "input_tokens": 120,
        "output_tokens": 40,
        "cost_usd": 0.000042,
        "finish_reason": "stop",
        "priced_model": "gpt-4o-mini",
    }
    row.update(fields)
    return row


def chat_body(messages: list[dict], model: str = "gpt-4o-mini", **extra: Any) -> str:
    return json.dumps({"model": model, "messages": messages, **extra})


def openai_response(
    content: str | None, tool_calls: list | None = None, model: str = "gpt-4o-mini-2024-07-18"
) -> str:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
        }
    )


def insert_rows(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = sorted({key for row in rows for key in row})
    marks = ",".join("?" * len(columns))
    names = ",".join(f"[{c}]" for c in columns)
    with conn:
        conn.executemany(
            f"insert into {table} ({names}) values ({marks})", [[row.get(c) for c in columns] for row in rows]
        )


def open_ui_db(path: str | Path) -> sqlite3.Connection:
    """A traces.db with every migration applied, the UI's indexes and full-text search included."""
    return open_db(path)
