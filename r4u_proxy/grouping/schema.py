"""The columns and table grouping adds to traces.db: migration `grouping_v1` (see store/migrations.py)."""

from __future__ import annotations

import sqlite3

# Per-task columns beyond the contract's (id, template, trace_count, first_seen, last_seen, signature,
# variables, updated_at).
TASK_STATS_COLUMNS: dict[str, str] = {
    "segments": "TEXT",  # JSON list: the template's constant texts, exactly (the variables sit between)
    "models": "TEXT",  # JSON list of response (or request) models seen
    "total_cost_usd": "REAL",
    "mean_cost_usd": "REAL",
    "input_tokens": "INTEGER",
    "output_tokens": "INTEGER",
    "p50_latency_ms": "REAL",
    "p95_latency_ms": "REAL",
    "error_count": "INTEGER",
    "error_rate": "REAL",
    "example_trace_id": "TEXT",
}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info([{table}])")}


def grouping_v1(conn: sqlite3.Connection) -> None:
    """Task stats columns, and the grouping process's bookmark (the last trace rowid it has seen)."""
    existing = _columns(conn, "tasks")
    for column, decl in TASK_STATS_COLUMNS.items():
        if column not in existing:
            conn.execute(f"ALTER TABLE tasks ADD COLUMN [{column}] {decl}")
    conn.execute("CREATE TABLE IF NOT EXISTS grouping_state (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_traces_task_id ON traces(task_id)")
