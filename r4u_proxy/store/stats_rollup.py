"""Migration `stats_rollup_v1`: what `r4u stats` reads instead of every call in its window.

`r4u stats` shows, per model, project and task, sums (calls, errors, spend, five token counts) and the p50
and p95 of latency and TTFT over a window of `started_at`, without reading every call of the window:

- `stats_totals` holds the sums per (model, project, task) over all history, `stats_rollup` per
  (model, project, task, hour); both are kept exact by triggers on trace_rows through inserts, updates
  (grouping assigning tasks, repricing) and deletes (`r4u prune`), like the tasks list's rollup
  (task_rollup.py). A window is its whole hours from stats_rollup plus the calls of its first, partial hour
  read from trace_rows. NULL keys are stored as '' (NULLs never conflict in a primary key).
- Among the sums, each metric's calls per value range (BOUNDS): they say which range a percentile's rank
  falls in, and how many of the group's values lie below it.
- The percentile indexes order each grouping's calls by latency and by TTFT (started_at last, for
  windows): the nearest-rank value is then `ORDER BY … LIMIT 1 OFFSET k` within the group and that range,
  a short walk along the index, not a sort (reports/stats_percentiles.py). The total's are the
  dashboard's `idx_traces_latency_window` and `idx_traces_ttft_window` (ui_indexes.py).

It replaces `stats_index_v1` (one wide index in group order, retired): that still read every call.
"""

from __future__ import annotations

import sqlite3

from r4u_proxy.reports.metrics import error_sql
from r4u_proxy.store.content.schema import TRACE_TABLE

TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
METRICS = ("latency_ms", "ttft_ms")

# Each metric's calls are also counted per value range: bucket i holds BOUNDS[i-1] <= value < BOUNDS[i]
# (bucket 0 everything below BOUNDS[0], the last everything from BOUNDS[-1]). Summed over a window they
# say, exactly, how many of a group's values lie below each bound, so a percentile's walk starts at its
# bucket instead of the group's first value. Geometric (x1.6, 8 ms to 400 s): a bucket holds a fraction
# of a typical group; whole milliseconds, so that SQL and Python compare the same numbers.
BOUNDS = tuple(round(8 * 1.6**i) for i in range(24))


def bucket_columns(metric: str) -> list[str]:
    return [f"{metric.removesuffix('_ms')}_b{i}" for i in range(len(BOUNDS) + 1)]


def bucket_range(i: int) -> tuple[int | None, int | None]:
    """Bucket i's bounds (low inclusive, high exclusive); None: unbounded."""
    return (BOUNDS[i - 1] if i else None, BOUNDS[i] if i < len(BOUNDS) else None)


def _bucket_sql(value: str, i: int) -> str:
    low, high = bucket_range(i)
    parts = [f"{value} >= {low}"] if low is not None else []
    parts += [f"{value} < {high}"] if high is not None else [f"{value} IS NOT NULL"]
    return f"coalesce({' AND '.join(parts)}, 0)"


BUCKETS = tuple(c for metric in METRICS for c in bucket_columns(metric))
SUMS = ("calls", "errors", "priced", "spend_usd", *TOKENS, *BUCKETS)
WATCHED = (
    "request_model, response_model, project, task_id, started_at, status_code, error, cost_usd, "
    f"{', '.join(TOKENS)}, latency_ms, ttft_ms"
)


# The SQL that names a call's group, per grouping, as the rollup stores it ('' for none). A walk must count
# exactly the calls the rollup counted: see INDEX_SQL.
def group_sql(grouping: str, row: str = "") -> str:
    p = f"{row}." if row else ""
    if grouping == "model":
        return f"coalesce({p}request_model, {p}response_model, '')"
    return f"coalesce({p}{'task_id' if grouping == 'task' else grouping}, '')"


GROUPINGS = ("model", "project", "task")
GROUP_SQL = {grouping: group_sql(grouping) for grouping in GROUPINGS}
TOTAL_INDEXES = {"latency_ms": "idx_traces_latency_window", "ttft_ms": "idx_traces_ttft_window"}


def percentile_index(grouping: str, metric: str) -> str:
    return f"idx_stats_{grouping}_{metric.removesuffix('_ms')}"


# What a percentile index orders each grouping by. A project or a task id is never '' (addons/project.py,
# grouping's ids), so their indexes are on the plain columns, where they also serve every `project = ?` and
# `task_id = ?` (stats_rollup_v1 drops the single-column indexes they replace). They leave out the calls
# with none: those entries would repeat the total's index, which holds both columns, and a walk for the
# '' group goes along that one (reports/stats_percentiles.py).
INDEX_SQL = {"model": GROUP_SQL["model"], "project": "project", "task": "task_id"}
PARTIAL = {"project", "task"}


def _percentile_index_sql(grouping: str, metric: str) -> str:
    expr = INDEX_SQL[grouping]
    where = f" WHERE {expr} IS NOT NULL" if grouping in PARTIAL else ""
    return f"CREATE INDEX IF NOT EXISTS {percentile_index(grouping, metric)} ON {TRACE_TABLE}({expr}, {metric}, started_at){where}"


REPLACED_INDEXES = ("idx_traces_stats", "idx_traces_project", "idx_traces_task_id")

# table -> its key columns: per hour for windows, and all history at once (what `r4u stats` shows by default)
TABLES = {
    "stats_rollup": ("model", "project", "task_id", "hour"),
    "stats_totals": ("model", "project", "task_id"),
}


def _create(table: str) -> str:
    keys = TABLES[table]
    columns = [f"{k} TEXT NOT NULL" for k in keys] + [
        f"{c} {'REAL' if c == 'spend_usd' else 'INTEGER'}" for c in SUMS
    ]
    return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)}, PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID"


def rollup_values(row: str) -> list[str]:
    """One call's key (model, project, task, hour) and contribution to SUMS, as SQL over `new`, `old` or
    the table."""
    p = f"{row}."
    return [
        *(group_sql(grouping, row) for grouping in GROUPINGS), f"coalesce(substr({p}started_at, 1, 13), '')",
        "1", f"coalesce({error_sql(row)}, 0)", f"{p}cost_usd IS NOT NULL", f"coalesce({p}cost_usd, 0)",
        *(f"coalesce({p}{t}, 0)" for t in TOKENS),
        *(_bucket_sql(f"{p}{metric}", i) for metric in METRICS for i in range(len(BOUNDS) + 1)),
    ]  # fmt: skip


def _key_values(table: str, row: str) -> list[str]:
    return rollup_values(row)[: len(TABLES[table])]


def _add(table: str, row: str) -> str:
    keys = ", ".join(TABLES[table])
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in SUMS)
    values = [*_key_values(table, row), *rollup_values(row)[4:]]
    return (
        f"INSERT INTO {table} ({keys}, {', '.join(SUMS)}) VALUES ({', '.join(values)}) "
        f"ON CONFLICT ({keys}) DO UPDATE SET {updates};"
    )


def _subtract(table: str, row: str) -> str:
    updates = ", ".join(f"{c} = {c} - ({v})" for c, v in zip(SUMS, rollup_values(row)[4:], strict=True))
    key = " AND ".join(f"{c} = {v}" for c, v in zip(TABLES[table], _key_values(table, row), strict=True))
    # a task merged into another leaves no empty rows behind
    return f"UPDATE {table} SET {updates} WHERE {key}; DELETE FROM {table} WHERE {key} AND calls = 0;"


def _triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_ai AFTER INSERT ON {TRACE_TABLE} BEGIN {_add(table, 'new')} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_ad AFTER DELETE ON {TRACE_TABLE} BEGIN {_subtract(table, 'old')} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_au AFTER UPDATE OF {WATCHED} ON {TRACE_TABLE} "
        f"BEGIN {_subtract(table, 'old')} {_add(table, 'new')} END",
    ]


def stats_rollup_v1(conn: sqlite3.Connection) -> None:
    values = rollup_values(TRACE_TABLE)
    for table, keys in TABLES.items():
        for statement in (_create(table), *_triggers(table)):
            conn.execute(statement)
        conn.execute(f"DELETE FROM {table}")
        conn.execute(
            f"INSERT INTO {table} ({', '.join(keys)}, {', '.join(SUMS)}) "
            f"SELECT {', '.join(values[: len(keys)])}, {', '.join(f'sum({v})' for v in values[4:])} "
            f"FROM {TRACE_TABLE} GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}"
        )
    _create_percentile_indexes(conn, [(grouping, metric) for grouping in INDEX_SQL for metric in METRICS])
    for name in REPLACED_INDEXES:  # stats_index_v1's (no longer read), and prefixes of the ones above
        conn.execute(f"DROP INDEX IF EXISTS {name}")


def _create_percentile_indexes(conn: sqlite3.Connection, which: list[tuple[str, str]]) -> None:
    for grouping, metric in which:
        conn.execute(_percentile_index_sql(grouping, metric))
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        # ui_indexes_v1 ran ANALYZE: without statistics of their own the new indexes would be planned blind
        for grouping, metric in which:
            conn.execute(f"ANALYZE {percentile_index(grouping, metric)}")


# A window reads the rollup's hours on the side of its cutoff that has fewer (reports/stats.py): by this index,
# not a scan of every row, each ~60 sums wide.
HOUR_INDEX = "CREATE INDEX IF NOT EXISTS idx_stats_rollup_hour ON stats_rollup(hour)"


def stats_indexes_v2(conn: sqlite3.Connection) -> None:
    """stats_rollup_v1 as first released indexed every call by project and by task, NULL ones too, and had
    no index by hour."""
    conn.execute(HOUR_INDEX)
    which = []
    for grouping in sorted(PARTIAL):
        for metric in METRICS:
            name = percentile_index(grouping, metric)
            found = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", [name]).fetchone()
            if found is not None and " WHERE " in found[0]:
                continue
            conn.execute(f"DROP INDEX IF EXISTS {name}")
            which.append((grouping, metric))
    _create_percentile_indexes(conn, which)
