"""What WebSocket recording adds to traces.db (migration `websocket_v1`): audio token columns, WebSocket
columns on traces, and one row per connection in `websocket_connections`.
"""

from __future__ import annotations

import sqlite3

from r4u_proxy.store.schema import add_columns

WEBSOCKET_TRACE_COLUMNS: dict[str, str] = {
    "input_audio_tokens": "INTEGER",  # part of input_tokens (the Realtime API, Gemini Live)
    "output_audio_tokens": "INTEGER",  # part of output_tokens
    "cache_audio_read_tokens": "INTEGER",  # part of cache_read_tokens
    "ws_connection_id": "TEXT",  # websocket_connections.id of the connection that carried this response
    "ws_url": "TEXT",  # the upgrade URL, secrets in the query redacted
    "ws_messages_sent": "INTEGER",  # client messages that led to this response
    "ws_messages_received": "INTEGER",  # server messages that answered it
}

CONNECTION_COLUMNS: dict[str, str] = {
    "id": "TEXT PRIMARY KEY",  # ULID of the upgrade request
    "started_at": "TEXT",
    "ended_at": "TEXT",  # NULL while the connection is open
    "duration_ms": "REAL",  # upgrade answered -> closed
    "project": "TEXT",
    "provider": "TEXT",
    "operation": "TEXT",  # responses | realtime | live
    "url": "TEXT",
    "host": "TEXT",
    "path": "TEXT",
    "client": "TEXT",
    "status_code": "INTEGER",  # of the upgrade: 101
    "request_headers": "TEXT",
    "response_headers": "TEXT",
    "messages_sent": "INTEGER",  # client -> server
    "messages_received": "INTEGER",  # server -> client
    "bytes_sent": "INTEGER",
    "bytes_received": "INTEGER",
    "binary_messages_sent": "INTEGER",
    "binary_messages_received": "INTEGER",
    "audio_ms_sent": "REAL",  # inline audio, where its format says how long it plays
    "audio_ms_received": "REAL",
    "malformed_messages": "INTEGER",  # not JSON, or cut at the capture cap
    "lost_messages": "INTEGER",  # not recorded because the writer's queue was full
    "responses": "INTEGER",  # traces written for this connection
    "close_code": "INTEGER",  # 1000 normal, 1006 dropped without a close frame, ...
    "close_reason": "TEXT",
    "closed_by": "TEXT",  # client | server
    "error": "TEXT",
}


def websocket_v1(conn: sqlite3.Connection) -> None:
    add_columns(conn, "traces", WEBSOCKET_TRACE_COLUMNS)
    cols = ",\n  ".join(f"[{col}] {decl}" for col, decl in CONNECTION_COLUMNS.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS websocket_connections (\n  {cols}\n)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_traces_ws_connection_id ON traces(ws_connection_id)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_websocket_connections_started_at ON websocket_connections(started_at)")

