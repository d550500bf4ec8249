"""One trace: the conversation as a chat, its numbers, its stream timeline, headers and raw bodies."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from datasette.utils.asgi import NotFound, Request, Response

from r4u_proxy.reports.metrics import is_error, unpriced_reason
from r4u_proxy.sessions.query import turn_neighbours

from . import big_bodies, charts, chat, traces_db, websocket_info

if TYPE_CHECKING:
    from datasette.app import Datasette


def _load_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _pretty(text: str | None) -> str:
    """Raw body pretty-printed when it is JSON, shown as stored otherwise."""
    parsed = _load_json(text)
    return chat.pretty_json(parsed) if parsed is not None else (text or "")


def _headers(text: str | None) -> list[tuple[str, str]]:
    parsed = _load_json(text)
    if isinstance(parsed, dict):
        return [(str(k), str(v)) for k, v in parsed.items()]
    if isinstance(parsed, list):  # [[name, value], ...] also accepted
        return [(str(p[0]), str(p[1])) for p in parsed if isinstance(p, list | tuple) and len(p) == 2]
    return []


def _neighbour(
    conn: sqlite3.Connection, trace_id: str, *, older: bool, task_id: str | None = None
) -> str | None:
    op, order = ("<", "desc") if older else (">", "asc")
    if task_id is None:
        row = conn.execute(
            f"select id from traces where id {op} ? order by id {order} limit 1", [trace_id]
        ).fetchone()
    else:
        row = conn.execute(
            f"select id from traces where task_id = ? and id {op} ? order by id {order} limit 1",
            [task_id, trace_id],
        ).fetchone()
    return row[0] if row else None


def trace_data(conn: sqlite3.Connection, trace_id: str) -> dict[str, Any] | None:
    # Datasette's connections return sqlite3.Row, so dict(row) keeps column names.
    row = conn.execute("select * from traces where id = ?", [trace_id]).fetchone()
    if row is None:
        return None
    trace = dict(row)
    task = None
    if trace.get("task_id"):
        found = conn.execute("select * from tasks where id = ?", [trace["task_id"]]).fetchone()
        task = dict(found) if found else {"id": trace["task_id"], "template": None}
    neighbours = {
        "older": _neighbour(conn, trace_id, older=True),
        "newer": _neighbour(conn, trace_id, older=False),
    }
    if trace.get("task_id"):
        neighbours["task_older"] = _neighbour(conn, trace_id, older=True, task_id=trace["task_id"])
        neighbours["task_newer"] = _neighbour(conn, trace_id, older=False, task_id=trace["task_id"])
    session = turn_neighbours(conn, trace_id) if "session_id" in trace else {"session_id": None}
    websocket = websocket_info.for_trace(conn, trace)
    return {"trace": trace, "task": task, "neighbours": neighbours, "session": session, "websocket": websocket}


def build_context(data: dict[str, Any]) -> dict[str, Any]:
    trace = data["trace"]
    request_body = _load_json(trace.get("request_body"))
    response_body = _load_json(trace.get("response_body"))
    timeline = _load_json(trace.get("stream_timeline")) or []
    template_vars = _load_json(trace.get("template_vars"))
    return {
        **data,
        **chat.transcript(trace, request_body, response_body),
        "timeline_chart": (
            charts.stream_timeline_chart(
                timeline, ttft_ms=trace.get("ttft_ms"), latency_ms=trace.get("latency_ms")
            )
            if timeline
            else None
        ),
        "request_headers": _headers(trace.get("request_headers")),
        "response_headers": _headers(trace.get("response_headers")),
        "request_pretty": _pretty(trace.get("request_body")),
        "response_pretty": _pretty(trace.get("response_body")),
        "tags": _load_json(trace.get("tags")) or {},
        "template_vars": template_vars if isinstance(template_vars, dict) else {},
        "is_error": is_error(trace.get("status_code"), trace.get("error")),
        "unpriced_reason": unpriced_reason(trace),
    }


async def trace_view(datasette: Datasette, request: Request) -> Response:
    trace_id = request.url_vars["trace_id"]
    db = await traces_db.find(datasette)
    data = await db.execute_fn(lambda conn: trace_data(conn, trace_id))
    if data is None:
        raise NotFound(f"No trace with id {trace_id}")
    data["trace"], cut = big_bodies.bound_trace(data["trace"])  # before parsing: a huge body shows its head
    context = {"database": db.name, **build_context(data), "cut_bodies": cut}
    return Response.html(await datasette.render_template("r4u_trace.html", context, request=request))
