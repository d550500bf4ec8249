"""`--since 24h`: turn a look-back window into the started_at cutoff traces are compared with."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def iso_utc(moment: datetime) -> str:
    """The traces.started_at format (ISO-8601 UTC, milliseconds, Z), which sorts as text."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def since_cutoff(since: str | datetime | None, now: datetime | None = None) -> str | None:
    """`24h`, `30m`, `7d`, `2w` before now, or an ISO date/time; None means all history.

    Raises ValueError with a message fit for the command line.
    """
    if since is None or since == "":
        return None
    if isinstance(since, datetime):
        return iso_utc(since)
    match = _SPAN.match(since)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return iso_utc((now or datetime.now(tz=UTC)) - timedelta(**{_UNITS[unit]: amount}))
    try:
        return iso_utc(datetime.fromisoformat(since.strip().replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"cannot read --since {since!r}: use a span like 30m, 24h, 7d, 2w or a date like 2026-11-01"
        ) from None
