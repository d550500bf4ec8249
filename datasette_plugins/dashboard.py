"""The home page: what did my programs spend, how fast, how often did they fail.

All numbers come from aggregate SQL over `idx_traces_dashboard`, which covers
every column read here, so the page stays fast on large databases.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from datasette.utils.asgi import Request, Response

from r4u_proxy.reports.metrics import (
    ERROR_SQL,
    UNPRICED_REASON_SQL,
    UNPRICED_SQL,
    error_rate,
    money,
    sql_percentiles,
)
from r4u_proxy.reports.stats import GROUPINGS as STATS_GROUPINGS
from r4u_proxy.reports.stats import group_percentiles
from r4u_proxy.store.content.schema import TRACE_TABLE  # INDEXED BY names the table, not the traces view

from . import charts, time_buckets, traces_db

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


PERCENTILE_INDEX = {"latency_ms": "idx_traces_latency_window", "ttft_ms": "idx_traces_ttft_window"}


def percentiles(
    conn: sqlite3.Connection, column: str, where: str, params: list[Any], n: int | None = None
) -> dict[str, Any]:
    """p50/p95 (reports/metrics.py's nearest rank), walking the column's index to the row at that rank.

    The index holds the window and filter columns too, so no sort and no row reads are needed.
    """
    extra = f"{where} and" if where else " where"
    source = f"from {TRACE_TABLE} indexed by {PERCENTILE_INDEX[column]}{extra} {column} is not null"
    return sql_percentiles(conn, column, source, params, n)


def _window_percentiles(
    conn: sqlite3.Connection, since: str | None, filters: dict[str, str], where: str, params: list[Any],
    totals: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The window's latency and TTFT percentiles: as `r4u stats` finds them (its rollups say where in the
    index each one is) when the filter is one of its groupings, else by walking the whole window's index."""
    if len(filters) <= 1 and set(filters) <= set(STATS_GROUPINGS):
        grouping = next(iter(filters), None)
        found = group_percentiles(conn, since, grouping, filters.get(grouping) if grouping else None)
        if found is not None:
            return found["latency_ms"], found["ttft_ms"]
    return (
        percentiles(conn, "latency_ms", where, params, n=totals["latency_n"]),
        percentiles(conn, "ttft_ms", where, params, n=totals["ttft_n"]),
    )


SUMS = ("calls", "cost_usd", "input_tokens", "output_tokens", "errors", "unpriced", "streamed",
        "latency_sum", "latency_n", "ttft_sum", "ttft_n")  # fmt: skip


def _add(into: dict[str, Any], values: dict[str, Any]) -> None:
    for key in SUMS:
        if values[key] is not None:
            into[key] = (into.get(key) or 0) + values[key]


def _finish(group: dict[str, Any]) -> dict[str, Any]:
    group["avg_latency_ms"] = group["latency_sum"] / group["latency_n"] if group.get("latency_n") else None
    group["avg_ttft_ms"] = group["ttft_sum"] / group["ttft_n"] if group.get("ttft_n") else None
    return group


def _ranked(groups: dict[Any, dict[str, Any]], limit: int = 12) -> list[dict[str, Any]]:
    rows = [_finish({"value": value, **group}) for value, group in groups.items()]
    rows.sort(key=lambda r: (r.get("cost_usd") is None, -(r.get("cost_usd") or 0), -r["calls"]))
    return rows[:limit]


def _has_rollup(conn: sqlite3.Connection) -> bool:
    return conn.execute("select 1 from sqlite_master where name = 'traces_rollup'").fetchone() is not None


# Per-row contributions, named like SUMS, from either source; SQL then sums them per group.
TRACE_SOURCE = f"""select {{bucket}} as bucket, provider, {DIMENSIONS["model"]} as model, project,
  1 as calls, cost_usd, input_tokens, output_tokens, {ERROR_SQL} as errors, {UNPRICED_SQL} as unpriced,
  stream as streamed, latency_ms as latency_sum, latency_ms is not null as latency_n,
  ttft_ms as ttft_sum, ttft_ms is not null as ttft_n
from traces{{where}}"""
ROLLUP_SOURCE = """select {bucket} as bucket, nullif(provider, '') as provider, nullif(model, '') as model,
  nullif(project, '') as project, calls, case when priced > 0 then cost_usd end as cost_usd, input_tokens,
  output_tokens, errors, unpriced, streamed, latency_sum, latency_n, ttft_sum, ttft_n
from traces_rollup where {where}"""


def _grouped(conn: sqlite3.Connection, source: str, params: list[Any]) -> list[Any]:
    """(kind, value, *SUMS) rows: one group per time bucket, provider, model and project, in one statement.

    The source is summed per (bucket, provider, model, project) first: a day of agent traffic is tens of
    thousands of calls but a few hundred such groups, which the four groupings then read."""
    sums = ", ".join(f"sum({column})" for column in SUMS)
    source = (
        f"select bucket, provider, model, project, {', '.join(f'sum({c}) as {c}' for c in SUMS)} "
        f"from ({source}) group by 1, 2, 3, 4"
    )
    arms = [
        f"select '{kind}', {column}, {sums} from source group by {column}"
        for kind, column in (
            ("series", "bucket"),
            ("provider", "provider"),
            ("model", "model"),
            ("project", "project"),
        )
    ]
    return conn.execute(
        f"with source as materialized ({source}) " + " union all ".join(arms), params
    ).fetchall()


def _rollup_source(since: str | None, filters: dict[str, str]) -> tuple[str, list[Any]]:
    clauses, params = ["calls > 0"], []
    if since:
        clauses.append("hour >= ?")
        params.append(since[:13])
    for dimension, value in filters.items():
        clauses.append(f"{dimension} = ?")
        params.append(value)
    return ROLLUP_SOURCE.format(bucket="{bucket}", where=" and ".join(clauses)), params


def _first_call(conn: sqlite3.Connection) -> datetime | None:
    first = conn.execute("select min(started_at) from traces").fetchone()[0]
    return datetime.fromisoformat(first.replace("Z", "+00:00")) if first else None


def _keys(bucket: time_buckets.Bucket, start: datetime, now: datetime, series: dict[str, Any]) -> list[str]:
    """Every bucket of the window, and any a call fell into outside it (a clock ahead of ours)."""
    keys = time_buckets.every_key(bucket, start, now)
    return sorted({*keys, *series}) if not set(series) <= set(keys) else keys


def dashboard_data(
    conn: sqlite3.Connection, window: str, filters: dict[str, str], now: datetime
) -> dict[str, Any]:
    """Totals, breakdowns and time series for a window.

    Windows over a day read the hourly rollup table (a few thousand rows even for
    100k traces); shorter windows and task filters read traces through the covering
    idx_traces_dashboard. Either way one statement groups by bucket, provider, model
    and project.
    """
    since = _since(window, now)
    span = WINDOWS[window]
    from_rollup = (span is None or span > timedelta(hours=24)) and "task" not in filters and _has_rollup(conn)
    if from_rollup and since:
        since = since[:13] + ":00:00.000Z"  # the rollup counts whole hours
    start = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else _first_call(conn) or now
    bucket = time_buckets.choose(now - start, time_buckets.HOURLY_OR_COARSER if from_rollup else time_buckets.BUCKETS)
    where, params = _where(since, filters)
    if from_rollup:
        source, source_params = _rollup_source(since, filters)
        source = source.format(bucket=bucket.sql.format(column="hour"))
    else:
        source = TRACE_SOURCE.format(bucket=bucket.sql.format(column="started_at"), where=where)
        source_params = params
    groups: dict[str, dict[Any, dict[str, Any]]] = {"series": {}, "provider": {}, "model": {}, "project": {}}
    for kind, value, *sums in _grouped(conn, source, source_params):
        groups[kind][value] = dict(zip(SUMS, sums, strict=True))
    totals: dict[str, Any] = dict.fromkeys(SUMS, 0)
    totals["cost_usd"] = None
    for group in groups["provider"].values():  # every trace is in exactly one provider group
        _add(totals, group)
    series = groups.pop("series")
    by = groups
    calls = totals["calls"]
    totals["error_rate"] = error_rate(totals["errors"], calls)
    totals["latency"], totals["ttft"] = _window_percentiles(conn, since, filters, where, params, totals)
    totals["unpriced_reasons"] = unpriced_reasons(conn, where, params) if totals["unpriced"] else {}
    breakdowns = {dimension: _ranked(groups) for dimension, groups in by.items()}
    if from_rollup and not filters and _has_task_rollup(conn):
        breakdowns["task"] = _task_breakdown_from_rollup(conn, since)
    else:
        breakdowns["task"] = _task_breakdown(conn, where, params, filtered=bool(filters))
    error_where = f"{where} and {ERROR_SQL}" if where else f" where {ERROR_SQL}"
    recent_errors = conn.execute(
        f"""select id, started_at, provider, {DIMENSIONS["model"]}, status_code, error
            from traces{error_where} order by started_at desc limit 10""",
        params,
    ).fetchall()
    return {
        "since": since,
        "totals": totals,
        "breakdowns": breakdowns,
        "bucket": bucket.name,
        "series": [
            {
                "bucket": bucket.label(key),
                "calls": series.get(key, {}).get("calls", 0),
                "cost_usd": series.get(key, {}).get("cost_usd"),
                "errors": series.get(key, {}).get("errors", 0),
                "tokens": (series.get(key, {}).get("input_tokens") or 0) + (series.get(key, {}).get("output_tokens") or 0),
            }
            for key in _keys(bucket, start, now, series) if series
        ],  # fmt: skip
        "recent_errors": [
            dict(zip(("id", "started_at", "provider", "model", "status_code", "error"), row, strict=True))
            for row in recent_errors
        ],
    }


def unpriced_reasons(conn: sqlite3.Connection, where: str, params: list[Any]) -> dict[str, int]:
    """Unpriced calls in the window by reason (reports/metrics.py), most first; idx_traces_unpriced holds
    only those calls."""
    extra = f"{where} and" if where else " where"
    rows = conn.execute(
        f"select {UNPRICED_REASON_SQL}, count(*) from traces{extra} {UNPRICED_SQL} group by 1 order by 2 desc, 1",
        params,
    ).fetchall()
    return dict(rows)


TASK_KEYS = ("value", "calls", "cost_usd", "input_tokens", "output_tokens", "errors", "avg_latency_ms", "avg_ttft_ms")


def _has_task_rollup(conn: sqlite3.Connection) -> bool:
    return conn.execute("select 1 from sqlite_master where name = 'task_rollup'").fetchone() is not None


def _task_breakdown_from_rollup(conn: sqlite3.Connection, since: str | None) -> list[dict[str, Any]]:
    """The most expensive tasks since `since` (a whole hour), from the per-task hourly rollup
    (r4u_proxy/store/task_rollup.py): a month of calls is a few thousand rows there."""
    rows = conn.execute(
        f"""select task_id, sum(calls), case when sum(priced) > 0 then sum(cost_usd) end, sum(input_tokens),
              sum(output_tokens), sum(errors), sum(latency_sum) / nullif(sum(latency_n), 0),
              sum(ttft_sum) / nullif(sum(ttft_n), 0)
            from task_rollup{" where hour >= ?" if since else ""}
            group by task_id having sum(calls) > 0 order by 3 desc nulls last, 2 desc limit 12""",
        [since[:13]] if since else [],
    ).fetchall()
    return _with_templates(conn, [dict(zip(TASK_KEYS, row, strict=True)) for row in rows])


def _task_breakdown(
    conn: sqlite3.Connection, where: str, params: list[Any], filtered: bool
) -> list[dict[str, Any]]:
    """The most expensive tasks in the window, with their template text."""
    extra = f"{where} and" if where else " where"
    # Filtered by model/provider/project: only the dashboard index covers those columns.
    hint = " indexed by idx_traces_dashboard" if filtered else ""
    rows = conn.execute(
        f"""select task_id, count(*), sum(cost_usd), sum(input_tokens), sum(output_tokens),
              sum({ERROR_SQL}), avg(latency_ms), avg(ttft_ms)
            from {TRACE_TABLE if hint else "traces"}{hint}{extra} task_id is not null
            group by task_id order by sum(cost_usd) desc nulls last, count(*) desc limit 12""",
        params,
    ).fetchall()
    return _with_templates(conn, [dict(zip(TASK_KEYS, row, strict=True)) for row in rows])


def _with_templates(conn: sqlite3.Connection, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if tasks:
        ids = [t["value"] for t in tasks]
        marks = ",".join("?" * len(ids))
        found = {
            r[0]: (r[1], r[2]) for r in conn.execute(f"select id, template, name from tasks where id in ({marks})", ids)
        }
        for task in tasks:
            task["template"], task["name"] = found.get(task["value"], (None, None))
    return tasks


def _charts(series: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "calls": charts.bar_chart(
            [(p["bucket"], p["calls"]) for p in series], label="calls", css_class="calls"
        ),
        "cost": charts.bar_chart(
            [(p["bucket"], p["cost_usd"]) for p in series],
            label="cost (USD)",
            fmt=money,
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
