"""Repeated identical requests: what a response cache in front of the API would have saved.

Two calls are identical when they go to the same provider, operation, path and model with the
same request body once the keys that do not change the answer are dropped (`stream`,
`stream_options`, `user`, `metadata`) and the keys are sorted. Only successful calls count: a
cache stores answers, not failures. The saving is the cost of every call but the first of a group.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field

from r4u_proxy.reports.metrics import SUCCESS_SQL

# Request keys that change how the answer is delivered or labelled, not what it says.
IGNORED_KEYS = ("stream", "stream_options", "user", "metadata")

_SUCCESS = SUCCESS_SQL


def body_fingerprint(body: str | None) -> str:
    """A hash of the request body with IGNORED_KEYS dropped and keys sorted (raw text if not JSON)."""
    text = body or ""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        for key in IGNORED_KEYS:
            value.pop(key, None)
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass
class RepeatGroup:
    provider: str | None
    operation: str | None
    model: str | None
    count: int  # calls with this exact request
    first_seen: str
    last_seen: str
    saving_usd: float | None  # cost of all calls but the first; None when none of them has a price
    unpriced_repeats: int  # repeats without a known cost (not counted in saving_usd)
    example_trace_id: str  # the first call of the group
    prompt_preview: str = ""


@dataclass
class Repeats:
    groups: list[RepeatGroup] = field(default_factory=list)  # most saving first, then most calls
    repeated_calls: int = 0  # calls a cache would have answered (all groups, not only those listed)
    saving_usd: float = 0.0  # over all groups


def _window(cutoff: str | None) -> tuple[str, list[str]]:
    return ("AND started_at >= ?", [cutoff]) if cutoff else ("", [])


def _candidate_rowids(conn: sqlite3.Connection, since: str, params: list[str]) -> list[int]:
    """Rows that share provider, model and input-token count with another row of the window.

    Identical requests report identical input-token counts, so only these can repeat. This pass
    reads the dashboard's covering index (no request bodies); the bodies are read only for the
    rows it returns, by rowid.
    """
    keys: dict[tuple, list[int]] = {}
    for rowid, provider, model, input_tokens in conn.execute(
        f"SELECT rowid, provider, request_model, input_tokens FROM traces WHERE {_SUCCESS} {since}", params
    ):
        keys.setdefault((provider, model, input_tokens), []).append(rowid)
    return sorted(rowid for rowids in keys.values() if len(rowids) > 1 for rowid in rowids)


_BATCH = 500  # rowids per query, under SQLite's bound-parameter limit


def find_repeats(conn: sqlite3.Connection, cutoff: str | None, limit: int) -> Repeats:
    since, params = _window(cutoff)
    rowids = _candidate_rowids(conn, since, params)
    groups: dict[tuple, list[sqlite3.Row]] = {}
    for start in range(0, len(rowids), _BATCH):
        batch = rowids[start : start + _BATCH]
        rows = conn.execute(
            f"""SELECT id, started_at, provider, operation, path, request_model, response_model,
                       request_body, cost_usd, prompt_text
                FROM traces WHERE rowid IN ({",".join("?" * len(batch))})""",
            batch,
        )
        for row in rows:
            key = (row[2], row[3], row[4], row[5], body_fingerprint(row[7]))
            groups.setdefault(key, []).append(row)

    result = Repeats()
    for rows in groups.values():
        if len(rows) < 2:
            continue
        rows.sort(key=lambda r: (r[1] or "", r[0]))
        repeats = rows[1:]
        costs = [r[8] for r in repeats if r[8] is not None]
        saving = sum(costs) if costs else None
        first = rows[0]
        result.repeated_calls += len(repeats)
        result.saving_usd += saving or 0.0
        result.groups.append(
            RepeatGroup(
                provider=first[2],
                operation=first[3],
                model=first[5] or first[6],
                count=len(rows),
                first_seen=first[1],
                last_seen=rows[-1][1],
                saving_usd=saving,
                unpriced_repeats=len(repeats) - len(costs),
                example_trace_id=first[0],
                prompt_preview=" ".join((first[9] or "").split())[:120],
            )
        )
    result.groups.sort(key=lambda g: (-(g.saving_usd or 0.0), -g.count, g.first_seen))
    del result.groups[limit:]
    return result
