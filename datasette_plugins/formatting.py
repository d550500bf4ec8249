"""Jinja filters for what a user reads. Money, durations, counts and rates come from
r4u_proxy/reports/metrics.py, so a page shows a figure exactly as the terminal does."""

from __future__ import annotations

from typing import Any

from r4u_proxy.reports.metrics import count, duration, money, percent


def short(value: Any, length: int = 120) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def when(value: Any) -> str:
    """2026-11-27T04:17:14.123Z -> 2026-11-27 04:17:14 (UTC, as stored)."""
    if not value:
        return "—"
    return str(value).replace("T", " ")[:19]


FILTERS = {
    "r4u_when": when,
    "r4u_usd": money,
    "r4u_ms": duration,
    "r4u_count": count,
    "r4u_percent": percent,
    "r4u_short": short,
}
