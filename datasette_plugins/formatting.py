"""Jinja filters for numbers a user reads: money, durations, token counts."""

from __future__ import annotations

from typing import Any


def usd(value: Any) -> str:
    if value is None:
        return "—"
    value = float(value)
    if value == 0:
        return "$0"
    if abs(value) < 0.0001:
        return f"${value:.6f}"
    if abs(value) < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def ms(value: Any) -> str:
    if value is None:
        return "—"
    value = float(value)
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    return f"{value:,.0f} ms"


def count(value: Any) -> str:
    if value is None:
        return "—"
    return f"{int(value):,}"


def percent(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.1f}%"


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
    "r4u_usd": usd,
    "r4u_ms": ms,
    "r4u_count": count,
    "r4u_percent": percent,
    "r4u_short": short,
}
