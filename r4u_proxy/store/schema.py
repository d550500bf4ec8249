"""The contract tables of traces.db: `traces` and `tasks`, and the migration that creates them.

Column names in `traces` and `tasks` are part of r4u's public contract (see
docs/architecture.md): tools outside the code query them. Add columns with a new
migration (store/migrations.py says how); never rename or drop one.
"""

from __future__ import annotations

import sqlite3

TRACE_COLUMNS: dict[str, str] = {
    # --- contract columns -------------------------------------------------------
    "id": "TEXT PRIMARY KEY",  # ULID: sorts by time
    "started_at": "TEXT",  # ISO-8601 UTC with ms, e.g. 2026-11-27T04:17:14.123Z
    "project": "TEXT",
    "provider": "TEXT",  # openai | anthropic | gemini | openai_compatible | unknown
    "operation": "TEXT",  # chat | responses | messages | generate_content | embeddings | completions | ...
    "method": "TEXT",
    "url": "TEXT",  # secrets in the query string redacted
    "host": "TEXT",
    "path": "TEXT",
    "status_code": "INTEGER",
    "request_model": "TEXT",
    "response_model": "TEXT",
    "stream": "INTEGER",
    "request_headers": "TEXT",  # JSON object, secrets replaced by fingerprints
    "response_headers": "TEXT",
    "request_body": "TEXT",
    "response_body": "TEXT",  # for streams: reassembled into the provider's non-streaming shape
    "latency_ms": "REAL",  # request sent upstream -> last byte received
    "ttft_ms": "REAL",  # streams: first generated content; otherwise first byte
    "input_tokens": "INTEGER",
    "output_tokens": "INTEGER",
    "cache_read_tokens": "INTEGER",
    "cache_write_tokens": "INTEGER",
    "reasoning_tokens": "INTEGER",
    "cost_usd": "REAL",  # NULL when the price is unknown, never 0 for unknown
    "finish_reason": "TEXT",
    "error": "TEXT",
    "prompt_text": "TEXT",
    "completion_text": "TEXT",
    "task_id": "TEXT",
    # --- r4u's own columns ------------------------------------------------------
    "ended_at": "TEXT",
    "tags": "TEXT",  # JSON object
    "client": "TEXT",  # client address host:port
    "request_bytes": "INTEGER",
    "response_bytes": "INTEGER",  # bytes received from upstream (before content-decoding)
    "response_raw": "TEXT",  # streams: the raw event stream as received (decoded text), up to the capture cap
    "body_truncated": "INTEGER",  # 1 when a body exceeded the capture cap and was cut
    "parse_note": "TEXT",  # why a body could not be (fully) understood; the traffic itself was not touched
    "chunk_count": "INTEGER",
    "max_chunk_gap_ms": "REAL",
    "output_tokens_per_s": "REAL",
    "stream_timeline": "TEXT",  # JSON [[ms since request sent, bytes], ...], thinned to <= 200 points
    "priced_model": "TEXT",
    "price_source": "TEXT",
    "template_vars": "TEXT",  # JSON object: the task template's variable values for this trace
}

TASK_COLUMNS: dict[str, str] = {
    "id": "TEXT PRIMARY KEY",
    "template": "TEXT",  # text with {name} placeholders
    "trace_count": "INTEGER",
    "first_seen": "TEXT",
    "last_seen": "TEXT",
    "signature": "TEXT",  # the cheap partition key (provider, operation, roles, tools)
    "variables": "TEXT",  # JSON list of variable names in template order
    "updated_at": "TEXT",
}


def trace_columns(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The columns `traces` has in this file: the contract's and those later migrations added."""
    return tuple(row[1] for row in conn.execute("PRAGMA table_info(traces)"))


def add_columns(conn: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """`ALTER TABLE ... ADD COLUMN` for each of `columns` the table lacks (for a migration)."""
    existing = {row[1] for row in conn.execute(f"PRAGMA table_info([{table}])")}
    for column, decl in columns.items():
        if column not in existing:
            conn.execute(f"ALTER TABLE [{table}] ADD COLUMN [{column}] {decl}")


def _create_table(name: str, columns: dict[str, str]) -> str:
    cols = ",\n  ".join(f"[{col}] {decl}" for col, decl in columns.items())
    return f"CREATE TABLE IF NOT EXISTS [{name}] (\n  {cols}\n)"


def contract_v1(conn: sqlite3.Connection) -> None:
    conn.execute(_create_table("traces", TRACE_COLUMNS))
    conn.execute(_create_table("tasks", TASK_COLUMNS))
    for column in ("started_at", "task_id", "request_model", "project", "provider"):
        conn.execute(f"CREATE INDEX IF NOT EXISTS idx_traces_{column} ON traces([{column}])")
