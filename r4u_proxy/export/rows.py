"""Reading what to export from traces.db: trace rows in rowid (= write) order, in bounded batches,
with their task and session facts.

Every read is a short query on its own connection's snapshot; nothing here holds more than one batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from r4u_proxy.reports.timewindow import since_cutoff

_TOKEN_SUMS = ", ".join(
    f"SUM({c}) AS {c}"
    for c in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
)


@dataclass(frozen=True)
class Selection:
    """Which traces: all, or those since a time, of a project, of a session (and its sub-agents)."""

    since: str | None = None  # 24h, 7d, or an ISO date
    project: str | None = None
    session: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = ["1=1"], []
        cutoff = since_cutoff(self.since)
        if cutoff:
            clauses.append("t.started_at >= ?")
            params.append(cutoff)
        if self.project is not None:
            clauses.append("t.project IS ?")
            params.append(self.project)
        if self.session is not None:
            clauses.append("(t.session_id = ? OR t.parent_session_id = ?)")
            params += [self.session, self.session]
        return " AND ".join(clauses), params


def connect_readonly(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info([{table}])")]


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return column in _columns(conn, table)


# Columns a span without content does without (the largest); the response id is picked out in SQL instead.
BULKY = ("request_body", "response_body", "response_raw", "request_headers", "response_headers",
         "stream_timeline", "prompt_text", "completion_text")  # fmt: skip
MAX_BATCH_BYTES = 8 * 1024 * 1024
_RESPONSE_ID = (
    "CASE WHEN json_valid(t.response_body) THEN COALESCE(json_extract(t.response_body, '$.id'), "
    "json_extract(t.response_body, '$.responseId')) END AS _response_id"
)
_SIZE = "COALESCE(length(t.request_body), 0) + COALESCE(length(t.response_body), 0) + COALESCE(length(t.response_raw), 0)"


def trace_batches(
    conn: sqlite3.Connection, selection: Selection = Selection(), *, after_rowid: int = 0, batch: int = 500,
    max_rowid: int | None = None, lean: bool = False, max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[dict[str, Any]]]:  # fmt: skip
    """Trace rows (dicts with every column, plus `_rowid`, `_task_name`, `_task_template`) in batches of at
    most `batch` rows and about `max_bytes` of bodies. `lean`: without the BULKY columns."""
    where, params = selection.where()
    task_name = "k.name" if _has_column(conn, "tasks", "name") else "NULL"
    if lean:
        columns = ", ".join(f"t.[{c}]" for c in _columns(conn, "traces") if c not in BULKY) + ", " + _RESPONSE_ID
    else:
        columns = "t.*"
    if max_rowid is None:
        max_rowid = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM traces").fetchone()[0]
    last = after_rowid
    while True:
        size = "0" if lean else _SIZE
        sizes = conn.execute(
            f"SELECT t.rowid, {size} FROM traces t WHERE t.rowid > ? AND t.rowid <= ? AND {where} "
            "ORDER BY t.rowid LIMIT ?",
            [last, max_rowid, *params, batch],
        ).fetchall()
        if not sizes:
            return
        upto, total = sizes[0][0], 0
        for rowid, length in sizes:
            total += length
            if total > max_bytes and rowid != sizes[0][0]:
                break
            upto = rowid
        rows = conn.execute(
            f"SELECT t.rowid AS _rowid, {columns}, {task_name} AS _task_name, k.template AS _task_template "
            f"FROM traces t LEFT JOIN tasks k ON k.id = t.task_id "
            f"WHERE t.rowid > ? AND t.rowid <= ? AND {where} ORDER BY t.rowid",
            [last, upto, *params],
        ).fetchall()
        yield [dict(row) for row in rows]
        last = upto


def task_of(row: dict[str, Any]) -> dict[str, Any] | None:
    if not row.get("task_id"):
        return None
    return {"name": row.get("_task_name"), "template": row.get("_task_template")}


def top_sessions(conn: sqlite3.Connection, session_ids: set[str], known: dict[str, str]) -> dict[str, str]:
    """session → the top-level session of its agent run (following parent_session_id), added to `known`."""
    if not _has_column(conn, "traces", "parent_session_id"):
        known.update({s: s for s in session_ids})
        return known
    for session in session_ids - known.keys():
        chain, current = [session], session
        while len(chain) < 16:
            row = conn.execute(
                "SELECT parent_session_id FROM traces WHERE session_id = ? AND parent_session_id IS NOT NULL LIMIT 1",
                (current,),
            ).fetchone()
            if row is None or row[0] in chain:
                break
            current = row[0]
            chain.append(current)
        for member in chain:
            known.setdefault(member, current)
    return known


def session_summaries(conn: sqlite3.Connection, session_ids: list[str]) -> list[dict[str, Any]]:
    """One row per session: its extent, calls, errors, cost and token sums (for its root span)."""
    if not session_ids:
        return []
    parent = "MAX(parent_session_id)" if _has_column(conn, "traces", "parent_session_id") else "NULL"
    client = "MAX(client_name)" if _has_column(conn, "traces", "client_name") else "NULL"
    marks = ",".join("?" * len(session_ids))
    rows = conn.execute(
        f"SELECT session_id, {parent} AS parent_session_id, {client} AS client_name, MAX(project) AS project, "
        "MIN(started_at) AS started_at, MAX(COALESCE(ended_at, started_at)) AS ended_at, COUNT(*) AS calls, "
        "SUM(error IS NOT NULL OR status_code >= 400) AS errors, SUM(cost_usd) AS cost_usd, "
        f"MAX(rowid) AS last_rowid, {_TOKEN_SUMS} FROM traces WHERE session_id IN ({marks}) GROUP BY session_id",
        session_ids,
    ).fetchall()
    return [dict(row) for row in rows]
