"""The time bucket of the dashboard's charts, chosen from the window: 5 minutes, an hour, a day or a week.

The finest bucket that gives at most MAX_BARS bars over the window (for "all": from the first call to now),
and every bucket of the window is a bar, empty ones too, so a 7-day window of one day's traffic shows that
day's hours among seven days, not one bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_BARS = 200


@dataclass(frozen=True)
class Bucket:
    name: str
    size: timedelta
    sql: str  # the bucket key of an ISO time column `{column}` ('2026-12-01T13:05:00.000Z')

    def key(self, at: datetime) -> str:
        """The same key in Python, for the buckets no call fell into."""
        if self.name == "5 minutes":
            return at.strftime("%Y-%m-%dT%H:") + f"{at.minute // 5 * 5:02d}"
        if self.name == "hour":
            return at.strftime("%Y-%m-%dT%H")
        if self.name == "day":
            return at.strftime("%Y-%m-%d")
        return (at - timedelta(days=at.weekday())).strftime("%Y-%m-%d")

    def label(self, key: str) -> str:
        if self.name == "hour":
            return key.replace("T", " ") + ":00"
        if self.name == "week":
            return f"week of {key}"
        return key.replace("T", " ")


BUCKETS = (
    Bucket("5 minutes", timedelta(minutes=5),
           "substr({column}, 1, 14) || printf('%02d', cast(substr({column}, 15, 2) as integer) / 5 * 5)"),
    Bucket("hour", timedelta(hours=1), "substr({column}, 1, 13)"),
    Bucket("day", timedelta(days=1), "substr({column}, 1, 10)"),
    Bucket("week", timedelta(days=7), "date(substr({column}, 1, 10), '-6 days', 'weekday 1')"),  # its Monday
)  # fmt: skip
HOURLY_OR_COARSER = BUCKETS[1:]  # what the hourly rollup can give


def choose(span: timedelta, choices: tuple[Bucket, ...] = BUCKETS) -> Bucket:
    for bucket in choices:
        if span / bucket.size <= MAX_BARS:
            return bucket
    return choices[-1]


def every_key(bucket: Bucket, start: datetime, end: datetime) -> list[str]:
    """The keys of every bucket from the one holding `start` to the one holding `end`, in order."""
    keys, at = [], start
    while at <= end:
        key = bucket.key(at)
        if not keys or keys[-1] != key:
            keys.append(key)
        at += bucket.size if bucket.name != "week" else timedelta(days=1)  # a week starts on its Monday
    if bucket.key(end) not in keys:
        keys.append(bucket.key(end))
    return keys
