"""Migration: the indexes and full-text search table the UI needs.

Kept apart from schema.py so the UI's needs are visible in one place; migration
`ui_indexes_v1` in store/migrations.py. Importable without Datasette.

Why these indexes: a trace row carries its request and response bodies, so a
full-table scan reads overflow pages for every row and gets slow fast (100k
traces ≈ hundreds of MB). The dashboard index covers every column the dashboard
aggregates, so its queries read the index alone.
"""

from __future__ import annotations

import sqlite3

from r4u_proxy.reports.metrics import ERROR_SQL, UNPRICED_SQL, error_sql, unpriced_sql

# Columns a dashboard filter can name; indexes that serve filtered pages carry them all.
FILTER_COLUMNS = "provider, request_model, response_model, project, task_id"

INDEXES: dict[str, str] = {
    # Dashboard: window filter on started_at; every column it sums, groups or filters on is in the index.
    "idx_traces_dashboard": (
        f"traces(started_at, {FILTER_COLUMNS}, status_code, error, stream, cost_usd, input_tokens, "
        "output_tokens, latency_ms, ttft_ms)"
    ),
    # Tasks: grouped by task (tasks by cost, one task's stats, trend and traces newest first).
    "idx_traces_task_window": (
        "traces(task_id, started_at, cost_usd, input_tokens, output_tokens, latency_ms, ttft_ms, status_code, error)"
    ),
    # Percentiles and slowest calls: walking these in order finds the value at rank k without sorting.
    "idx_traces_latency_window": f"traces(latency_ms, started_at, {FILTER_COLUMNS})",
    "idx_traces_ttft_window": f"traces(ttft_ms, started_at, {FILTER_COLUMNS})",
}

# Recent errors: a partial index holds only the failing calls, so "the latest
# errors" never walks the successful ones. Queries must repeat this exact WHERE
# (reports/metrics.py defines what an error is).
ERROR_CONDITION = ERROR_SQL
ERROR_INDEX = f"CREATE INDEX IF NOT EXISTS idx_traces_errors ON traces(started_at) WHERE {ERROR_CONDITION}"

# Why calls are unpriced (the dashboard's reasons): the same, for the successful calls without a cost, which
# are few; the reason is read from each one's row. Queries repeat UNPRICED_SQL verbatim.
UNPRICED_INDEX = f"CREATE INDEX IF NOT EXISTS idx_traces_unpriced ON traces(started_at) WHERE {UNPRICED_SQL}"

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


# Hourly rollup for the dashboard's long windows: grouping every index entry of a month goes
# through SQLite's sorter, a few thousand pre-summed rows do not (docs/ui.md, "Speed").
# Triggers keep it exact through inserts, updates (repricing, late fields) and deletes.
# Key columns hold '' for NULL because NULLs never conflict in a primary key.
ROLLUP_KEY = "hour, provider, model, project"
ROLLUP_SUMS = (
    "calls", "priced", "unpriced", "cost_usd", "input_tokens", "output_tokens", "errors", "streamed",
    "latency_sum", "latency_n", "ttft_sum", "ttft_n",
)  # fmt: skip
ROLLUP_TABLE = f"""CREATE TABLE IF NOT EXISTS [traces_rollup] (
  hour TEXT, provider TEXT, model TEXT, project TEXT,
  {", ".join(f"{c} {'REAL' if c in ('cost_usd', 'latency_sum', 'ttft_sum') else 'INTEGER'}" for c in ROLLUP_SUMS)},
  PRIMARY KEY ({ROLLUP_KEY})
) WITHOUT ROWID"""


def _rollup_values(row: str) -> list[str]:
    """The key and the per-trace contribution, as SQL expressions over `new` or `old`."""
    return [
        f"coalesce(substr({row}.started_at, 1, 13), '')", f"coalesce({row}.provider, '')",
        f"coalesce({row}.request_model, {row}.response_model, '')", f"coalesce({row}.project, '')",
        "1", f"{row}.cost_usd IS NOT NULL", f"coalesce({unpriced_sql(row)}, 0)", f"coalesce({row}.cost_usd, 0)",
        f"coalesce({row}.input_tokens, 0)",
        f"coalesce({row}.output_tokens, 0)", f"coalesce({error_sql(row)}, 0)",
        f"coalesce({row}.stream, 0)", f"coalesce({row}.latency_ms, 0)", f"{row}.latency_ms IS NOT NULL",
        f"coalesce({row}.ttft_ms, 0)", f"{row}.ttft_ms IS NOT NULL",
    ]  # fmt: skip


def _rollup_add(row: str) -> str:
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLUP_SUMS)
    return (
        f"INSERT INTO [traces_rollup] ({ROLLUP_KEY}, {', '.join(ROLLUP_SUMS)}) "
        f"VALUES ({', '.join(_rollup_values(row))}) ON CONFLICT ({ROLLUP_KEY}) DO UPDATE SET {updates};"
    )


def _rollup_subtract(row: str) -> str:
    values = _rollup_values(row)
    updates = ", ".join(f"{c} = {c} - ({v})" for c, v in zip(ROLLUP_SUMS, values[4:], strict=True))
    key = " AND ".join(f"{c} = {v}" for c, v in zip(ROLLUP_KEY.split(", "), values[:4], strict=True))
    return f"UPDATE [traces_rollup] SET {updates} WHERE {key};"


ROLLUP_COLUMNS = (
    "started_at, provider, request_model, response_model, project, cost_usd, input_tokens, output_tokens, "
    "status_code, error, stream, latency_ms, ttft_ms"
)
ROLLUP_STATEMENTS: list[str] = [
    ROLLUP_TABLE,
    f"CREATE TRIGGER IF NOT EXISTS [traces_rollup_ai] AFTER INSERT ON [traces] BEGIN {_rollup_add('new')} END",
    f"CREATE TRIGGER IF NOT EXISTS [traces_rollup_ad] AFTER DELETE ON [traces] BEGIN {_rollup_subtract('old')} END",
    f"CREATE TRIGGER IF NOT EXISTS [traces_rollup_au] AFTER UPDATE OF {ROLLUP_COLUMNS} ON [traces] "
    f"BEGIN {_rollup_subtract('old')} {_rollup_add('new')} END",
]


def _backfill_rollup(conn: sqlite3.Connection) -> None:
    values = _rollup_values("traces")
    sums = ", ".join(f"sum({v})" for v in values[4:])
    conn.execute(
        f"INSERT INTO [traces_rollup] ({ROLLUP_KEY}, {', '.join(ROLLUP_SUMS)}) "
        f"SELECT {', '.join(values[:4])}, {sums} FROM traces GROUP BY 1, 2, 3, 4"
    )


def add_ui_indexes(conn: sqlite3.Connection) -> None:
    """Migration ui_indexes_v1: the UI's indexes, the FTS table and the rollup; index text already stored."""
    for name, target in INDEXES.items():
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    conn.execute(ERROR_INDEX)
    for statement in FTS_STATEMENTS:
        conn.execute(statement)
    # Rows written before this migration: index them once.
    conn.execute("INSERT INTO [traces_fts] ([traces_fts]) VALUES ('rebuild')")
    rebuild_rollup(conn)
    conn.execute("ANALYZE")


def add_unpriced_index(conn: sqlite3.Connection) -> None:
    """Migration unpriced_index_v1: the partial index the dashboard counts unpriced calls by reason with."""
    conn.execute(UNPRICED_INDEX)


def rebuild_rollup(conn: sqlite3.Connection) -> None:
    """Migration rollup_v2 (the `unpriced` sum); also the rollup part of ui_indexes_v1.

    The rollup is derived data, so a change to what it sums drops it and its triggers and builds
    it again from traces with the current definition.
    """
    for trigger in ("traces_rollup_ai", "traces_rollup_ad", "traces_rollup_au"):
        conn.execute(f"DROP TRIGGER IF EXISTS [{trigger}]")
    conn.execute("DROP TABLE IF EXISTS [traces_rollup]")
    for statement in ROLLUP_STATEMENTS:
        conn.execute(statement)
    _backfill_rollup(conn)
