"""What the trace page says about a response that came over a WebSocket: the connection it shared."""

from __future__ import annotations

import sqlite3
from typing import Any


def for_trace(conn: sqlite3.Connection, trace: dict[str, Any]) -> dict[str, Any] | None:
    """The connection's row (None while the writer has not seen its end), and where this response sits in it."""
    connection_id = trace.get("ws_connection_id")
    if not connection_id:
        return None
    info: dict[str, Any] = {"id": connection_id, "url": trace.get("ws_url"), "connection": None}
    try:
        row = conn.execute("select * from websocket_connections where id = ?", [connection_id]).fetchone()
    except sqlite3.OperationalError:  # a file from before the websocket_v1 migration
        row = None
    if row is not None:
        info["connection"] = dict(row)  # Datasette's connections return sqlite3.Row
    ids = [r[0] for r in conn.execute(
        "select id from traces where ws_connection_id = ? order by id", [connection_id])]  # fmt: skip
    info["position"] = ids.index(trace["id"]) + 1 if trace["id"] in ids else None
    info["responses"] = len(ids)
    info["first"] = ids[0] if ids else None
    return info
