"""`r4u insights`: where recorded LLM spend could shrink, as plain data for the CLI and the UI.

Three findings over a time window:
- repeats.py: repeated identical requests, and what a response cache would have saved;
- prefixes.py: long stable prompt prefixes that miss the provider's prompt cache;
- whatif.py: each expensive task's token usage priced at other models' prices (arithmetic only).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from r4u_proxy.reports.insights.prefixes import DEFAULT_SAMPLE, PrefixFinding, find_uncached_prefixes
from r4u_proxy.reports.insights.repeats import Repeats, find_repeats
from r4u_proxy.reports.insights.whatif import WhatIf, what_if
from r4u_proxy.reports.timewindow import since_cutoff

__all__ = ["InsightsReport", "collect_insights", "insights_from_connection"]


@dataclass
class InsightsReport:
    since: str | None  # the started_at cutoff (ISO UTC), None for all history
    repeats: Repeats
    prefixes: list[PrefixFinding]
    what_if: WhatIf

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def insights_from_connection(
    conn: sqlite3.Connection, cutoff: str | None, limit: int = 10, sample: int = DEFAULT_SAMPLE
) -> InsightsReport:
    """All three findings from an open connection (the UI passes Datasette's)."""
    return InsightsReport(
        since=cutoff,
        repeats=find_repeats(conn, cutoff, limit),
        prefixes=find_uncached_prefixes(conn, cutoff, limit, sample),
        what_if=what_if(conn, cutoff, limit),
    )


def collect_insights(
    db_path: str | Path,
    since: str | datetime | None = None,
    limit: int = 10,
    now: datetime | None = None,
    sample: int = DEFAULT_SAMPLE,
) -> InsightsReport:
    """Read traces.db (read-only) over [since, now]. Raises ValueError for an unreadable `since`."""
    cutoff = since_cutoff(since, now)
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    try:
        return insights_from_connection(conn, cutoff, limit, sample)
    finally:
        conn.close()
