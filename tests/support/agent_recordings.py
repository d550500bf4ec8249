"""Recorded agent sessions (tests/fixtures/agents): load them, and run them through the writer's steps.

`replay(db, calls)` does what the writer process does with each exchange — build_row, the session tracker,
the insert — without a proxy, so a test can check session inference on real client traffic in milliseconds.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import sqlite_utils

from r4u_proxy.ids import ulid
from r4u_proxy.ingest.row import build_row
from r4u_proxy.providers import route
from r4u_proxy.sessions.schema import SESSION_COLUMNS
from r4u_proxy.sessions.tracker import SessionTracker
from r4u_proxy.store.migrations import open_db
from r4u_proxy.store.schema import TRACE_COLUMNS
from support.rows import read_rows

AGENTS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "agents"
EXPLICIT_ID_HEADERS = ("x-claude-code-session-id", "session-id", "session_id", "conversation_id")


def load(name: str) -> list[dict[str, Any]]:
    with gzip.open(AGENTS_DIR / f"{name}.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def without_ids(call: dict[str, Any]) -> dict[str, Any]:
    """The same call with every session id the client sent removed: only inference is left."""
    headers = {k: v for k, v in call["request_headers"].items() if k not in EXPLICIT_ID_HEADERS}
    body = json.loads(call["request_body"])
    if isinstance(body.get("metadata"), dict):
        body["metadata"].pop("user_id", None)
    return {**call, "request_headers": headers, "request_body": json.dumps(body, ensure_ascii=False)}


def exchange(call: dict[str, Any], at: float, project: str | None = None, **extra: Any) -> dict[str, Any]:
    body = (call["response_body"] or "").encode()
    request_body = call["request_body"].encode()
    response_headers = [("content-type", call.get("response_content_type") or "application/json")]
    return {
        "id": ulid(at), "route": route(call["host"], call["path"]), "project": project, "tags": None,
        "client": "127.0.0.1:50000", "method": call["method"], "scheme": "https", "host": call["host"],
        "port": 443, "path": call["path"], "query": "", "request_headers": list(call["request_headers"].items()),
        "request_body": request_body, "request_bytes": len(request_body), "request_truncated": False,
        "t_request_start": at, "t_sent": at,
        "status_code": call["status_code"], "response_headers": response_headers, "t_first_byte": at + 0.05,
        "chunks": [(at + 0.05, body)] if body else [], "response_bytes": len(body), "truncated": False,
        "t_end": at + 0.1, "error": None, "bodies_lost": 0, **extra,
    }  # fmt: skip


def replay(db: Path, exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write exchanges as the writer process would; returns the rows in trace-id order."""
    conn = open_db(db)
    tracker = SessionTracker(conn)
    columns = (*TRACE_COLUMNS, *SESSION_COLUMNS)
    rows = [{c: r.get(c) for c in columns} for r in map(build_row, exchanges)]
    tracker.assign(rows, exchanges)
    sqlite_utils.Database(conn).table("traces").insert_all(rows)
    conn.close()
    return read(db)


def read(db: Path) -> list[dict[str, Any]]:
    return read_rows(db, "select * from traces order by id")
