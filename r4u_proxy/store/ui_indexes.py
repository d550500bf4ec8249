"""Migration: the indexes and full-text search table the UI needs.

Kept apart from schema.py so the UI's needs are visible in one place; it is
appended to `MIGRATIONS` in schema.py. Importable without Datasette.

Why these indexes: a trace row carries its request and response bodies, so a
full-table scan reads overflow pages for every row and gets slow fast (100k
traces ≈ hundreds of MB). The dashboard index covers every column the dashboard
aggregates, so its queries read the index alone.
"""

from __future__ import annotations

import sqlite3

INDEXES: dict[str, str] = {
    # Dashboard: window filter on started_at, everything it sums/groups is in the index.
    "idx_traces_dashboard": (
        "traces(started_at, provider, request_model, response_model, project, task_id, status_code, "
        "error, stream, cost_usd, input_tokens, output_tokens, latency_ms, ttft_ms)"
    ),
    # Tasks by cost and a task's stats: grouped by task without reading rows.
    "idx_traces_task_stats": "traces(task_id, cost_usd, latency_ms, ttft_ms, input_tokens, output_tokens, status_code, error)",
    # A task's traces newest first (paginated) and its daily trend, without reading rows.
    "idx_traces_task_started": "traces(task_id, started_at, cost_usd, input_tokens, output_tokens, status_code, error)",
    # Slowest calls.
    "idx_traces_latency": "traces(latency_ms)",
}

# Recent errors: a partial index holds only the failing calls, so "the latest
# errors" never walks the successful ones. Queries must repeat this exact WHERE.
ERROR_CONDITION = "(status_code >= 400 OR error IS NOT NULL)"
ERROR_INDEX = f"CREATE INDEX IF NOT EXISTS idx_traces_errors ON traces(started_at) WHERE {ERROR_CONDITION}"

# External-content FTS5 over the prompt and the completion: the text lives once,
# in traces; triggers keep the index in step with the writer's inserts. The update
# trigger fires only when the indexed text changes, not when grouping sets task_id.
FTS_STATEMENTS: list[str] = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS [traces_fts] USING FTS5 ("
    "[prompt_text], [completion_text], content=[traces])",
    """CREATE TRIGGER IF NOT EXISTS [traces_ai] AFTER INSERT ON [traces] BEGIN
  INSERT INTO [traces_fts] (rowid, [prompt_text], [completion_text])
  VALUES (new.rowid, new.[prompt_text], new.[completion_text]);
END""",
    """CREATE TRIGGER IF NOT EXISTS [traces_ad] AFTER DELETE ON [traces] BEGIN
  INSERT INTO [traces_fts] ([traces_fts], rowid, [prompt_text], [completion_text])
  VALUES ('delete', old.rowid, old.[prompt_text], old.[completion_text]);
END""",
    """CREATE TRIGGER IF NOT EXISTS [traces_au] AFTER UPDATE OF [prompt_text], [completion_text] ON [traces] BEGIN
  INSERT INTO [traces_fts] ([traces_fts], rowid, [prompt_text], [completion_text])
  VALUES ('delete', old.rowid, old.[prompt_text], old.[completion_text]);
  INSERT INTO [traces_fts] (rowid, [prompt_text], [completion_text])
  VALUES (new.rowid, new.[prompt_text], new.[completion_text]);
END""",
]


def add_ui_indexes(conn: sqlite3.Connection) -> None:
    """Create the UI's indexes and the FTS table; index text already stored."""
    for name, target in INDEXES.items():
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    conn.execute(ERROR_INDEX)
    for statement in FTS_STATEMENTS:
        conn.execute(statement)
    # Rows written before this migration: index them once.
    conn.execute("INSERT INTO [traces_fts] ([traces_fts]) VALUES ('rebuild')")
    conn.execute("ANALYZE")
