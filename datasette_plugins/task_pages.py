"""Tasks: the prompt templates grouping found, most expensive first, and one task in detail."""

from __future__ import annotations

import json
import re
import sqlite3
import string
from typing import TYPE_CHECKING, Any

from datasette.utils.asgi import NotFound, Request, Response

from r4u_proxy.reports.metrics import ERROR_SQL, UNPRICED_SQL, error_rate, money, sql_percentiles

from . import charts, formatting, traces_db
from .named_queries import NAMED_QUERIES

if TYPE_CHECKING:
    from datasette.app import Datasette

PAGE_SIZE = 50
TASKS_PAGE_SIZE = 200
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_segments(template: str | None) -> list[tuple[str, bool]]:
    """Split a template into (text, is_variable) pieces so variables can be highlighted.

    Templates are str.format strings (grouping doubles literal braces), so they are
    parsed as such: `{{"city": "{city}"}}` shows `{"city": "` + variable city + `"}`.
    """
    if not template:
        return []
    segments: list[tuple[str, bool]] = []
    try:
        for literal, field, _spec, _conversion in string.Formatter().parse(template):
            if literal and segments and not segments[-1][1]:  # parse() splits literals at {{ and }}
                segments[-1] = (segments[-1][0] + literal, False)
            elif literal:
                segments.append((literal, False))
            if field is not None:
                segments.append((field, True))
        return segments
    except ValueError:  # not a valid format string (hand-written template): highlight {name} spans only
        segments = []
    position = 0
    for match in PLACEHOLDER.finditer(template):
        if match.start() > position:
            segments.append((template[position : match.start()], False))
        segments.append((match.group(1), True))
        position = match.end()
    if position < len(template):
        segments.append((template[position:], False))
    return segments


def variable_names(task: dict[str, Any]) -> list[str]:
    try:
        names = json.loads(task.get("variables") or "null")
    except ValueError:
        names = None
    if isinstance(names, list) and names:
        return [str(n) for n in names]
    seen: list[str] = []
    for name, is_variable in template_segments(task.get("template")):
        if is_variable and name not in seen:
            seen.append(name)
    return seen


def tasks_data(conn: sqlite3.Connection, page: int) -> list[dict[str, Any]]:
    sql = NAMED_QUERIES["tasks_by_cost"]["sql"] + " limit ? offset ?"
    rows = conn.execute(sql, [TASKS_PAGE_SIZE + 1, page * TASKS_PAGE_SIZE]).fetchall()
    return [dict(row) for row in rows]


def task_data(conn: sqlite3.Connection, task_id: str, page: int) -> dict[str, Any] | None:
    row = conn.execute("select * from tasks where id = ?", [task_id]).fetchone()
    if row is None:
        return None
    task = dict(row)
    stats = dict(
        conn.execute(
            f"""select count(*) as calls, sum(cost_usd) as cost_usd, avg(cost_usd) as avg_cost_usd,
                  sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
                  sum({ERROR_SQL}) as errors, sum({UNPRICED_SQL}) as unpriced,
                  min(started_at) as first_call, max(started_at) as last_call
                from traces where task_id = ?""",
            [task_id],
        ).fetchone()
    )
    stats["error_rate"] = error_rate(stats["errors"], stats["calls"])
    # The task index narrows to the task's traces; sorting one task's values is cheap.
    for name, column in (("latency", "latency_ms"), ("ttft", "ttft_ms")):
        source = f"from traces where task_id = ? and {column} is not null"
        stats[name] = sql_percentiles(conn, column, source, [task_id])
    trend = conn.execute(
        """select substr(started_at, 1, 10) as day, count(*) as calls, sum(cost_usd) as cost_usd
           from traces where task_id = ? group by day order by day""",
        [task_id],
    ).fetchall()
    traces = conn.execute(
        """select id, started_at, coalesce(request_model, response_model) as model, stream, status_code, error,
             input_tokens, output_tokens, cost_usd, latency_ms, ttft_ms, template_vars
           from traces where task_id = ? order by started_at desc limit ? offset ?""",
        [task_id, PAGE_SIZE + 1, page * PAGE_SIZE],
    ).fetchall()
    return {
        "task": task,
        "stats": stats,
        "trend": [dict(r) for r in trend],
        "traces": [dict(r) for r in traces],
    }


def _with_variables(traces: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    for trace in traces:
        try:
            values = json.loads(trace.get("template_vars") or "{}")
        except ValueError:
            values = {}
        if not isinstance(values, dict):
            values = {}
        trace["vars"] = [formatting.short(values.get(name), 80) if name in values else None for name in names]
    return traces


MAX_PAGE = 1_000_000  # an OFFSET beyond SQLite's 64-bit integers was a 500


def _page(request: Request) -> int:
    try:
        return min(max(int(request.args.get("page", "0")), 0), MAX_PAGE)
    except ValueError:
        return 0


async def tasks_view(datasette: Datasette, request: Request) -> Response:
    page = _page(request)
    db = await traces_db.find(datasette)
    tasks = await db.execute_fn(lambda conn: tasks_data(conn, page))
    context = {
        "database": db.name,
        "tasks": tasks[:TASKS_PAGE_SIZE],
        "page": page,
        "has_more": len(tasks) > TASKS_PAGE_SIZE,
        "offset": page * TASKS_PAGE_SIZE,
    }
    return Response.html(await datasette.render_template("r4u_tasks.html", context, request=request))


async def task_view(datasette: Datasette, request: Request) -> Response:
    task_id = request.url_vars["task_id"]
    page = _page(request)
    db = await traces_db.find(datasette)
    data = await db.execute_fn(lambda conn: task_data(conn, task_id, page))
    if data is None:
        raise NotFound(f"No task with id {task_id}")
    if request.args.get("_format") == "json":
        return Response.json({key: data[key] for key in ("task", "stats", "trend")}, default=str)
    names = variable_names(data["task"])
    traces = _with_variables(data["traces"][:PAGE_SIZE], names)
    trend = data["trend"]
    context = {
        "database": db.name,
        **data,
        "segments": template_segments(data["task"].get("template")),
        "variable_names": names,
        "traces": traces,
        "page": page,
        "has_more": len(data["traces"]) > PAGE_SIZE,
        "trend_calls": charts.bar_chart([(t["day"], t["calls"]) for t in trend], label="calls per day"),
        "trend_cost": charts.bar_chart(
            [(t["day"], t["cost_usd"]) for t in trend],
            label="cost per day (USD)",
            fmt=money,
            css_class="cost",
        ),
    }
    return Response.html(await datasette.render_template("r4u_task.html", context, request=request))
