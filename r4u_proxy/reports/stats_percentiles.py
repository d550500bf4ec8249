"""The p50/p95 of latency and TTFT that `r4u stats` shows per group, exact (metrics.py's nearest rank).

Two ways to the same values, chosen by what they would read:
- `read`: every latency and TTFT of the window, one text per (model, project, task) combination
  (a Python row per call would cost seconds at a million calls), sorted per group. It reads each call
  of the window once: the way for a short window.
- `walk`: per group and percentile, one `ORDER BY metric LIMIT 1 OFFSET k` along the grouping's
  percentile index (store/stats_rollup.py), inside the value range the rollup's counts put the rank in,
  from whichever end of it is nearer (`plan`). Each walk steps over the group's entries in that range —
  also the ones before the window, which the index cannot skip — but a step costs a fraction of reading
  a call: the way for all history and long windows.
A group holding every call of the window (one model, one project) takes the total's values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Literal

from r4u_proxy.reports.metrics import PERCENTILES, percentile, percentile_rank
from r4u_proxy.store.content.schema import TRACE_TABLE
from r4u_proxy.store.stats_rollup import (
    GROUP_SQL,
    INDEX_SQL,
    METRICS,
    PARTIAL,
    TOTAL_INDEXES,
    bucket_range,
    percentile_index,
)

Method = Literal["read", "walk"]
# ("total", ""), ("model", "gpt-4o"), ("task", "") ...: '' is none, as in the rollup
GroupId = tuple[str, str]
Values = dict[str, dict[str, float | None]]  # metric -> {"p50": ..., "p95": ...}
Buckets = dict[str, list[int]]  # metric -> calls per value range (stats_rollup.BOUNDS)

# Measured on the 1M-trace bench database (docs/benchmarks.md): a call read costs ~40 index steps.
READ_COST_IN_STEPS = 40


@dataclass
class Wanted:
    """A group whose percentiles are asked for, with its counts in the window (from the rollup)."""

    group: GroupId
    calls: int
    buckets: Buckets  # in the window


@dataclass
class Step:
    """Where a walk goes: the values in one bucket, from one end, past `offset` of them."""

    low: int | None
    high: int | None
    descending: bool
    offset: int


def plan(counts: list[int], percent: int) -> Step | None:
    """The walk to the nearest-rank `percent`-th value, given the group's calls per bucket."""
    n = sum(counts)
    if not n:
        return None
    rank = percentile_rank(n, percent)
    below = 0
    for i, inside in enumerate(counts):
        if below + inside >= rank:
            within = rank - below  # 1-based, inside this bucket
            low, high = bucket_range(i)
            if within > inside / 2:
                return Step(low, high, True, inside - within)
            return Step(low, high, False, within - 1)
        below += inside
    raise AssertionError("a rank past the counted calls")


def window_percentiles(
    conn: sqlite3.Connection,
    cutoff: str | None,
    wanted: list[Wanted],
    window_calls: int,
    method: Method | None = None,
) -> dict[GroupId, Values]:
    """The percentiles of each wanted group over calls with started_at >= cutoff (all when None)."""
    chosen = method or _cheaper(conn, cutoff, wanted, window_calls)
    if chosen == "read":
        return _read(conn, cutoff, wanted)
    return _walk(conn, cutoff, wanted, window_calls)


def _distinct(wanted: list[Wanted], window_calls: int) -> list[Wanted]:
    """The groups that need their own values: not a group that holds every call when the total is asked
    for too (it has the total's values)."""
    if not any(w.group[0] == "total" for w in wanted):
        return wanted
    return [w for w in wanted if w.group[0] == "total" or w.calls != window_calls]


def _outside_index(group: GroupId) -> bool:
    """A group the partial percentile indexes leave out: no project, no task (store/stats_rollup.py)."""
    return group[0] in PARTIAL and not group[1]


def _cheaper(conn: sqlite3.Connection, cutoff: str | None, wanted: list[Wanted], window_calls: int) -> Method:
    steps = 0.0
    for w in _distinct(wanted, window_calls):
        # along the total's index a walk also steps over the other groups' calls
        spread = max(1.0, window_calls / w.calls) if _outside_index(w.group) and w.calls else 1.0
        steps += spread * sum(
            step.offset
            for counts in w.buckets.values()
            for step in (plan(counts, p) for p in PERCENTILES.values())
            if step is not None
        )
    if cutoff is not None and window_calls:
        # a walk also steps over the group's calls before the window (rowids: a cheap count of all)
        every = conn.execute(f"SELECT max(rowid) FROM {TRACE_TABLE}").fetchone()[0] or window_calls
        steps = steps * max(1.0, every / window_calls)
    return "walk" if steps < window_calls * READ_COST_IN_STEPS else "read"


# --- walk ------------------------------------------------------------------------------------------


def _walk(
    conn: sqlite3.Connection, cutoff: str | None, wanted: list[Wanted], window_calls: int
) -> dict[GroupId, Values]:
    window = " AND started_at >= ?" if cutoff is not None else ""
    result: dict[GroupId, Values] = {}
    for w in _distinct(wanted, window_calls):
        grouping, key = w.group
        values: Values = {}
        for metric in METRICS:
            if grouping == "total":
                index, match, params = TOTAL_INDEXES[metric], "", []
            elif _outside_index(w.group):  # the total's index holds project and task_id too
                index, match, params = TOTAL_INDEXES[metric], f"{INDEX_SQL[grouping]} IS NULL AND ", []
            else:  # `=`, not `IS`: it tells SQLite that a partial index holds the group
                index = percentile_index(grouping, metric)
                match, params = f"{INDEX_SQL[grouping]} = ? AND ", [key]
            source = f"FROM {TRACE_TABLE} INDEXED BY {index} WHERE {match}{metric} IS NOT NULL{window}"
            values[metric] = _walk_one(
                conn, metric, source, [*params, *([cutoff] if window else [])], w.buckets[metric]
            )
        result[w.group] = values
    total = result.get(("total", ""))
    for w in wanted:
        if w.group not in result and total is not None:
            result[w.group] = total
    return result


def _walk_one(
    conn: sqlite3.Connection, metric: str, source: str, params: list, counts: list[int]
) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(PERCENTILES)
    for name, percent in PERCENTILES.items():
        step = plan(counts, percent)
        if step is None:
            continue
        bounds = [f" AND {metric} >= ?"] * (step.low is not None) + [f" AND {metric} < ?"] * (
            step.high is not None
        )
        limits = [b for b in (step.low, step.high) if b is not None]
        order = " DESC" if step.descending else ""
        row = conn.execute(
            f"SELECT {metric} {source}{''.join(bounds)} ORDER BY {metric}{order} LIMIT 1 OFFSET ?",
            [*params, *limits, step.offset],
        ).fetchone()
        out[name] = row[0] if row else None
    return out


# --- read ------------------------------------------------------------------------------------------

_CONCAT = ", ".join(
    f"group_concat(quote({m}), ',') FILTER (WHERE {m} IS NOT NULL) AS {m}" for m in METRICS
)  # quote() writes a REAL so that float() reads back the same double


def _floats(text: str | None) -> list[float]:
    return list(map(float, text.split(","))) if text else []


def _read(conn: sqlite3.Connection, cutoff: str | None, wanted: list[Wanted]) -> dict[GroupId, Values]:
    # the dashboard's index starts with started_at and holds every column read here
    where, params = (
        ("INDEXED BY idx_traces_dashboard WHERE started_at >= ?", [cutoff]) if cutoff else ("", [])
    )
    rows = conn.execute(
        f"SELECT {', '.join(GROUP_SQL.values())}, {_CONCAT} FROM {TRACE_TABLE} {where} GROUP BY 1, 2, 3",
        params,
    )
    members: dict[GroupId, list[dict[str, list[float]]]] = {w.group: [] for w in wanted}
    for model, project, task, *texts in rows:
        lists = {metric: sorted(_floats(text)) for metric, text in zip(METRICS, texts, strict=True)}
        for group in (("total", ""), ("model", model), ("project", project), ("task", task)):
            if group in members:
                members[group].append(lists)
    return {
        group: {metric: _percentiles(runs, metric) for metric in METRICS} for group, runs in members.items()
    }


def _percentiles(runs: Iterable[dict[str, list[float]]], metric: str) -> dict[str, float | None]:
    lists = [run[metric] for run in runs]
    # each run is ascending: sorting their concatenation merges them
    ordered = lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists))
    return {name: percentile(ordered, percent) for name, percent in PERCENTILES.items()}
