"""The home page: what did my programs spend, how fast, how often did they fail.

All numbers come from aggregate SQL over `idx_traces_dashboard`, which covers
every column read here, so the page stays fast on large databases.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from datasette.utils.asgi import Request, Response

from r4u_proxy.store.ui_indexes import ERROR_CONDITION

from . import charts, formatting, traces_db

if TYPE_CHECKING:
    from datasette.app import Datasette

WINDOWS: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
DEFAULT_WINDOW = "7d"

# Dimensions a user can break totals down by, and filter on (?model=gpt-4o).
DIMENSIONS: dict[str, str] = {
    "model": "coalesce(request_model, response_model)",
    "provider": "provider",
    "project": "project",
    "task": "task_id",
}


def _since(window: str, now: datetime) -> str | None:
    span = WINDOWS[window]
    if span is None:
        return None
    return (now - span).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _where(since: str | None, filters: dict[str, str]) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since:
        clauses.append("started_at >= ?")
        params.append(since)
    for dimension, value in filters.items():
        clauses.append(f"{DIMENSIONS[dimension]} = ?")
        params.append(value)
    return (" where " + " and ".join(clauses)) if clauses else "", params


def percentiles(conn: sqlite3.Connection, column: str, where: str, params: list[Any]) -> dict[str, Any]:
    """p50/p95 by counting then jumping to the row at that rank (SQLite has no percentile())."""
    extra = f"{where} and" if where else " where"
    base = f"from traces{extra} {column} is not null"
    n = conn.execute(f"select count(*) {base}", params).fetchone()[0]
    result: dict[str, Any] = {"p50": None, "p95": None}
    if not n:
        return result
    for name, fraction in (("p50", 0.50), ("p95", 0.95)):
        offset = min(n - 1, int(fraction * n))
        row = conn.execute(
            f"select {column} {base} order by {column} limit 1 offset ?", [*params, offset]
        ).fetchone()
        result[name] = row[0]
    return result


def dashboard_data(
    conn: sqlite3.Connection, window: str, filters: dict[str, str], now: datetime
) -> dict[str, Any]:
    since = _since(window, now)
    where, params = _where(since, filters)
    totals_row = conn.execute(
        f"""select count(*), sum(cost_usd), sum(input_tokens), sum(output_tokens),
              sum({ERROR_CONDITION}), sum(cost_usd is null), sum(stream)
            from traces{where}""",
        params,
    ).fetchone()
    calls = totals_row[0] or 0
    totals = {
        "calls": calls,
        "cost_usd": totals_row[1],
        "input_tokens": totals_row[2] or 0,
        "output_tokens": totals_row[3] or 0,
        "errors": totals_row[4] or 0,
        "unpriced": totals_row[5] or 0,
        "streamed": totals_row[6] or 0,
        "error_rate": (totals_row[4] or 0) / calls if calls else None,
        "latency": percentiles(conn, "latency_ms", where, params),
        "ttft": percentiles(conn, "ttft_ms", where, params),
    }
    breakdowns = {}
    for dimension, expression in DIMENSIONS.items():
        rows = conn.execute(
            f"""select {expression} as value, count(*) as calls, sum(cost_usd) as cost_usd,
                  sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
                  sum({ERROR_CONDITION}) as errors, avg(latency_ms) as avg_latency_ms, avg(ttft_ms) as avg_ttft_ms
                from traces{where}
                group by value
                order by cost_usd desc nulls last, calls desc
                limit 12""",
            params,
        ).fetchall()
        breakdowns[dimension] = [
            dict(
                zip(
                    (
                        "value",
                        "calls",
                        "cost_usd",
                        "input_tokens",
                        "output_tokens",
                        "errors",
                        "avg_latency_ms",
                        "avg_ttft_ms",
                    ),
                    row,
                    strict=True,
                )
            )
            for row in rows
        ]
    # The task breakdown is "the most expensive tasks": give it the template text.
    task_ids = [row["value"] for row in breakdowns["task"] if row["value"]]
    if task_ids:
        marks = ",".join("?" * len(task_ids))
        templates = dict(
            conn.execute(f"select id, template from tasks where id in ({marks})", task_ids).fetchall()
        )
        for row in breakdowns["task"]:
            row["template"] = templates.get(row["value"])
    hourly = WINDOWS[window] is not None and WINDOWS[window] <= timedelta(hours=24)
    bucket = "substr(started_at, 1, 13)" if hourly else "substr(started_at, 1, 10)"
    series = conn.execute(
        f"""select {bucket} as bucket, count(*), sum(cost_usd), sum({ERROR_CONDITION}),
              sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0))
            from traces{where} group by bucket order by bucket""",
        params,
    ).fetchall()
    error_where = f"{where} and {ERROR_CONDITION}" if where else f" where {ERROR_CONDITION}"
    recent_errors = conn.execute(
        f"""select id, started_at, provider, coalesce(request_model, response_model), status_code, error
            from traces{error_where} order by started_at desc limit 10""",
        params,
    ).fetchall()
    return {
        "since": since,
        "totals": totals,
        "breakdowns": breakdowns,
        "series": [
            {
                "bucket": (b.replace("T", " ") + ":00") if hourly else b,
                "calls": c,
                "cost_usd": cost,
                "errors": e,
                "tokens": t,
            }
            for b, c, cost, e, t in series
        ],
        "recent_errors": [
            dict(zip(("id", "started_at", "provider", "model", "status_code", "error"), row, strict=True))
            for row in recent_errors
        ],
    }


def _charts(series: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "calls": charts.bar_chart(
            [(p["bucket"], p["calls"]) for p in series], label="calls", css_class="calls"
        ),
        "cost": charts.bar_chart(
            [(p["bucket"], p["cost_usd"]) for p in series],
            label="cost (USD)",
            fmt=formatting.usd,
            css_class="cost",
        ),
        "tokens": charts.bar_chart(
            [(p["bucket"], p["tokens"]) for p in series], label="tokens", css_class="tokens"
        ),
        "errors": charts.bar_chart(
            [(p["bucket"], p["errors"]) for p in series], label="errors", css_class="errors"
        ),
    }


async def dashboard_view(datasette: Datasette, request: Request) -> Response:
    window = request.args.get("window", DEFAULT_WINDOW)
    if window not in WINDOWS:
        window = DEFAULT_WINDOW
    filters = {d: request.args[d] for d in DIMENSIONS if request.args.get(d)}
    now = datetime.now(UTC)
    db = await traces_db.find(datasette)
    data = await db.execute_fn(lambda conn: dashboard_data(conn, window, filters, now))
    if request.args.get("_format") == "json":
        return Response.json({"window": window, "filters": filters, **data}, default=str)
    context = {
        "database": db.name,
        "window": window,
        "windows": list(WINDOWS),
        "filters": filters,
        "charts": _charts(data["series"]),
        **data,
    }
    return Response.html(await datasette.render_template("r4u_dashboard.html", context, request=request))
