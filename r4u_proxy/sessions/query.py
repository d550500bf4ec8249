"""Reading sessions back: the list and one session in detail, for `r4u sessions` and the UI alike.

Every function takes an open sqlite3 connection (Datasette's read connection or the CLI's read-only one)
and returns plain dicts that serialise to JSON as they are.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from r4u_proxy.reports.metrics import ERROR_SQL, UNPRICED_SQL
from r4u_proxy.reports.timewindow import since_cutoff
from r4u_proxy.sessions.context import PARTS

MODEL = "coalesce(response_model, request_model)"
SUMMARY = f"""
  session_id, min(started_at) as started_at, max(coalesce(ended_at, started_at)) as ended_at,
  min(project) as project, group_concat(distinct client_name) as clients, count(*) as turns,
  round((julianday(max(coalesce(ended_at, started_at))) - julianday(min(started_at))) * 86400, 3) as duration_s,
  sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
  round(sum(cost_usd), 6) as cost_usd, sum({UNPRICED_SQL}) as unpriced_calls,
  sum({ERROR_SQL}) as errors, group_concat(distinct {MODEL}) as models,
  max(parent_session_id) as parent_session_id, max(input_tokens) as peak_input_tokens,
  max(context_limit) as context_limit
"""
TURN_COLUMNS = f"""id, started_at, ended_at, {MODEL} as model, provider, operation, status_code, error, stream,
  input_tokens, output_tokens, cache_read_tokens, cost_usd, latency_ms, ttft_ms, session_turn, session_source,
  previous_trace_id, new_messages, resent_messages, context_tokens, context_limit, client_name, finish_reason"""


def _split(text: str | None) -> list[str]:
    return sorted(set(text.split(","))) if text else []


def _summary(row: sqlite3.Row | tuple, names: list[str]) -> dict[str, Any]:
    session = dict(zip(names, row, strict=True))
    session["clients"] = _split(session["clients"])
    session["models"] = _split(session["models"])
    limit, peak = session.get("context_limit"), session.get("peak_input_tokens")
    session["peak_context_used"] = round(peak / limit, 4) if limit and peak is not None else None
    return session


def _names(cursor: sqlite3.Cursor) -> list[str]:
    return [d[0] for d in cursor.description]


def list_sessions(
    conn: sqlite3.Connection,
    since: str | None = None,
    project: str | None = None,
    limit: int = 100,
    offset: int = 0,
    top_level: bool = True,
) -> list[dict[str, Any]]:
    """Sessions, newest first; sub-agent and fork sessions are counted under their parent
    (`sub_sessions`) unless top_level is False. Raises ValueError for a bad `since`.

    Pages through session_index's one row per session (indexed by start time), then sums only the traces
    of the sessions on the page: the cost of a page does not grow with the database."""
    where, params = ["kind = 'session'"], []
    cutoff = since_cutoff(since)
    if cutoff:
        where.append("at >= ?")
        params.append(datetime.fromisoformat(cutoff.replace("Z", "+00:00")).timestamp())
    if project:
        where.append("substr(scope, 1, length(?) + 1) = ? || '|'")  # scope is "project|client"
        params += [project, project]
    if top_level:
        where.append("parent_session_id is null")
    ids = [r[0] for r in conn.execute(
        f"select session_id from session_index where {' and '.join(where)} order by at desc limit ? offset ?",
        [*params, limit, offset],
    )]  # fmt: skip
    if not ids:
        return []
    cursor = conn.execute(
        f"select {SUMMARY} from traces where session_id in ({','.join('?' * len(ids))}) group by session_id", ids
    )
    names = _names(cursor)
    found = {row[0]: _summary(row, names) for row in cursor.fetchall()}
    sessions = [found[i] for i in ids if i in found]
    children = _child_counts(conn, [s["session_id"] for s in sessions])
    for session in sessions:
        session["sub_sessions"] = children.get(session["session_id"], 0)
    return sessions


def _child_counts(conn: sqlite3.Connection, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"""select parent_session_id, count(distinct session_id) from traces
            where parent_session_id in ({marks}) group by parent_session_id""",
        ids,
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def session_summary(conn: sqlite3.Connection, session_id: str) -> dict[str, Any] | None:
    cursor = conn.execute(f"select {SUMMARY} from traces where session_id = ? group by session_id", [session_id])
    row = cursor.fetchone()
    return _summary(row, _names(cursor)) if row else None


def session_detail(conn: sqlite3.Connection, session_id: str) -> dict[str, Any] | None:
    """The session's totals, its turns in order (with context split), its sub-sessions and its parent."""
    session = session_summary(conn, session_id)
    if session is None:
        return None
    cursor = conn.execute(f"select {TURN_COLUMNS} from traces where session_id = ? order by id", [session_id])
    names = _names(cursor)
    turns = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for turn in turns:
        turn["context_tokens"] = _context(turn["context_tokens"])
        limit, used = turn["context_limit"], turn["input_tokens"]
        turn["context_used"] = round(used / limit, 4) if limit and used is not None else None
    # No DISTINCT or ORDER BY: with either, SQLite walks another index over every trace instead of this one.
    rows = conn.execute("select session_id from traces where parent_session_id = ?", [session_id])
    child_ids = [c for c in dict.fromkeys(r[0] for r in rows) if c != session_id]
    children = [s for s in (session_summary(conn, c) for c in child_ids) if s]
    for child in children:
        first = conn.execute(
            "select previous_trace_id, id from traces where session_id = ? order by id limit 1", [child["session_id"]]
        ).fetchone()
        child["branched_from_trace_id"] = first[0] if first else None
    children.sort(key=lambda c: c["started_at"] or "")
    parent = session_summary(conn, session["parent_session_id"]) if session["parent_session_id"] else None
    return {"session": session, "turns": turns, "sub_sessions": children, "parent": parent}


def _context(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {name: value.get(name, 0) for name in PARTS} | {"estimated": bool(value.get("estimated"))}


def turn_neighbours(conn: sqlite3.Connection, trace_id: str) -> dict[str, Any]:
    """The session a trace belongs to and the previous / next turn in it (for the trace page)."""
    row = conn.execute("select session_id, session_turn from traces where id = ?", [trace_id]).fetchone()
    if row is None or row[0] is None:
        return {"session_id": None, "previous": None, "next": None, "turn": None}
    session_id = row[0]
    previous = conn.execute(
        "select id from traces where session_id = ? and id < ? order by id desc limit 1", [session_id, trace_id]
    ).fetchone()
    following = conn.execute(
        "select id from traces where session_id = ? and id > ? order by id limit 1", [session_id, trace_id]
    ).fetchone()
    return {"session_id": session_id, "turn": row[1], "previous": previous[0] if previous else None,
            "next": following[0] if following else None}  # fmt: skip
