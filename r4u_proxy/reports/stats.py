"""`r4u stats`: spend, calls, tokens and latency percentiles over a time window, grouped.

The numbers are computed here as plain data (the CLI renders them as tables or JSON), so
scripts and tests see exactly what the terminal shows. Errors, unpriced calls and percentiles
follow reports/metrics.py: unpriced calls are counted apart, with their reason, because their
cost is unknown, so spend never counts them as $0.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

from r4u_proxy.reports.metrics import (
    ERROR_SQL,
    NO_PRICE,
    PERCENTILES,
    UNPRICED_REASON_SQL,
    UNPRICED_SQL,
    percentile,
)
from r4u_proxy.reports.timewindow import since_cutoff

GROUPINGS = ("model", "project", "task")
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")

# Each query reads only the columns it needs, summed in SQL per (model, project, task) combination;
# the combinations are few, so folding them into the three groupings in Python is cheap. The sums group
# by the raw columns, in the order of idx_traces_stats (store/stats_index.py), so SQLite needs no sorter.
# Every latency and TTFT comes along as one text per combination (a Python row per call would cost
# seconds at a million calls); quote() writes a REAL so that float() reads back the same double.
_KEYS = "COALESCE(request_model, response_model) AS model, project, task_id"
_VALUES = {
    column: f"group_concat(quote({column}), ',') FILTER (WHERE {column} IS NOT NULL) AS {column}"
    for column in ("latency_ms", "ttft_ms")
}
_SUMS = f"""
SELECT {_KEYS}, count(*) AS calls, coalesce(sum({ERROR_SQL}), 0) AS errors, sum(cost_usd) AS spend_usd,
       {", ".join(f"coalesce(sum({t}), 0) AS {t}" for t in TOKENS)}, {", ".join(_VALUES.values())}
FROM traces {{where}} GROUP BY request_model, response_model, project, task_id
"""
# Unpriced calls are few and have a partial index (store/ui_indexes.py); the WHERE repeats UNPRICED_SQL.
_UNPRICED = f"""
SELECT {_KEYS}, provider, host, {UNPRICED_REASON_SQL} AS reason, count(*) AS calls
FROM traces WHERE {UNPRICED_SQL} {{window}} GROUP BY 1, 2, 3, 4, 5, 6
"""


def _floats(text: str | None) -> list[float]:
    return list(map(float, text.split(","))) if text else []


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

    def add_sums(self, row: sqlite3.Row) -> None:
        """Add one combination's counts and sums (a row of _SUMS)."""
        self.calls += row["calls"]
        self.errors += row["errors"]
        if row["spend_usd"] is not None:
            self.spend_usd = (self.spend_usd or 0.0) + row["spend_usd"]
        for name in TOKENS:
            setattr(self, name, getattr(self, name) + row[name])

    def add_unpriced(self, reason: str, calls: int) -> None:
        self.unpriced_calls += calls
        self.unpriced_reasons[reason] = self.unpriced_reasons.get(reason, 0) + calls

    def set_percentiles(self, prefix: str, ordered: list[float]) -> None:
        """latency_* or ttft_* from the group's values in ascending order (metrics.percentile)."""
        for name, percent in PERCENTILES.items():
            setattr(self, f"{prefix}_{name}_ms", percentile(ordered, percent))

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "total": self.total.as_dict(),
            **{f"by_{name}": [g.as_dict() for g in rows] for name, rows in self.groups.items()},
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


_COLUMN_OF = {"model": 0, "project": 1, "task": 2}  # position of a grouping's key in _KEYS


def collect_stats(
    db_path: str | Path,
    since: str | datetime | None = None,
    by: tuple[str, ...] = GROUPINGS,
    now: datetime | None = None,
) -> StatsReport:
    """Read traces.db (read-only) and aggregate the window [since, now]."""
    unknown = set(by) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}; choose from {', '.join(GROUPINGS)}")
    cutoff = since_cutoff(since, now)
    window, params = ("AND started_at >= ?", (cutoff,)) if cutoff is not None else ("", ())
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        has_names = "name" in {r[1] for r in conn.execute("PRAGMA table_info(tasks)")}  # not in older files
        tasks = {
            r[0]: (r[1], r[2])
            for r in conn.execute(f"SELECT id, {'name' if has_names else 'NULL'}, template FROM tasks")
        }
        total = GroupStats(None, "all calls")
        groups: dict[str, dict[str | None, GroupStats]] = {name: {} for name in by}

        def targets(row: sqlite3.Row | tuple) -> list[GroupStats]:
            found = [total]
            for name in by:
                key = row[_COLUMN_OF[name]]
                bucket = groups[name]
                if key not in bucket:
                    bucket[key] = GroupStats(key, _label(name, key, tasks))
                found.append(bucket[key])
            return found

        # every (model, project, task_id) in the window -> {"latency_ms": [...], "ttft_ms": [...]}
        values: dict[tuple, dict[str, list[float]]] = {}
        for row in conn.execute(_SUMS.format(where=f"WHERE {window[4:]}" if window else ""), params):
            # one combination can come as two rows: a model named as request_model and as response_model
            combo = values.setdefault(
                (row["model"], row["project"], row["task_id"]), {c: [] for c in _VALUES}
            )
            for column in _VALUES:
                combo[column] += _floats(row[column])
            for group in targets(row):
                group.add_sums(row)
        unpriced: dict[tuple[str | None, str | None, str | None], int] = {}
        for row in conn.execute(_UNPRICED.format(window=window), params):
            for group in targets(row):
                group.add_unpriced(row["reason"], row["calls"])
            if row["reason"] == NO_PRICE:
                ident = (row["model"], row["provider"], row["host"])
                unpriced[ident] = unpriced.get(ident, 0) + row["calls"]

        members: dict[int, list[dict[str, list[float]]]] = {}  # a group -> its combinations' values
        for combo, lists in values.items():
            for column in lists.values():
                column.sort()
            for group in targets(combo):
                members.setdefault(id(group), []).append(lists)
        for group in [total, *(g for bucket in groups.values() for g in bucket.values())]:
            for column, prefix in (("latency_ms", "latency"), ("ttft_ms", "ttft")):
                runs = [lists[column] for lists in members.get(id(group), [])]
                # each run is ascending: sorting their concatenation merges them
                group.set_percentiles(
                    prefix, runs[0] if len(runs) == 1 else sorted(chain.from_iterable(runs))
                )
    finally:
        conn.close()
    return StatsReport(
        since=cutoff,
        total=total,
        groups={name: sorted(bucket.values(), key=_sort_key) for name, bucket in groups.items()},
        unpriced=[
            UnpricedModel(*ident, calls=n)
            for ident, n in sorted(unpriced.items(), key=lambda item: (-item[1], str(item[0])))
        ],
    )
