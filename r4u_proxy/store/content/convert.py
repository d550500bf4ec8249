"""Bodies written before content storage, converted in place: oldest first, one batch per transaction.

`content_store_v1` only renames and creates (quick, one transaction); the rows it found keep their bodies
in trace_rows.legacy_request_body / legacy_prompt_text, and `traces` shows those as they are, so nothing
reads differently meanwhile. The writer converts a batch whenever it is idle, `r4u prune` finishes the job
first; each batch commits with a bookmark (`content_state.converted_rowid`), so an interrupted conversion
resumes where it stopped. A row is left out of full-text search until it is converted (schema.PENDING):
oldest first, so the call that first sent a message is the one search finds.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from r4u_proxy.guard import log
from r4u_proxy.messages.hashing import RequestHasher
from r4u_proxy.providers import route
from r4u_proxy.store.content.schema import PENDING, TRACE_TABLE
from r4u_proxy.store.content.store import ContentStore

BATCH = 200


def _state(conn: sqlite3.Connection, key: str) -> int | None:
    row = conn.execute("SELECT value FROM content_state WHERE key = ?", [key]).fetchone()
    return None if row is None or row[0] is None else int(row[0])


class Converter:
    def __init__(self, conn: sqlite3.Connection, store: ContentStore | None = None) -> None:
        self.conn = conn
        self.hasher = RequestHasher()
        self.store = store or ContentStore(conn)
        self.store.hashers.append(self.hasher)
        self.done = False

    def remaining(self) -> int:
        """Rows still holding a body of their own (an upper bound: rows without a body count too)."""
        last, bookmark = _state(self.conn, "legacy_max_rowid"), _state(self.conn, "converted_rowid") or 0
        if last is None or bookmark >= last:
            return 0
        return self.conn.execute(
            f"SELECT count(*) FROM {TRACE_TABLE} WHERE rowid > ? AND rowid <= ?", [bookmark, last]
        ).fetchone()[0]

    def run_batch(self, limit: int | None = None) -> int:
        """Convert up to `limit` (BATCH) rows; returns how many rows the batch covered (0: nothing left)."""
        if self.done:
            return 0
        if self.conn.in_transaction:
            self.conn.commit()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            covered = self._batch(limit or BATCH)
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            self.store.forget()
            log.exception("r4u: converting stored bodies failed; will retry")
            return 0
        if covered == 0:
            self.done = True
        return covered

    def run_all(self, progress: Callable[[int], None] | None = None, budget_s: float | None = None) -> int:
        """Convert everything left (or until `budget_s` seconds have passed); returns rows covered."""
        started, total = time.monotonic(), 0
        while covered := self.run_batch():
            total += covered
            if progress is not None:
                progress(total)
            if budget_s is not None and time.monotonic() - started > budget_s:
                break
        return total

    def _batch(self, limit: int) -> int:
        last, bookmark = _state(self.conn, "legacy_max_rowid"), _state(self.conn, "converted_rowid") or 0
        if last is None or bookmark >= last:
            return 0
        self.store.begin()
        rows = self.conn.execute(
            f"""SELECT rowid, id, host, path, legacy_request_body, legacy_prompt_text, response_body,
                       {PENDING.format(row=TRACE_TABLE)}
                FROM {TRACE_TABLE} WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?""",
            [bookmark, last, limit],
        ).fetchall()
        for rowid, trace_id, host, path, body, prompt, response, pending in rows:
            if pending:
                self._convert(rowid, trace_id, host, path, body, prompt, response)
        covered_to = rows[-1][0] if rows else last
        self.conn.execute(
            "INSERT OR REPLACE INTO content_state (key, value) VALUES ('converted_rowid', ?)", [covered_to]
        )
        return len(rows)

    def _convert(
        self, rowid: int, trace_id: str, host: str | None, path: str | None, body: str | None,
        prompt: str | None, response: str | None,
    ) -> None:  # fmt: skip
        found = route(host or "", path or "")
        family = found.family if found is not None else None
        hashed = self.hasher.hash_request(family, body) if family and body else None
        row = {"id": trace_id, "request_body": body, "prompt_text": prompt, "response_body": response}
        try:
            self.store.store_row(row, family, hashed)
        except Exception:  # one odd body must not hold up the rest; it keeps reading as it was
            log.exception("r4u: could not convert the body of trace %s", trace_id)
            return
        self.conn.execute(
            f"""UPDATE {TRACE_TABLE} SET request_content = ?, request_tip = ?, response_content = ?,
                  response_body = ?, legacy_request_body = NULL, legacy_prompt_text = NULL WHERE rowid = ?""",
            [row.get("request_content"), row.get("request_tip"), row.get("response_content"),
             row.get("response_body"), rowid],
        )  # fmt: skip
