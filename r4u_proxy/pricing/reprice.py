"""`r4u reprice`: recompute the cost of recorded traces after prices changed.

Prices change under a history: genai-prices gets upgraded (or fetches fresh data), the user
adds an override for a private model. Each trace keeps the usage the provider reported, so
its cost can be recomputed; only rows whose cost, matched model or price source change are
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from r4u_proxy.pricing.prices import TOKEN_COLUMNS, price_row
from r4u_proxy.pricing.schema import PRICING_INPUT_COLUMNS
from r4u_proxy.reports.timewindow import since_cutoff
from r4u_proxy.store.migrations import open_db

# Everything price_row reads, none of it a body (pricing/schema.py stores the tier and 1-hour writes).
_COLUMNS = (
    "id",
    "provider",
    "host",
    "request_model",
    "response_model",
    "started_at",
    *TOKEN_COLUMNS,
    *PRICING_INPUT_COLUMNS,
    "cost_usd",
    "priced_model",
    "price_source",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM traces"


@dataclass(frozen=True)
class RepriceResult:
    checked: int  # traces looked at
    changed: int  # traces whose cost, priced_model or price_source was rewritten
    unpriced: int  # traces left without a cost (unknown model or no usage)


def _same_cost(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is new
    return abs(old - new) <= 1e-12  # float round-trip through SQLite, not a price change


def reprice_traces(db_path: str | Path, since: str | datetime | None = None) -> RepriceResult:
    """Reprice the traces started at or after `since` (a span like "7d", a datetime, or None for all)."""
    cutoff = since_cutoff(since)
    conn = open_db(db_path)
    try:
        query, params = _SELECT, ()
        if cutoff is not None:
            query, params = f"{_SELECT} WHERE started_at >= ?", (cutoff,)
        cursor = conn.execute(query, params)
        names = [d[0] for d in cursor.description]
        updates: list[tuple[float | None, str | None, str, str]] = []
        checked = unpriced = 0
        while rows := cursor.fetchmany(500):
            for values in rows:
                row = dict(zip(names, values, strict=True))
                new = price_row(row)
                checked += 1
                unpriced += new.cost_usd is None
                if (
                    not _same_cost(row["cost_usd"], new.cost_usd)
                    or row["priced_model"] != new.priced_model
                    or row["price_source"] != new.source
                ):
                    updates.append((new.cost_usd, new.priced_model, new.source, row["id"]))
        with conn:
            conn.executemany(
                "UPDATE traces SET cost_usd = ?, priced_model = ?, price_source = ? WHERE id = ?", updates
            )
        return RepriceResult(checked, len(updates), unpriced)
    finally:
        conn.close()


def reprice(db_path: str | Path, since: str | datetime | None = None) -> int:
    """Reprice history; returns how many traces changed (see reprice_traces for the details)."""
    return reprice_traces(db_path, since).changed
