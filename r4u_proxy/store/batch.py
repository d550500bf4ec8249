"""One batch of exchanges -> rows in traces.db: build, find sessions, store content once, insert.

The writer process (store/writer.py) calls `BatchWriter.write` for every batch it takes off its queue, and
`idle()` when the queue is empty; tests and benches call them directly to write exactly what the writer
writes, without a proxy.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from r4u_proxy.guard import COUNTERS, log
from r4u_proxy.ingest.row import build_row, request_text
from r4u_proxy.sessions.tracker import SessionTracker
from r4u_proxy.store.content.convert import Converter
from r4u_proxy.store.content.schema import LEGACY_COLUMNS, TRACE_TABLE
from r4u_proxy.store.content.store import ContentStore
from r4u_proxy.store.schema import trace_columns


class BatchWriter:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.sessions = SessionTracker(conn)
        self.contents = ContentStore(conn, hashers=[self.sessions.hasher])
        self.converter = Converter(conn, self.contents)
        self.row_columns = trace_columns(conn)  # after the migrations: every column a row can fill
        legacy = set(LEGACY_COLUMNS.values())
        self.columns = [r[1] for r in conn.execute(f"PRAGMA table_info({TRACE_TABLE})") if r[1] not in legacy]
        names = ", ".join(f"[{c}]" for c in self.columns)
        self.insert_sql = f"INSERT OR IGNORE INTO {TRACE_TABLE} ({names}) VALUES ({', '.join('?' * len(self.columns))})"

    def write(self, exchanges: list[dict[str, Any]]) -> int:
        """Write the batch; returns how many traces were recorded. Never raises."""
        rows, kept = [], []
        self.sessions.hashed = {}
        for exchange in exchanges:
            try:
                text = request_text(exchange)
                family = getattr(exchange.get("route"), "family", None)
                hashed = self.sessions.hash_request(exchange["id"], family, text)  # incremental, see hashing.py
                row = build_row(exchange, text, hashed)
                rows.append({column: row.get(column) for column in self.row_columns})
                kept.append(exchange)
            except Exception:
                COUNTERS.add("analysis_errors")
                log.exception("r4u: could not build the row for trace %s", exchange.get("id"))
        if not rows:
            return 0
        return self._insert(rows, kept)

    def idle(self) -> None:
        self.converter.run_batch()

    def insert_built(self, rows: list[dict[str, Any]]) -> int:
        """Rows built elsewhere (tests, benches: their own prices or bulk data) stored as the writer
        stores them (content storage, one transaction), without session inference."""
        self.sessions.hashed = {}
        return self._insert(rows, None)

    def _insert(self, rows: list[dict[str, Any]], exchanges: list[dict[str, Any]] | None) -> int:
        """Sessions, contents and rows in one transaction: nothing on disk refers to what is not."""
        hashed = self.sessions.hashed
        for attempt in range(3):
            try:
                if self.conn.in_transaction:
                    self.conn.commit()
                self.conn.execute("BEGIN IMMEDIATE")
                # In order: a call's session can depend on the one before. Again on a retry (rolled back).
                if exchanges is not None:
                    self.sessions.assign(rows, exchanges, commit=False)
                if self.contents.begin():  # a prune swept contents since these requests were hashed
                    for one in hashed.values():
                        one.nodes.clear()
                values = []
                for row, exchange in zip(rows, exchanges or [{}] * len(rows), strict=True):
                    stored = dict(row)  # a retry starts again from the row as built
                    family = getattr(exchange.get("route"), "family", None)
                    self.contents.store_row(stored, family, hashed.get(row["id"]))
                    values.append([stored.get(c) for c in self.columns])
                self.conn.executemany(self.insert_sql, values)  # ids are unique ULIDs
                self.conn.commit()
                COUNTERS.add("recorded", len(rows))
                return len(rows)
            except Exception:
                self._roll_back(hashed.values())
                if attempt == 2:
                    COUNTERS.add("write_errors", len(rows))
                    log.exception("r4u: could not write %d traces", len(rows))
                else:
                    time.sleep(0.2 * (attempt + 1))
        return 0

    def _roll_back(self, hashed: Any) -> None:
        try:
            self.conn.rollback()
        except Exception:
            log.exception("r4u: rollback failed")
        self.contents.forget()  # ids stored in the failed transaction are gone
        for one in hashed:
            one.nodes.clear()
