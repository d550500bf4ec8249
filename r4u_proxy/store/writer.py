"""The writer process: the only place that writes traces.

It reads messages from its channel (r4u_proxy/store/channel.py) in order, turns exchanges
(ingest/exchange.py) into rows (parsing, reassembly, pricing, redaction), gives them their sessions
(sessions/tracker.py), stores request content once (store/content/) and inserts the rows into
`trace_rows` in batches (store/batch.py). When idle it converts bodies written before content storage
(store/content/convert.py). After each commit it publishes the sequence number
it got to (`WriterShared.ack`); the proxy holds every trace until then (r4u_proxy/store/supervisor.py),
so a writer killed at any point loses nothing.

A batch's session index entries, its contents and its rows commit in one transaction: a writer killed in between
leaves neither, and its successor, handed the same traces again, assigns their sessions once. Traces
a dead writer had already committed (killed before it could publish the ack) are recognised by their
id and skipped, so they are neither written nor assigned twice.

A write that fails because of the disk (locked, full, I/O error) is retried with the batch kept, for
as long as it takes, with the failure published at once for `r4u proxy status`; the proxy meanwhile
holds what arrives, up to its byte bound. A row SQLite refuses for what it is is written without it.

Why a process and not a thread: a writer thread shares the proxy's GIL, and the event loop then
waited for it after every socket call (profiled: +1.4 ms of proxy CPU per request and 0.57x bare
mitmproxy's throughput).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from typing import Any

from r4u_proxy.guard import COUNTERS, log
from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.memory import return_big_buffers
from r4u_proxy.store.channel import receive

# Message kinds, each message (seq, kind, payload): a finished call, the first body chunks of a call
# still streaming, "forget the parts of this dropped call", "stop once everything before is written",
# and a batch of one WebSocket's messages, `(SOCKET, connection id, opening, messages, lost, ending)`
# (addons/websocket.py; ingest/websocket.py turns them into one exchange per model response).
EXCHANGE, PART, FORGET, STOP, SOCKET = "exchange", "part", "forget", "stop", "socket"
BATCH_WINDOW_S = 0.05  # a trace is on disk at most this much later than without batching
PART_TTL_S = 600  # parts whose exchange never came (it was dropped) are forgotten after this
BUSY_TIMEOUT_MS = 2000  # a lock held longer shows up as a failing write this soon, then is retried
RETRY_MAX_S = 2.0
ORPHAN_RETRY_S = 30.0  # with the proxy gone, keep retrying the last batch this long
ERROR_CHARS = 300


class WriterShared:
    """What the writer publishes to the proxy: shared memory written by the writer alone (no lock:
    a process killed while holding one would leave the other waiting forever)."""

    FIELDS = ("acked", "received", "failing", "failing_since_ms", "error_at_ms", "error_len")

    def __init__(self, context: Any) -> None:
        self.values = context.RawArray("q", len(self.FIELDS))
        self.error = context.RawArray("c", ERROR_CHARS * 4)
        self._index = {name: i for i, name in enumerate(self.FIELDS)}

    def _set(self, name: str, value: int) -> None:
        self.values[self._index[name]] = value

    def get(self, name: str) -> int:  # read on the event loop with every hand-over: kept cheap
        return self.values[self._index[name]]

    def ack(self, seq: int) -> None:
        """Every exchange up to `seq` is committed (or could never be)."""
        if seq > self.get("acked"):
            self._set("acked", seq)

    def receive(self, seq: int) -> None:
        """Every message up to `seq` is in the writer's hands."""
        if seq > self.get("received"):
            self._set("received", seq)

    def note_error(self, error: str) -> None:
        data = error[:ERROR_CHARS].encode("utf-8", "replace")[: len(self.error)]
        self._set("error_len", 0)  # a reader in between sees no text rather than half of two
        self.error[: len(data)] = data
        self._set("error_len", len(data))
        self._set("error_at_ms", int(time.time() * 1000))

    def failing(self, count: int, error: str) -> None:
        """`count` traces wait for a write that failed with `error` and will be retried."""
        self.note_error(error)
        if not self.get("failing"):
            self._set("failing_since_ms", int(time.time() * 1000))
        self._set("failing", count)

    def recovered(self) -> None:
        self._set("failing", 0)
        self._set("failing_since_ms", 0)

    def snapshot(self) -> dict[str, Any]:
        length = self.get("error_len")
        at_ms = self.get("error_at_ms")
        since_ms = self.get("failing_since_ms")
        return {
            "failing": self.get("failing"),
            "failing_since": since_ms / 1000 if since_ms else None,
            "last_write_error": self.error[:length].decode("utf-8", "replace") if length else None,
            "last_write_error_at": at_ms / 1000 if at_ms else None,
        }


def run_writer(
    db_path: str, channel: Any, ready: Any, counters: Any, shared: WriterShared, redact: list[str], batch_size: int
) -> None:
    # Ctrl-C reaches the whole process group; the proxy decides when the writer stops (after a flush).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return_big_buffers()  # a 10 MB body's copies leave with it
    COUNTERS.attach(counters)
    try:
        from r4u_proxy.ingest import redact as redaction

        redaction.configure(redact)
        loop = _Loop(db_path, channel, shared, batch_size)
    except Exception as exc:
        ready.send(f"cannot open the database {db_path}: {exc}")
        return
    ready.send(None)
    ready.close()
    loop.run()


def _open(db_path: str) -> sqlite3.Connection:
    from r4u_proxy.store.migrations import open_db

    conn = open_db(db_path)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


class _Loop:
    def __init__(self, db_path: str, channel: Any, shared: WriterShared, batch_size: int) -> None:
        from r4u_proxy.ingest.websocket import Sockets

        self.db_path = db_path
        self.conn: sqlite3.Connection | None = None
        self.batches: Any = None
        self._connect()
        self.sockets = Sockets()
        self.channel = channel
        self.shared = shared
        self.batch_size = batch_size
        self.parent = os.getppid()
        self.parts: dict[str, list[tuple[float, bytes]]] = {}
        self.parts_since: dict[str, float] = {}

    def _connect(self) -> sqlite3.Connection:
        from r4u_proxy.store.batch import BatchWriter

        if self.conn is None:
            self.conn = _open(self.db_path)
            self.conn.isolation_level = None  # transactions are begun and committed explicitly (store/batch.py)
            self.batches = BatchWriter(self.conn)  # after the migrations: every column a row can fill
        return self.conn

    @property
    def sessions(self) -> Any:
        return self.batches.sessions

    def run(self) -> None:
        stopping = False
        while not stopping:
            batch, last_seq, stopping = self._next_batch()
            # WebSocket responses that waited for a late usage message, or that the stop cuts short.
            batch += self.sockets.stop() if stopping else self.sockets.tick()
            rows, calls = self._rows(batch)
            idle = not batch and not stopping
            del batch  # the raw bodies go before SQLite takes its own copy of the rows
            if rows:
                self._insert(rows, calls)
            del rows, calls
            if idle:
                self._convert_some()
            self._write_connections()
            if last_seq:
                self.shared.ack(last_seq)
            if os.getppid() != self.parent:  # the proxy died without stopping us
                stopping = True
            self._forget_stale_parts()
        if self.conn is not None:
            self.conn.close()

    def _rows(self, batch: list[Exchange]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The batch's rows, and what the session tracker and content storage read of each exchange
        (without its raw bodies): store/batch.py."""
        for exchange in batch:
            if exchange["id"] in self.parts:
                exchange["chunks"] = self.parts.pop(exchange["id"]) + exchange["chunks"]
                self.parts_since.pop(exchange["id"], None)
        self._connect()
        return self.batches.build(batch)

    # --- reading ---------------------------------------------------------------------
    def _take(self, message: tuple[int, str, Any]) -> list[Exchange]:
        """The exchanges a message completes: an exchange itself, none for a message handled here
        (parts, forgets), or the model responses a batch of WebSocket messages finished."""
        _, kind, payload = message
        if kind == EXCHANGE:
            return [payload]
        if kind == SOCKET:
            try:
                return self.sockets.take(payload)
            except Exception:  # one odd connection must not stop the writer
                COUNTERS.add("analysis_errors")
                log.exception("r4u: could not read the messages of WebSocket %s", payload[1])
                return []
        if kind == PART:
            trace_id, chunks = payload
            self.parts.setdefault(trace_id, []).extend(chunks)
            self.parts_since.setdefault(trace_id, time.monotonic())
        elif kind == FORGET:
            self.parts.pop(payload, None)
            self.parts_since.pop(payload, None)
        return []

    def _receive(self, timeout: float) -> tuple[int, str, Any] | None:
        """The next message, None after `timeout`; a closed pipe (the proxy is gone) reads as STOP."""
        try:
            if not self.channel.poll(max(timeout, 0.0)):
                return None
            return receive(self.channel)
        except (EOFError, OSError):
            return (0, STOP, None)

    def _next_batch(self) -> tuple[list[Exchange], int, bool]:
        """Up to batch_size exchanges, waiting at most BATCH_WINDOW_S after the first for more: one
        transaction per trace cost 4x the CPU of batches (profiled: 0.29 vs 0.07 ms per row). Also
        returns after at most a second while only body parts, or WebSocket messages that finish no
        response, arrive: late WebSocket usage and the connections' rows are written in between, and
        the ack lets the proxy release what it holds. Returns the batch, the last sequence number
        read and whether STOP came."""
        batch: list[Exchange] = []
        last_seq = 0
        deadline = time.monotonic() + 1.0
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            message = self._receive(remaining)
            if message is None:
                break
            if message[1] == STOP:
                return batch, last_seq, True
            last_seq = message[0]
            self.shared.receive(last_seq)
            taken = self._take(message)
            if taken and not batch:
                deadline = min(deadline, time.monotonic() + BATCH_WINDOW_S)
            batch += taken
            if remaining <= 0:
                break  # past the deadline with a backlog: write what there is, then read on
        return batch, last_seq, False

    def _forget_stale_parts(self) -> None:
        cutoff = time.monotonic() - PART_TTL_S
        for trace_id in [t for t, since in self.parts_since.items() if since < cutoff]:
            self.parts.pop(trace_id, None)
            self.parts_since.pop(trace_id, None)

    # --- writing ---------------------------------------------------------------------
    def _insert(self, rows: list[dict[str, Any]], calls: list[dict[str, Any]]) -> None:
        """Write the batch, retrying while the disk refuses (locked, full, failing) for as long as it
        takes; rows SQLite refuses for their content are written one by one and the bad ones counted."""
        delay = 0.1
        orphaned_at: float | None = None
        while True:
            try:
                COUNTERS.add("recorded", self._commit(rows, calls))
                self.shared.recovered()
                return
            except (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError, sqlite3.ProgrammingError):
                self._insert_one_by_one(rows, calls)
                self.shared.recovered()
                return
            except sqlite3.Error as exc:  # the disk's problem, not the rows': keep them and try again
                self.shared.failing(len(rows), f"{exc.__class__.__name__}: {exc}")
                if not _is_busy(exc):
                    self._reconnect()
                log.warning("r4u: could not write %d traces (%s); retrying", len(rows), exc)
            if os.getppid() != self.parent:
                orphaned_at = orphaned_at or time.monotonic()
                if time.monotonic() - orphaned_at > ORPHAN_RETRY_S:
                    COUNTERS.add("write_errors", len(rows))
                    log.error("r4u: the proxy is gone; %d traces could not be written", len(rows))
                    return
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _commit(self, rows: list[dict[str, Any]], calls: list[dict[str, Any]]) -> int:
        """Sessions, contents and rows in one write transaction (store/batch.py); returns the rows
        inserted. On any error nothing of it stays and the caller retries with the same rows."""
        self._connect()
        return self.batches.commit(rows, calls)

    def _convert_some(self) -> None:
        """Idle: a batch of bodies written before content storage, converted (never raises)."""
        try:
            self._connect()
            self.batches.idle()
        except sqlite3.Error:
            log.exception("r4u: could not convert stored bodies; will retry")
            self._reconnect()

    def _insert_one_by_one(self, rows: list[dict[str, Any]], calls: list[dict[str, Any]]) -> None:
        for row, call in zip(rows, calls, strict=True):
            try:
                COUNTERS.add("recorded", self._commit([row], [call]))
            except sqlite3.Error as exc:
                COUNTERS.add("write_errors")
                self.shared.note_error(f"{exc.__class__.__name__}: {exc}")
                log.error("r4u: trace %s cannot be stored: %s", row.get("id"), exc)

    def _write_connections(self) -> None:
        """The `websocket_connections` rows of the connections that changed (ingest/websocket.py)."""
        import sqlite_utils

        try:
            self.sockets.write_connections(sqlite_utils.Database(self._connect()))
        except Exception:
            COUNTERS.add("write_errors")
            log.exception("r4u: could not write the WebSocket connections")

    def _reconnect(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
        self.conn = None
        self.batches = None


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
