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
from pathlib import Path
from typing import Any

from r4u_proxy.reports.metrics import NO_PRICE, PERCENTILES, is_error, percentile, unpriced_reason
from r4u_proxy.reports.timewindow import since_cutoff

GROUPINGS = ("model", "project", "task")

_SELECT = """
SELECT COALESCE(t.request_model, t.response_model) AS model, t.request_model, t.response_model,
       t.project, t.task_id, tk.template, tk.name AS task_name,
       t.provider, t.host, t.status_code, t.error, t.cost_usd, t.price_source, t.input_tokens, t.output_tokens,
       t.cache_read_tokens, t.cache_write_tokens, t.reasoning_tokens, t.latency_ms, t.ttft_ms
FROM traces AS t LEFT JOIN tasks AS tk ON tk.id = t.task_id
"""


@dataclass
class GroupStats:
    key: str | None  # model name, project, or task id; None when the trace has none
    label: str  # what a person reads: "(no project)", a task's template start, ...
    calls: int = 0
    errors: int = 0  # HTTP status >= 400 or a transport/stream error (metrics.is_error)
    spend_usd: float | None = None  # sum over priced calls; None when no call here has a price
    unpriced_calls: int = 0  # calls that succeeded without a known cost (metrics.unpriced_reason)
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
    _latencies: list[float] = field(default_factory=list, repr=False)
    _ttfts: list[float] = field(default_factory=list, repr=False)

    def add(self, row: dict[str, Any], reason: str | None) -> None:
        """Count one trace row; `reason` is its metrics.unpriced_reason."""
        self.calls += 1
        self.errors += is_error(row["status_code"], row["error"])
        if row["cost_usd"] is not None:
            self.spend_usd = (self.spend_usd or 0.0) + row["cost_usd"]
        elif reason is not None:
            self.unpriced_calls += 1
            self.unpriced_reasons[reason] = self.unpriced_reasons.get(reason, 0) + 1
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        ):
            setattr(self, name, getattr(self, name) + (row[name] or 0))
        if row["latency_ms"] is not None:
            self._latencies.append(row["latency_ms"])
        if row["ttft_ms"] is not None:
            self._ttfts.append(row["ttft_ms"])

    def finish(self) -> None:
        self._latencies.sort()
        self._ttfts.sort()
        self.latency_p50_ms = percentile(self._latencies, PERCENTILES["p50"])
        self.latency_p95_ms = percentile(self._latencies, PERCENTILES["p95"])
        self.ttft_p50_ms = percentile(self._ttfts, PERCENTILES["p50"])
        self.ttft_p95_ms = percentile(self._ttfts, PERCENTILES["p95"])

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


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


def _group_key(grouping: str, row: dict[str, Any]) -> tuple[str | None, str]:
    if grouping == "model":
        return row["model"], row["model"] or "(no model)"
    if grouping == "project":
        return row["project"], row["project"] or "(no project)"
    task_id = row["task_id"]
    if task_id is None:
        return None, "(no task yet)"
    if row["task_name"]:
        return task_id, row["task_name"]
    template = " ".join((row["template"] or "").split())
    return task_id, f"{task_id[:10]} {template[:40]}".strip()


def _sort_key(group: GroupStats) -> tuple[float, int, str]:
    return (-(group.spend_usd or 0.0), -group.calls, group.label)


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
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        select = _SELECT
        if "name" not in {r[1] for r in conn.execute("PRAGMA table_info(tasks)")}:
            select = select.replace("tk.name AS task_name", "NULL AS task_name")  # a file from before task names
        query, params = select, ()
        if cutoff is not None:
            query, params = f"{select} WHERE t.started_at >= ?", (cutoff,)
        rows = [dict(row) for row in conn.execute(query, params)]
    finally:
        conn.close()

    total = GroupStats(None, "all calls")
    groups: dict[str, dict[str | None, GroupStats]] = {name: {} for name in by}
    unpriced: dict[tuple[str | None, str | None, str | None], int] = {}
    for row in rows:
        reason = unpriced_reason(row)
        total.add(row, reason)
        for name in by:
            key, label = _group_key(name, row)
            groups[name].setdefault(key, GroupStats(key, label)).add(row, reason)
        if reason == NO_PRICE:
            ident = (row["model"], row["provider"], row["host"])
            unpriced[ident] = unpriced.get(ident, 0) + 1

    total.finish()
    for bucket in groups.values():
        for group in bucket.values():
            group.finish()
    return StatsReport(
        since=cutoff,
        total=total,
        groups={name: sorted(bucket.values(), key=_sort_key) for name, bucket in groups.items()},
        unpriced=[
            UnpricedModel(*ident, calls=n)
            for ident, n in sorted(unpriced.items(), key=lambda item: (-item[1], str(item[0])))
        ],
    )
