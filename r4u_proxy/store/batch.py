"""One batch of exchanges -> rows in traces.db: build, find sessions, store content once, insert.

The writer process (store/writer.py) builds every batch it takes off its channel with `build`, then
commits it with `commit`, retrying while the disk refuses; when idle it calls `idle()`. Tests and benches
call `write` (build and commit, a few retries) or `insert_built` to write exactly what the writer writes,
without a proxy.

Order inside `build`, per exchange: the body decoded, then redacted (ingest/redact.py), then hashed by the
session tracker's hasher (messages/hashing.py), then the row built from that text and hash. So what
content storage cuts into messages and stores by hash is the redacted text: a key never reaches disk, and
a message's hash is that of what is stored.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from typing import Any

from r4u_proxy.guard import COUNTERS, log
from r4u_proxy.ids import iso_utc
from r4u_proxy.ingest.redact_chunks import ChunkedRedactor
from r4u_proxy.ingest.row import build_row, request_text
from r4u_proxy.sessions.tracker import SessionTracker
from r4u_proxy.store.content.convert import Converter
from r4u_proxy.store.content.schema import LEGACY_COLUMNS, TRACE_TABLE
from r4u_proxy.store.content.store import ContentStore
from r4u_proxy.store.schema import trace_columns

# What the session tracker reads of an exchange; the bodies it needs are the row's (redacted) text.
SESSION_KEYS = ("id", "route", "request_headers", "session_hint", "t_request_start", "websocket")
HASHED = "hashed"  # a call's HashedRequest (of the row's request_body), kept with the call for retries


class BatchWriter:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.sessions = SessionTracker(conn)
        self.redactor = ChunkedRedactor()  # a turn's resent chunks are not scanned again
        self.contents = ContentStore(conn, hashers=[self.sessions.hasher])
        self.converter = Converter(conn, self.contents)
        self.row_columns = trace_columns(conn)  # after the migrations: every column a row can fill
        legacy = set(LEGACY_COLUMNS.values())
        self.columns = [r[1] for r in conn.execute(f"PRAGMA table_info({TRACE_TABLE})") if r[1] not in legacy]
        names = ", ".join(f"[{c}]" for c in self.columns)
        marks = ", ".join("?" * len(self.columns))
        self.insert_sql = f"INSERT OR IGNORE INTO {TRACE_TABLE} ({names}) VALUES ({marks})"

    # --- building ---------------------------------------------------------------------------------

    def build(self, exchanges: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The batch's rows, and what the session tracker and content storage read of each exchange
        (without its raw bodies). Never raises: a row that cannot be built becomes a minimal one."""
        rows, calls = [], []
        for exchange in exchanges:
            call = {k: exchange.get(k) for k in SESSION_KEYS}
            try:
                rows.append(self._build(exchange, call))
            except Exception as exc:  # keep the call visible even when its row cannot be built
                COUNTERS.add("analysis_errors")
                log.exception("r4u: could not build the row for trace %s", exchange.get("id"))
                rows.append(_minimal_row(exchange, exc))
            calls.append(call)
        return rows, calls

    def _build(self, exchange: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
        text = request_text(exchange)
        if text:
            text = self.redactor.redact(text)
        family = getattr(exchange.get("route"), "family", None)
        hashed = None
        if family and text and not exchange.get("request_truncated"):  # the head of a body is no conversation
            hashed = self.sessions.hasher.hash_request(family, text)  # incremental, see hashing.py
        call[HASHED] = hashed
        row = build_row(exchange, text, hashed)
        return {column: row.get(column) for column in self.row_columns}

    # --- writing ----------------------------------------------------------------------------------

    def commit(self, rows: list[dict[str, Any]], calls: list[dict[str, Any]], *, sessions: bool = True) -> int:
        """Sessions, contents and rows in one write transaction; returns the rows inserted. Rows whose id
        is stored already (a writer died after its commit, before its ack) are skipped. On any error
        nothing of it stays and the error is raised: the caller retries with the same rows (copies are
        stored, so a retry starts from the rows as built)."""
        conn = self.conn
        if conn.in_transaction:
            conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: a busy database fails here, before any work
        hashed = [call.get(HASHED) for call in calls]
        try:
            marks = ", ".join("?" * len(rows))
            stored = {
                r[0] for r in conn.execute(f"SELECT id FROM {TRACE_TABLE} WHERE id IN ({marks})", [r["id"] for r in rows])
            }
            fresh = [(dict(row), call) for row, call in zip(rows, calls, strict=True) if row["id"] not in stored]
            inserted = 0
            if fresh:
                if sessions:  # in order: a call's session can depend on the one before
                    self.sessions.hashed = {row["id"]: call.get(HASHED) for row, call in fresh}
                    self.sessions.assign([row for row, _ in fresh], [call for _, call in fresh], commit=False)
                if self.contents.begin():  # a prune swept contents since these requests were hashed
                    _clear_nodes(hashed)
                values = []
                for row, call in fresh:
                    family = getattr(call.get("route"), "family", None)
                    self.contents.store_row(row, family, call.get(HASHED))
                    values.append([row.get(c) for c in self.columns])
                inserted = max(conn.executemany(self.insert_sql, values).rowcount, 0)
            conn.execute("COMMIT")
            return inserted
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self.contents.forget()  # ids stored in the failed transaction are gone
            _clear_nodes(hashed)
            raise

    def write(self, exchanges: list[dict[str, Any]]) -> int:
        """Build and commit a batch, retrying a failing write twice; returns how many traces were
        recorded. Never raises (tests and benches; the writer process retries for as long as it takes)."""
        rows, calls = self.build(exchanges)
        return self._commit_retrying(rows, calls) if rows else 0

    def insert_built(self, rows: list[dict[str, Any]]) -> int:
        """Rows built elsewhere (tests, benches: their own prices or bulk data) stored as the writer
        stores them (content storage, one transaction), without session inference."""
        return self._commit_retrying(rows, [{"id": row["id"]} for row in rows], sessions=False)

    def idle(self) -> None:
        """Convert a batch of bodies written before content storage, if any are left (convert.py)."""
        self.converter.run_batch()

    def _commit_retrying(self, rows: list[dict[str, Any]], calls: list[dict[str, Any]], sessions: bool = True) -> int:
        for attempt in range(3):
            try:
                inserted = self.commit(rows, calls, sessions=sessions)
                COUNTERS.add("recorded", inserted)
                return inserted
            except Exception:
                if attempt == 2:
                    COUNTERS.add("write_errors", len(rows))
                    log.exception("r4u: could not write %d traces", len(rows))
                else:
                    time.sleep(0.2 * (attempt + 1))
        return 0


def _clear_nodes(hashed: list[Any]) -> None:
    """Node ids copied into these requests may name rows a rollback or a prune removed."""
    for one in hashed:
        if one is not None:
            one.nodes.clear()


def _minimal_row(exchange: dict[str, Any], exc: Exception) -> dict[str, Any]:
    return {
        "id": exchange.get("id"),
        "started_at": iso_utc(exchange.get("t_request_start") or time.time()),
        "method": exchange.get("method"),
        "host": exchange.get("host"),
        "path": exchange.get("path"),
        "status_code": exchange.get("status_code"),
        "error": exchange.get("error"),
        "parse_note": f"r4u could not build this row: {exc.__class__.__name__}: {exc}",
    }
