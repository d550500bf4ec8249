"""The writer: the only place that writes traces, in a process of its own.

The proxy's event loop only ever calls `submit()`, which never blocks: when the bounded
queue is full the trace is dropped and counted. The writer process turns exchanges into
rows (parsing, reassembly, pricing) and inserts them in batches through sqlite-utils.

Why a process and not a thread: a thread shares the proxy's GIL, and the event loop then waited
for it after every socket call (the profile is in docs/benchmarks.md). Handing the exchange over
costs one pickle.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import signal
import time
from pathlib import Path
from typing import Any

from r4u_proxy.guard import COUNTERS, log
from r4u_proxy.ingest.exchange import Exchange

BATCH_WINDOW_S = 0.05  # a trace is on disk at most this much later than without batching
PART = "part"  # (PART, trace id, chunks): body chunks that come ahead of their exchange
PART_TTL_S = 600  # parts whose exchange never came (it was dropped) are forgotten after this
SOCKET = "socket"  # (SOCKET, connection id, opening, messages, lost, ending): a WebSocket's messages, in order
_STOP = None  # the sentinel that ends the writer after everything before it is written
_CONTEXT = multiprocessing.get_context("spawn")  # never fork a process with an event loop and threads


class WriterStartError(RuntimeError):
    pass


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
        self.queue_size = queue_size
        self.queue: Any = _CONTEXT.Queue(maxsize=queue_size)
        self._ready: Any = _CONTEXT.Queue()
        shared = _CONTEXT.Array("q", len(COUNTERS.NAMES))
        COUNTERS.attach(shared)
        self.process = _CONTEXT.Process(
            target=run_writer,
            args=(self.db_path, self.queue, self._ready, shared, str(stats_file or ""), batch_size, queue_size),
            name="r4u-writer",
            daemon=True,
        )
        self._last_drop_log = 0.0

    def start(self) -> None:
        self.process.start()
        try:
            error = self._ready.get(timeout=60)
        except queue.Empty:
            error = "the writer process did not start within 60 s"
        if error is not None:
            self.process.kill()
            raise WriterStartError(error)

    def submit(self, exchange: Exchange) -> bool:
        try:
            self.queue.put_nowait(exchange)
            return True
        except queue.Full:
            COUNTERS.add("dropped")
            now = time.monotonic()
            if now - self._last_drop_log > 5:
                self._last_drop_log = now
                log.warning("r4u: writer queue full (%d); dropping traces", self.queue_size)
            return False

    def submit_part(self, trace_id: str, chunks: list[tuple[float, bytes]]) -> bool:
        """Hand on the first chunks of a long response body before its exchange is complete."""
        try:
            self.queue.put_nowait((PART, trace_id, chunks))
            return True
        except queue.Full:
            return False

    def submit_socket(self, batch: tuple) -> bool:
        """Hand on a batch of WebSocket messages (see addons/websocket.py); False when the queue is full."""
        try:
            self.queue.put_nowait(batch)
            return True
        except queue.Full:
            return False

    def close(self, timeout: float = 60) -> None:
        """Write everything queued so far, then stop."""
        if not self.process.is_alive():
            return
        self.queue.put(_STOP)  # may wait for room; at shutdown that is what we want
        self.process.join(timeout)
        if self.process.is_alive():
            log.error("r4u: the writer did not finish within %.0f s; stopping it", timeout)
            self.process.kill()


# --- the writer process ------------------------------------------------------------


def run_writer(
    db_path: str, work: Any, ready: Any, shared: Any, stats_file: str, batch_size: int, queue_size: int
) -> None:
    # Ctrl-C reaches the whole process group; the proxy decides when the writer stops (after a flush).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    COUNTERS.attach(shared)
    try:
        from r4u_proxy.store.migrations import open_db

        conn = open_db(db_path)
    except Exception as exc:
        ready.put(f"cannot open the database {db_path}: {exc}")
        return
    ready.put(None)
    _Loop(conn, work, Path(stats_file) if stats_file else None, batch_size, queue_size).run()
    conn.close()


class _Loop:
    def __init__(self, conn: Any, work: Any, stats_file: Path | None, batch_size: int, queue_size: int) -> None:
        import sqlite_utils

        from r4u_proxy.ingest.row import build_row
        from r4u_proxy.ingest.websocket import Sockets
        from r4u_proxy.sessions.tracker import SessionTracker
        from r4u_proxy.store.schema import trace_columns

        self.db = sqlite_utils.Database(conn)
        self.table = self.db.table("traces")
        self.sockets = Sockets()
        self.build_row = build_row
        self.columns = trace_columns(conn)  # after the migrations: every column a row can fill
        self.sessions = SessionTracker(conn)
        self.work = work
        self.stats_file = stats_file
        self.batch_size = batch_size
        self.queue_size = queue_size
        self.parent = os.getppid()
        self._stats_written_at = 0.0
        self.parts: dict[str, list[tuple[float, bytes]]] = {}
        self.parts_since: dict[str, float] = {}

    def run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            # WebSocket responses that waited for a late usage message, or that the stop cuts short.
            batch += self.sockets.stop() if stopping else self.sockets.tick()
            rows, exchanges = self._rows(batch)
            if rows:
                self.sessions.assign(rows, exchanges)  # in order: a call's session can depend on the one before
                self._insert(rows)
            self._write_connections()
            self._publish_stats(force=stopping)
            if os.getppid() != self.parent:  # the proxy died without stopping us
                stopping = True
            self._forget_stale_parts()

    def _rows(self, batch: list[Exchange]) -> tuple[list[dict[str, Any]], list[Exchange]]:
        """The rows of a batch, and the exchanges they came from (one whose row failed is left out)."""
        rows, exchanges = [], []
        for exchange in batch:
            if exchange["id"] in self.parts:
                exchange["chunks"] = self.parts.pop(exchange["id"]) + exchange["chunks"]
                self.parts_since.pop(exchange["id"], None)
            try:
                row = self.build_row(exchange)
                rows.append({column: row.get(column) for column in self.columns})
                exchanges.append(exchange)
            except Exception:
                COUNTERS.add("analysis_errors")
                log.exception("r4u: could not build the row for trace %s", exchange.get("id"))
        return rows, exchanges

    def _take(self, item: Any) -> list[Exchange]:
        """The exchanges a queue item completes: itself, or none for a body part kept aside, or the
        model responses a batch of WebSocket messages finished."""
        if not isinstance(item, tuple):
            return [item]
        if item[0] == SOCKET:
            try:
                return self.sockets.take(item)
            except Exception:  # one odd connection must not stop the writer
                COUNTERS.add("analysis_errors")
                log.exception("r4u: could not read the messages of WebSocket %s", item[1])
                return []
        _, trace_id, chunks = item
        self.parts.setdefault(trace_id, []).extend(chunks)
        self.parts_since.setdefault(trace_id, time.monotonic())
        return []

    def _write_connections(self) -> None:
        try:
            self.sockets.write_connections(self.db)
        except Exception:
            COUNTERS.add("write_errors")
            log.exception("r4u: could not write the WebSocket connections")

    def _forget_stale_parts(self) -> None:
        cutoff = time.monotonic() - PART_TTL_S
        for trace_id in [t for t, since in self.parts_since.items() if since < cutoff]:
            self.parts.pop(trace_id, None)
            self.parts_since.pop(trace_id, None)

    def _next_batch(self) -> tuple[list[Exchange], bool]:
        """Up to batch_size exchanges, waiting at most BATCH_WINDOW_S after the first for more: one
        transaction per trace costs several times the CPU of a batch (docs/benchmarks.md). Also returns (after
        at most a second) while only body parts, or WebSocket messages that finish no response, arrive, so
        that late WebSocket usage, the connections' rows and the stats file are written in between."""
        batch: list[Exchange] = []
        deadline = time.monotonic() + 1.0
        first = True
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = self.work.get(timeout=remaining) if remaining > 0 else self.work.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            taken = self._take(item)
            batch += taken
            if batch and first:
                first = False
                deadline = min(deadline, time.monotonic() + BATCH_WINDOW_S)
            elif remaining <= 0 and not taken:
                break  # past the deadline and the backlog finishes nothing: write what there is
        return batch, False

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        for attempt in range(3):
            try:
                self.table.insert_all(rows, batch_size=len(rows), ignore=True)  # ids are unique ULIDs
                COUNTERS.add("recorded", len(rows))
                return
            except Exception:
                if attempt == 2:
                    COUNTERS.add("write_errors", len(rows))
                    log.exception("r4u: could not write %d traces", len(rows))
                else:
                    time.sleep(0.2 * (attempt + 1))

    def _publish_stats(self, force: bool = False) -> None:
        if self.stats_file is None:
            return
        now = time.monotonic()
        if not force and now - self._stats_written_at < 1.0:
            return
        self._stats_written_at = now
        try:
            depth = self.work.qsize()
        except NotImplementedError:  # macOS has no sem_getvalue
            depth = None
        stats = COUNTERS.snapshot() | {"queue_depth": depth, "queue_size": self.queue_size}
        try:
            tmp = self.stats_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(stats))
            tmp.replace(self.stats_file)
        except OSError:
            log.exception("r4u: could not write %s", self.stats_file)
