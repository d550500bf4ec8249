"""`r4u export --format otlp`: every selected trace as a span, posted to a receiver in batches (or written
as OTLP/JSON lines), then one root span per session seen."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from r4u_proxy.export import rows as queries
from r4u_proxy.export.otlp import Backoff, Receiver, deliver, encode, request, to_json
from r4u_proxy.export.spans import Span, session_span, trace_span

MAX_BATCH_BYTES = 4 * 1024 * 1024  # one OTLP request stays well under receivers' usual 4-16 MB limits


def row_spans(conn: sqlite3.Connection, rows: list[dict[str, Any]], content: str, sessions: dict[str, str]) -> list[Span]:
    """Spans of a batch of trace rows (`sessions` caches session → top-level session across batches)."""
    queries.top_sessions(conn, {r["session_id"] for r in rows if r.get("session_id")}, sessions)
    return [trace_span(r, content=content, task=queries.task_of(r), sessions=sessions) for r in rows]


def root_spans(conn: sqlite3.Connection, session_ids: Iterable[str], sessions: dict[str, str]) -> list[Span]:
    ids = sorted(set(session_ids))
    queries.top_sessions(conn, set(ids), sessions)
    return [session_span(s, sessions) for s in queries.session_summaries(conn, ids)]


def chunks(spans: list[Span], encoding: str) -> Iterable[tuple[bytes, int]]:
    """Encoded requests of at most MAX_BATCH_BYTES (a single huge span still goes alone)."""
    start = 0
    while start < len(spans):
        end = len(spans)
        body = encode(spans[start:end], encoding)
        while len(body) > MAX_BATCH_BYTES and end - start > 1:
            end = start + max(1, (end - start) // 2)
            body = encode(spans[start:end], encoding)
        yield body, end - start
        start = end


@dataclass
class ExportReport:
    spans: int = 0
    requests: int = 0
    rejected: int = 0
    failed: int = 0  # spans whose request was given up on
    errors: list[str] = field(default_factory=list)


def export_otlp(
    db_path: str, selection: queries.Selection, *, receiver: Receiver | None = None, out: IO[str] | None = None,
    content: str = "none", batch: int = 500, attempts: int = 6,
) -> ExportReport:  # fmt: skip
    """Post (or write as OTLP/JSON lines to `out`) the spans of the selected traces and their sessions.

    A request the receiver still refuses after `attempts` (backoff 0.5 s doubling, at most 10 s apart) ends
    the run: what follows would meet the same receiver."""
    report = ExportReport()
    conn = queries.connect_readonly(db_path)
    sessions: dict[str, str] = {}
    seen: set[str] = set()
    try:
        for rows in queries.trace_batches(conn, selection, batch=batch, lean=content == "none"):
            seen.update(r["session_id"] for r in rows if r.get("session_id"))
            if not _send(row_spans(conn, rows, content, sessions), receiver, out, attempts, report):
                return report
        _send(root_spans(conn, seen, sessions), receiver, out, attempts, report)
    finally:
        conn.close()
    return report


def _send(spans: list[Span], receiver: Receiver | None, out: IO[str] | None, attempts: int, report: ExportReport) -> bool:
    """False when a request was given up on."""
    if not spans:
        return True
    if receiver is None:
        assert out is not None
        out.write(json.dumps(to_json(request(spans)), ensure_ascii=False) + "\n")
        report.spans += len(spans)
        report.requests += 1
        return True
    for body, count in chunks(spans, receiver.encoding):
        outcome = deliver(receiver, body, Backoff(cap=10.0), attempts=attempts)
        report.requests += 1
        if not outcome.ok:
            report.failed += count
            report.errors.append(outcome.message)
            return False
        report.spans += count - outcome.rejected
        report.rejected += outcome.rejected
    return True
