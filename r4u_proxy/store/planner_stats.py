"""Migration `planner_stats_v1`: the query planner's statistics, written from what the columns mean.

SQLite chooses how to run a query from `sqlite_stat1`, which only ANALYZE fills. r4u's users never run it, so a
file has none for its tables (ui_indexes_v1 analyzed it while it was empty) and the planner guesses that an
equality on any indexed column selects ~10 rows. On a million agent calls that guess sends
`provider = 'anthropic' ORDER BY started_at DESC LIMIT 50` (Datasette's table page with a facet) through the
provider index and a sort of every call of the provider, instead of down the time index (docs/benchmarks.md
measures both). Measured statistics would not do either: they describe the file when they were taken, and
ANALYZE reads every index while it holds the write lock, so the writer would wait on it (docs/benchmarks.md).

So every file gets the same statistics, those of a file with a million calls, from how many distinct values each
column has there: a time or an id one per call, a session ~50 calls, a task ~1,000, a model or a provider a large
share of them. What the planner needs is how selective each index is, which these describe at any size.
`index_stats` derives each index's `sqlite_stat1` line from its columns (PRAGMA index_xinfo), so an index added
later gets one from `write_stats` (tests/test_store.py checks that every index has one).
"""

from __future__ import annotations

import sqlite3

CALLS = 1_000_000

# table -> (rows, distinct values per column; a column not named has one value per row). Expression columns
# (the model coalesce of the stats indexes) are named by the column they read first.
TABLES: dict[str, tuple[int, dict[str, int]]] = {
    "trace_rows": (CALLS, {
        "provider": 4, "request_model": 25, "response_model": 25, "project": 10, "task_id": 1_000,
        "status_code": 5, "error": 20, "stream": 2, "session_id": CALLS // 50, "parent_session_id": CALLS // 500,
        "ws_connection_id": CALLS // 10, "latency_ms": CALLS // 10, "ttft_ms": CALLS // 10,
        "cost_usd": CALLS // 10, "input_tokens": CALLS // 10, "output_tokens": CALLS // 100,
    }),
    "contents": (3 * CALLS, {}),
    "message_nodes": (2 * CALLS, {"parent": CALLS}),
    "session_index": (2 * CALLS, {"kind": 4, "scope": 20, "at": 2 * CALLS}),
    "tasks": (1_000, {}),
    "task_rollup": (100_000, {"task_id": 1_000, "hour": 1_000}),
    "stats_rollup": (100_000, {"model": 25, "project": 250, "task_id": 10_000, "hour": 1_000}),
    "stats_totals": (5_000, {"model": 25, "project": 250}),
    "traces_rollup": (20_000, {"hour": 1_000, "provider": 4_000, "model": 10_000}),
    "websocket_connections": (10_000, {}),
}  # fmt: skip

# Partial indexes hold a share of their table's rows (store/ui_indexes.py, store/stats_rollup.py).
PARTIAL_SHARE = {
    "idx_traces_errors": 0.02,
    "idx_traces_unpriced": 0.01,
    "idx_traces_parent_session_id": 0.1,
}
DEFAULT_PARTIAL_SHARE = 0.5


def _indexes(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    """(index name, the name sqlite_stat1 files it under) of each index of `table`."""
    without_rowid = "WITHOUT ROWID" in (
        conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()[0] or ""
    ).upper()
    out = []
    for _, name, _, origin, _ in conn.execute(f"PRAGMA index_list([{table}])"):
        # a WITHOUT ROWID table's primary key is the table itself: its line is under the table's name
        out.append((name, table if without_rowid and origin == "pk" else name))
    return out


def _columns(conn: sqlite3.Connection, index: str) -> list[str | None]:
    keyed = [row for row in conn.execute(f"PRAGMA index_xinfo([{index}])") if row[5]]
    return [_expression_column(conn, index) if name is None else name for _, _, name, *_ in keyed]


def _expression_column(conn: sqlite3.Connection, index: str) -> str | None:
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [index]).fetchone()[0] or ""
    inside = sql[sql.index("(") + 1 :]
    for word in inside.replace("(", " ").replace(",", " ").split():
        if word.isidentifier() and word.lower() not in {"coalesce", "ifnull", "lower", "upper"}:
            return word
    return None


def index_stats(conn: sqlite3.Connection, table: str, index: str) -> str:
    """The sqlite_stat1 `stat` of one index: its rows, then the rows per distinct prefix of its columns."""
    rows, distinct = TABLES[table]
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [index]).fetchone()
    if sql is not None and sql[0] and " WHERE " in sql[0].upper():
        rows = max(1, round(rows * PARTIAL_SHARE.get(index, DEFAULT_PARTIAL_SHARE)))
    parts, combinations = [rows], 1
    for column in _columns(conn, index):
        combinations *= distinct.get(column or "", TABLES[table][0])
        parts.append(max(1, round(rows / combinations)))
    return " ".join(map(str, parts))


def write_stats(conn: sqlite3.Connection, tables: list[str] | None = None) -> None:
    """Replace the sqlite_stat1 lines of `tables` (all listed ones) with these. A later migration that adds
    an index calls this for its table, after listing any new column's distinct values above."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        conn.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 (it cannot be created by name)
    for table in tables or list(TABLES):
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone():
            continue
        conn.execute("DELETE FROM sqlite_stat1 WHERE tbl = ?", [table])
        for index, filed_as in _indexes(conn, table):
            conn.execute(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", [table, filed_as, index_stats(conn, table, index)]
            )
    conn.execute("ANALYZE sqlite_schema")  # makes this connection read them; others do when they open


def planner_stats_v1(conn: sqlite3.Connection) -> None:
    write_stats(conn)
