"""Trace ids: ULIDs, so ids sort by time (and `ORDER BY id` is `ORDER BY started_at`)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(at: float | None = None) -> str:
    """26 characters: 48 bits of milliseconds, then 80 random bits, in Crockford base32."""
    millis = int((time.time() if at is None else at) * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def iso_utc(at: float) -> str:
    """2026-11-27T04:17:14.123Z"""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
