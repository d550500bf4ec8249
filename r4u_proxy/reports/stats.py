"""`r4u stats`: spend, calls, tokens and latency percentiles over a time window, grouped.

The numbers are computed here as plain data (the CLI renders them as tables or JSON), so
scripts and tests see exactly what the terminal shows. Errors, unpriced calls and percentiles
follow reports/metrics.py: unpriced calls are counted apart, with their reason, because their
cost is unknown, so spend never counts them as $0.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import chain
from operator import add
from pathlib import Path
from typing import Any

from r4u_proxy.reports.metrics import NO_PRICE, UNPRICED_REASON_SQL, UNPRICED_SQL
from r4u_proxy.reports.stats_percentiles import Buckets, GroupId, Method, Wanted, window_percentiles
from r4u_proxy.reports.timewindow import since_cutoff
from r4u_proxy.store.content.schema import TRACE_TABLE
from r4u_proxy.store.stats_rollup import (
    BOUNDS,
    GROUP_SQL,
    GROUPINGS,
    METRICS,
    SUMS,
    TOKENS,
    bucket_columns,
    rollup_values,
)

# The sums come from stats_totals for all history, and for a window from stats_rollup (store/stats_rollup.py):
# its whole hours after the cutoff's hour, plus the calls of that first, partial hour from trace_rows,
# summed with the same expressions the triggers use; or, when that is fewer rows, all history less the
# hours before the cutoff's and the calls of its hour before the cutoff.
_SUM_LIST = ", ".join(f"sum({c}) AS {c}" for c in SUMS)
_TOTALS = f"SELECT model, project, task_id, {', '.join(SUMS)} FROM stats_totals"
_EDGE_VALUES = rollup_values(TRACE_TABLE)
_EDGE = (
    f"SELECT {', '.join(f'{v} AS {k}' for v, k in zip(_EDGE_VALUES[:3], ('model', 'project', 'task_id'), strict=True))}, "
    f"{', '.join(f'sum({v}) AS {c}' for v, c in zip(_EDGE_VALUES[4:], SUMS, strict=True))} "
    f"FROM {TRACE_TABLE} WHERE started_at >= ? AND started_at < ? GROUP BY 1, 2, 3"
)
# Unpriced calls are few and have a partial index (store/ui_indexes.py); the WHERE repeats UNPRICED_SQL.
_UNPRICED = f"""
SELECT {", ".join(GROUP_SQL.values())}, provider, host, {UNPRICED_REASON_SQL} AS reason, count(*) AS calls
FROM {TRACE_TABLE} INDEXED BY idx_traces_unpriced WHERE {UNPRICED_SQL} {{window}} GROUP BY 1, 2, 3, 4, 5, 6
"""


@dataclass
class GroupStats:
    key: str | None  # model name, project, or task id; None when the trace has none
    label: str  # what a person reads: "(no project)", a task's template start, ...
    calls: int = 0
    errors: int = 0  # HTTP status >= 400 or a transport/stream error (metrics.ERROR_SQL)
    spend_usd: float | None = None  # sum over priced calls; None when no call here has a price
    unpriced_calls: int = 0  # calls that succeeded without a known cost (metrics.UNPRICED_SQL)
    unpriced_reasons: dict[str, int] = field(default_factory=dict)  # reason -> calls
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None

    def set_sums(self, sums: list) -> None:
        """The counts and sums, in the order of stats_rollup.SUMS."""
        named = dict(zip(SUMS, sums, strict=True))
        self.calls, self.errors = named["calls"], named["errors"]
        self.spend_usd = named["spend_usd"] if named["priced"] else None
        for name in TOKENS:
            setattr(self, name, named[name])

    def add_unpriced(self, reason: str, calls: int) -> None:
        self.unpriced_calls += calls
        self.unpriced_reasons[reason] = self.unpriced_reasons.get(reason, 0) + calls

    def set_percentiles(self, values: dict[str, dict[str, float | None]]) -> None:
        """latency_* and ttft_* from {"latency_ms": {"p50": ..., "p95": ...}, "ttft_ms": {...}}."""
        for metric, found in values.items():
            for name, value in found.items():
                setattr(self, f"{metric.removesuffix('_ms')}_{name}_ms", value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UnpricedModel:
    model: str | None
    provider: str | None
    host: str | None
    calls: int


@dataclass
class StatsReport:
    since: str | None  # the started_at cutoff (ISO UTC), None for all history
    total: GroupStats
    groups: dict[str, list[GroupStats]]  # "model" | "project" | "task" -> rows, most spend first
    unpriced: list[UnpricedModel]  # models the price data has no price for, most calls first
    more: dict[str, int] = field(default_factory=dict)  # grouping -> groups left out by the limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "total": self.total.as_dict(),
            **{f"by_{name}": [g.as_dict() for g in rows] for name, rows in self.groups.items()},
            "more": self.more,
            "unpriced": [asdict(u) for u in self.unpriced],
        }


def _label(grouping: str, key: str | None, tasks: dict[str, tuple[str | None, str | None]]) -> str:
    if grouping == "model":
        return key or "(no model)"
    if grouping == "project":
        return key or "(no project)"
    if key is None:
        return "(no task yet)"
    name, template = tasks.get(key, (None, None))
    if name:
        return name
    flat = " ".join((template or "").split())
    return f"{key[:10]} {flat[:40]}".strip()


def _sort_key(group: GroupStats) -> tuple[float, int, str]:
    return (-(group.spend_usd or 0.0), -group.calls, group.label)


def _none(key: str) -> str | None:
    return key or None  # the rollup and the percentile indexes hold '' for a call without one


def _window_sums(conn: sqlite3.Connection, cutoff: str | None) -> Iterable[tuple]:
    """(model, project, task_id, *SUMS) per combination in the window; one may come twice, or with negative
    sums to take away."""
    if cutoff is None:
        return conn.execute(_TOTALS)
    hour = cutoff[:13]  # the cutoff's hour from the calls, the other hours from the rollup
    every, after, at = conn.execute(_SIDES, (hour, hour)).fetchone()
    before = every - after - at
    if before + conn.execute("SELECT count(*) FROM stats_totals").fetchone()[0] < after:
        # all history less what came before it: fewer rows to sum
        return chain(
            conn.execute(_TOTALS),
            _negated(conn.execute(_rollup("hour < ?", before, every), (hour,))),
            _negated(conn.execute(_EDGE, (hour, cutoff))),  # the cutoff's hour, before the cutoff
        )
    return chain(
        conn.execute(_EDGE, (cutoff, f"{hour};")),  # ';' sorts after every ':MM:SS'
        conn.execute(_rollup("hour > ?", after, every), (hour,)),
    )


# Counted along idx_stats_rollup_hour: every row, those after the cutoff's hour, those in it.
_SIDES = "SELECT count(*), count(*) FILTER (WHERE hour > ?), count(*) FILTER (WHERE hour = ?) FROM stats_rollup"
# A rollup row read through the hour index costs several times one read in a scan, but a scan reads them all:
# the index is the way when the rows wanted are a small share of the table.
INDEX_SHARE = 0.05


def _rollup(where: str, rows: int, every: int) -> str:
    how = "INDEXED BY idx_stats_rollup_hour" if rows < INDEX_SHARE * every else "NOT INDEXED"
    return f"SELECT model, project, task_id, {_SUM_LIST} FROM stats_rollup {how} WHERE {where} GROUP BY 1, 2, 3"


def _negated(rows: Iterable[tuple]) -> Iterable[tuple]:
    for row in rows:
        yield (*row[:3], *(-v for v in row[3:]))


def _groups_of(keys: tuple[str, str, str], by: tuple[str, ...]) -> list[GroupId]:
    return [("total", ""), *((name, keys[GROUPINGS.index(name)]) for name in by)]


def _fold(rows: Iterable[tuple], by: tuple[str, ...]) -> dict[GroupId, list]:
    """Each group's sums (stats_rollup.SUMS order), added up over its combinations."""
    sums: dict[GroupId, list] = {}
    for row in rows:
        values = row[3:]
        for group in _groups_of(row[:3], by):
            seen = sums.get(group)
            sums[group] = list(values) if seen is None else list(map(add, seen, values))
    calls = SUMS.index("calls")  # a group whose calls all came before the window is not in it
    return {group: v for group, v in sums.items() if v[calls] > 0 or group == ("total", "")}


_BUCKET_SLICES = {
    metric: slice(SUMS.index(bucket_columns(metric)[0]), SUMS.index(bucket_columns(metric)[-1]) + 1)
    for metric in METRICS
}


def _buckets(sums: list | None) -> Buckets:
    if sums is None:
        return {metric: [0] * (len(BOUNDS) + 1) for metric in METRICS}
    return {metric: sums[part] for metric, part in _BUCKET_SLICES.items()}


def group_percentiles(
    conn: sqlite3.Connection, cutoff: str | None, grouping: str | None = None, key: str | None = None
) -> dict[str, dict[str, float | None]] | None:
    """p50/p95 of latency and TTFT over calls since `cutoff` of one group (all calls when grouping is None),
    the way `r4u stats` finds them; None on a file without what that reads (older than stats_indexes_v2)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'idx_stats_rollup_hour'").fetchone() is None:
        return None
    by = (grouping,) if grouping else ()
    group: GroupId = (grouping, key or "") if grouping else ("total", "")
    sums = _fold(_window_sums(conn, cutoff), by)
    calls = SUMS.index("calls")
    total = sums.get(("total", ""))
    wanted = [Wanted(group, sums[group][calls] if group in sums else 0, _buckets(sums.get(group)))]
    return window_percentiles(conn, cutoff, wanted, total[calls] if total else 0)[group]


def collect_stats(
    db_path: str | Path,
    since: str | datetime | None = None,
    by: tuple[str, ...] = GROUPINGS,
    now: datetime | None = None,
    limit: int | None = None,
    method: Method | None = None,
) -> StatsReport:
    """Read traces.db (read-only) and aggregate the window [since, now].

    Each grouping lists its `limit` groups with the most spend (all when None); `method` forces how the
    percentiles are found (reports/stats_percentiles.py; by default the cheaper way)."""
    unknown = set(by) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}; choose from {', '.join(GROUPINGS)}")
    cutoff = since_cutoff(since, now)
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")  # one snapshot: the percentiles rank within the counts the sums found
        has_names = "name" in {r[1] for r in conn.execute("PRAGMA table_info(tasks)")}  # not in older files
        tasks = {
            r[0]: (r[1], r[2])
            for r in conn.execute(f"SELECT id, {'name' if has_names else 'NULL'}, template FROM tasks")
        }
        sums = _fold(_window_sums(conn, cutoff), by)
        stats: dict[GroupId, GroupStats] = {}
        for group, values in sums.items():
            name, key = group
            stats[group] = GroupStats(
                _none(key), "all calls" if name == "total" else _label(name, _none(key), tasks)
            )
            stats[group].set_sums(values)
        if ("total", "") not in stats:
            stats[("total", "")] = GroupStats(None, "all calls")
        total = stats[("total", "")]

        window = "AND started_at >= ?" if cutoff is not None else ""
        unpriced: dict[tuple[str | None, str | None, str | None], int] = {}
        for model, project, task, provider, host, reason, calls in conn.execute(
            _UNPRICED.format(window=window), (cutoff,) if cutoff is not None else ()
        ):
            for group in _groups_of((model, project, task), by):
                stats[group].add_unpriced(reason, calls)
            if reason == NO_PRICE:
                ident = (_none(model), provider, host)
                unpriced[ident] = unpriced.get(ident, 0) + calls

        shown = {
            name: sorted((g for g in stats if g[0] == name), key=lambda g: _sort_key(stats[g])) for name in by
        }
        more = (
            {name: max(0, len(groups) - limit) for name, groups in shown.items()} if limit is not None else {}
        )
        if limit is not None:
            shown = {name: groups[:limit] for name, groups in shown.items()}
        wanted = [
            Wanted(group, stats[group].calls, _buckets(sums.get(group)))
            for group in [("total", ""), *chain.from_iterable(shown.values())]
        ]
        for group, values in window_percentiles(conn, cutoff, wanted, total.calls, method).items():
            stats[group].set_percentiles(values)
    finally:
        conn.close()
    return StatsReport(
        since=cutoff,
        total=total,
        groups={name: [stats[group] for group in groups] for name, groups in shown.items()},
        unpriced=[
            UnpricedModel(*ident, calls=n)
            for ident, n in sorted(unpriced.items(), key=lambda item: (-item[1], str(item[0])))
        ],
        more=more,
    )
