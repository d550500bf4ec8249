"""The writer thread: the only place that writes traces.

The proxy's event loop only ever calls `submit()`, which never blocks: when the bounded
queue is full the trace is dropped and counted. The thread turns exchanges into rows
(parsing, reassembly, pricing) and inserts them in batches through sqlite-utils.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path
from typing import Any

import sqlite_utils

from ..guard import COUNTERS, log
from .migrations import open_db
from .schema import TRACE_COLUMNS

_STOP = object()


class TraceWriter:
    def __init__(
        self,
        db_path: str | Path,
        *,
        queue_size: int = 10_000,
        stats_file: str | Path | None = None,
        batch_size: int = 200,
    ) -> None:
        self.db_path = str(db_path)
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.stats_file = Path(stats_file) if stats_file else None
        self.batch_size = batch_size
        self.thread = threading.Thread(target=self._run, name="r4u-writer", daemon=True)
        self._last_drop_log = 0.0
        self._stats_written_at = 0.0
        self._ready = threading.Event()
        self.start_error: BaseException | None = None

    def start(self) -> None:
        self.thread.start()
        self._ready.wait(30)
        if self.start_error is not None:
            raise self.start_error

    def submit(self, exchange: dict[str, Any]) -> bool:
        try:
            self.queue.put_nowait(exchange)
            return True
        except queue.Full:
            COUNTERS.add("dropped")
            now = time.monotonic()
            if now - self._last_drop_log > 5:
                self._last_drop_log = now
                log.warning("r4u: writer queue full (%d); dropping traces", self.queue.maxsize)
            return False

    def close(self, timeout: float = 60) -> None:
        """Write everything queued so far, then stop."""
        if not self.thread.is_alive():
            return
        self.queue.put(_STOP)  # may wait for room; at shutdown that is what we want
        self.thread.join(timeout)

    # --- the thread -------------------------------------------------------------

    def _run(self) -> None:
        from ..record import build_row  # imported here: the heavy parsing stack loads off the loop

        try:
            conn = open_db(self.db_path)
        except BaseException as exc:
            self.start_error = exc
            self._ready.set()
            return
        db = sqlite_utils.Database(conn)
        table = db.table("traces")
        self._ready.set()
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            rows = []
            for exchange in batch:
                try:
                    rows.append(self._complete(build_row(exchange)))
                except Exception:
                    COUNTERS.add("analysis_errors")
                    log.exception("r4u: could not build the row for trace %s", exchange.get("id"))
            if rows:
                self._insert(table, rows)
            self._publish_stats(force=stopping)
        conn.close()

    def _next_batch(self) -> tuple[list[dict[str, Any]], bool]:
        try:
            first = self.queue.get(timeout=1.0)
        except queue.Empty:
            return [], False
        if first is _STOP:
            return [], True
        batch = [first]
        while len(batch) < self.batch_size:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    @staticmethod
    def _complete(row: dict[str, Any]) -> dict[str, Any]:
        return {column: row.get(column) for column in TRACE_COLUMNS}

    def _insert(self, table: sqlite_utils.db.Table, rows: list[dict[str, Any]]) -> None:
        for attempt in range(3):
            try:
                table.insert_all(rows, batch_size=len(rows), ignore=True)  # ids are unique ULIDs
                COUNTERS.add("recorded", len(rows))
                return
            except Exception:
                if attempt == 2:
                    COUNTERS.add("write_errors", len(rows))
                    log.exception("r4u: could not write %d traces to %s", len(rows), self.db_path)
                else:
                    time.sleep(0.2 * (attempt + 1))

    def _publish_stats(self, force: bool = False) -> None:
        if self.stats_file is None:
            return
        now = time.monotonic()
        if not force and now - self._stats_written_at < 1.0:
            return
        self._stats_written_at = now
        stats = COUNTERS.snapshot() | {"queue_depth": self.queue.qsize(), "queue_size": self.queue.maxsize}
        try:
            tmp = self.stats_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(stats))
            tmp.replace(self.stats_file)
        except OSError:
            log.exception("r4u: could not write %s", self.stats_file)
