"""Live export: every trace, shortly after the writer commits it, to an OTLP/HTTP receiver.

The exporter is a child process of the proxy (`LiveExporter`), so neither a slow receiver nor encoding
ever takes the proxy's event loop or GIL. It reads committed rows after a watermark kept in traces.db
(`export_state`), posts them in batches, and moves the watermark in the same transaction that records the
batch as sent — so a restart (of the exporter, the proxy, or the machine) resumes exactly where the
receiver last said yes: nothing acknowledged is resent, nothing unacknowledged is skipped. While the
receiver is down or failing, the exporter retries the same batch with backoff; the backlog waits on disk,
never in memory, and is counted as `unsent` in `r4u proxy status`.

A session's root span is sent once the session has been idle for `session_idle_s` (its extent is known
then), and again with the same span id if later calls extend it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from r4u_proxy.ids import iso_utc

log = logging.getLogger("r4u.export")
_CONTEXT = multiprocessing.get_context("spawn")  # never fork the proxy's threads and event loop
# On stop the child gets this long to finish a batch, then SIGTERM: a batch whose commit was cut is
# sent again next time from the watermark (receivers keep the last copy of a span id). The proxy's
# whole stop must fit in a few seconds (docs/faults.md).
STOP_GRACE_S = 1.0
PARENT_GONE_EXIT_S = 2.0  # with the proxy gone, a child stuck in a post or a lock exits after this


@dataclass
class LiveConfig:
    endpoint: str
    headers: dict[str, str] = field(default_factory=dict)
    encoding: str = "protobuf"
    content: str = "none"
    batch: int = 200
    poll_s: float = 0.5  # how often an idle exporter looks for new traces
    backoff_first_s: float = 0.5
    backoff_cap_s: float = 30.0
    timeout_s: float = 10.0
    session_idle_s: float = 300.0

    @classmethod
    def from_env(cls, endpoint: str, headers: dict[str, str], content: str) -> LiveConfig:
        """Tuning knobs for tests and odd receivers: R4U_OTLP_ENCODING, R4U_OTLP_BATCH, R4U_OTLP_BACKOFF_CAP_S,
        R4U_OTLP_SESSION_IDLE_S, R4U_OTLP_POLL_S."""
        config = cls(endpoint, headers, content=content)
        config.encoding = os.environ.get("R4U_OTLP_ENCODING", config.encoding)
        for name, attr, kind in (("BATCH", "batch", int), ("BACKOFF_CAP_S", "backoff_cap_s", float),
                                 ("SESSION_IDLE_S", "session_idle_s", float), ("POLL_S", "poll_s", float)):  # fmt: skip
            if os.environ.get(f"R4U_OTLP_{name}"):
                setattr(config, attr, kind(os.environ[f"R4U_OTLP_{name}"]))
        return config


def watermark(conn: Any, sink: str) -> dict[str, int] | None:
    row = conn.execute("SELECT last_rowid, sent, rejected FROM export_state WHERE sink = ?", (sink,)).fetchone()
    return None if row is None else {"last_rowid": row[0], "sent": row[1], "rejected": row[2]}


def start_watermark(db_path: str | Path, endpoint: str) -> None:
    """A receiver seen for the first time starts at the newest trace (history: `r4u export --format otlp`).

    Called by the proxy before it listens, so no call made once it listens can fall before the mark."""
    from r4u_proxy.export.otlp import traces_url
    from r4u_proxy.store.migrations import connect

    conn = connect(db_path)
    try:
        with conn:
            conn.execute(
                "INSERT OR IGNORE INTO export_state (sink, last_rowid, updated_at) "
                "SELECT ?, COALESCE(MAX(rowid), 0), ? FROM traces",
                (traces_url(endpoint), iso_utc(time.time())),
            )
    finally:
        conn.close()


class _Exporter:
    """The child's loop; one instance per process."""

    def __init__(self, db_path: str, config: LiveConfig, stats_path: str, stop: Any) -> None:
        from r4u_proxy.export.otlp import Backoff, Receiver
        from r4u_proxy.store.migrations import connect

        self.conn = connect(db_path)
        self.conn.row_factory = sqlite3.Row
        self.config = config
        self.receiver = Receiver(config.endpoint, config.headers, config.encoding, config.timeout_s)
        self.sink = self.receiver.url
        self.backoff = Backoff(config.backoff_first_s, config.backoff_cap_s)
        self.stats_path = Path(stats_path) if stats_path else None
        self.stop = stop
        self.sessions: dict[str, str] = {}
        self.stats: dict[str, Any] = {"endpoint": self.sink, "retries": 0, "last_error": None, "last_error_at": None}
        self._stats_at = 0.0
        start_watermark(db_path, config.endpoint)  # normally done by the proxy already

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                moved = self.export_next()
                if not moved:
                    self.export_session_roots()
            except Exception as exc:  # a bug must not end live export: log, count, carry on
                log.exception("live export failed; retrying")
                self._failed(f"{type(exc).__name__}: {exc}")
                moved = False
            self.publish_stats()
            if not moved:
                self.stop.wait(self.config.poll_s)
        self.publish_stats(force=True)
        self.conn.close()

    def export_next(self) -> bool:
        """Send the next batch after the watermark; False when there was nothing to send or it failed."""
        from r4u_proxy.export import rows as queries
        from r4u_proxy.export.batch import chunks, row_spans

        after = watermark(self.conn, self.sink)["last_rowid"]
        batch = next(queries.trace_batches(self.conn, after_rowid=after, batch=self.config.batch,
                                           lean=self.config.content == "none"), None)  # fmt: skip
        if not batch:
            return False
        spans = row_spans(self.conn, batch, self.config.content, self.sessions)
        done = 0
        for body, count in chunks(spans, self.config.encoding):
            outcome = self._deliver(body)
            if outcome is None:  # stopping
                return False
            part = batch[done : done + count]
            if outcome.ok:
                self._commit(part, sent=count - outcome.rejected, rejected=outcome.rejected)
            else:  # refused for good (4xx): recorded as rejected, never retried
                log.error("receiver refused %d spans: %s", count, outcome.message)
                self._failed(outcome.message)
                self._commit(part, sent=0, rejected=count)
            done += count
        return True

    def _deliver(self, body: bytes) -> Any:
        """Post until the receiver takes it or refuses it for good; None when told to stop first."""
        while True:
            outcome = self.receiver.post(body)
            if outcome.ok or not outcome.retry:
                self.backoff.reset()
                return outcome
            self._failed(outcome.message)
            self.stats["retries"] += 1
            self.publish_stats()
            if self.stop.wait(self.backoff.next_delay(outcome.retry_after)):
                return None

    def _commit(self, rows: list[dict[str, Any]], *, sent: int, rejected: int) -> None:
        sessions: dict[str, int] = {}
        for row in rows:
            if row.get("session_id"):
                sessions[row["session_id"]] = max(sessions.get(row["session_id"], 0), row["_rowid"])
        with self.conn:
            self.conn.execute(
                "UPDATE export_state SET last_rowid = ?, sent = sent + ?, rejected = rejected + ?, updated_at = ? "
                "WHERE sink = ?",
                (rows[-1]["_rowid"], sent, rejected, iso_utc(time.time()), self.sink),
            )
            self.conn.executemany(
                "INSERT INTO export_sessions (sink, session_id, last_rowid) VALUES (?, ?, ?) "
                "ON CONFLICT (sink, session_id) DO UPDATE SET last_rowid = MAX(last_rowid, excluded.last_rowid)",
                [(self.sink, session, rowid) for session, rowid in sessions.items()],
            )
        if sent:
            self.stats["last_sent_at"] = iso_utc(time.time())

    def export_session_roots(self) -> None:
        """Root spans of sessions idle long enough whose root was never sent or has grown since."""
        from r4u_proxy.export import rows as queries
        from r4u_proxy.export.batch import root_spans
        from r4u_proxy.export.otlp import encode

        pending = [
            r[0]
            for r in self.conn.execute(
                "SELECT session_id FROM export_sessions WHERE sink = ? AND (root_rowid IS NULL OR root_rowid < last_rowid)",
                (self.sink,),
            )
        ]
        if not pending:
            return
        cutoff = iso_utc(time.time() - self.config.session_idle_s)
        idle = [s for s in queries.session_summaries(self.conn, pending) if (s["ended_at"] or "") < cutoff]
        if not idle:
            return
        spans = root_spans(self.conn, [s["session_id"] for s in idle], self.sessions)
        outcome = self._deliver(encode(spans, self.config.encoding))
        if outcome is None:
            return
        with self.conn:
            self.conn.executemany(
                "UPDATE export_sessions SET root_rowid = ? WHERE sink = ? AND session_id = ?",
                [(s["last_rowid"], self.sink, s["session_id"]) for s in idle],
            )

    def _failed(self, message: str) -> None:
        self.stats["last_error"] = message[:300]
        self.stats["last_error_at"] = iso_utc(time.time())

    def publish_stats(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.stats_path is None or (not force and now - self._stats_at < 1.0):
            return
        self._stats_at = now
        state = watermark(self.conn, self.sink) or {"last_rowid": 0, "sent": 0, "rejected": 0}
        unsent = self.conn.execute("SELECT COUNT(*) FROM traces WHERE rowid > ?", (state["last_rowid"],)).fetchone()[0]
        stats = {**self.stats, **state, "unsent": unsent, "pid": os.getpid()}
        with contextlib.suppress(OSError):
            tmp = self.stats_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(stats))
            tmp.replace(self.stats_path)


def run_child(db_path: str, config: dict[str, Any], stats_path: str, log_path: str, stop: Any, parent: int) -> None:
    """The child process's entry point (module level, so that spawn can find it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the proxy says when to stop
    if log_path:
        handler = logging.FileHandler(log_path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.INFO)
    exporter = _Exporter(db_path, LiveConfig(**config), stats_path, stop)
    threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True).start()
    log.info("live export to %s started (pid %d)", exporter.sink, os.getpid())
    exporter.run()
    log.info("live export stopped")


def _watch_parent(parent: int, stop: Any) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    stop.set()  # the proxy is gone: do not linger, even in the middle of a post or a lock wait
    time.sleep(PARENT_GONE_EXIT_S)
    os._exit(0)


class LiveExporter:
    """In the proxy: starts the exporter child, restarts it if it dies, stops it with the proxy."""

    def __init__(self, db_path: str | Path, config: LiveConfig, stats_path: str | Path, log_path: str | Path) -> None:
        self.args = (str(db_path), asdict(config), str(stats_path), str(log_path))
        self.restarts = 0
        self._stopping = threading.Event()
        self._stop: Any = None
        self._process: Any = None
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="r4u-export-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        self._stop = _CONTEXT.Event()
        self._process = _CONTEXT.Process(
            target=run_child, args=(*self.args, self._stop, os.getpid()), name="r4u-export", daemon=True
        )
        self._process.start()

    def _watch(self) -> None:
        delay = 1.0
        while not self._stopping.wait(0.5):
            if self._process.is_alive():
                continue
            log.warning("live export process exited (%s); restarting in %.0f s", self._process.exitcode, delay)
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self._spawn()
            delay = min(delay * 2, 30.0)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self, timeout: float = STOP_GRACE_S) -> None:
        self._stopping.set()
        if self._process is None:
            return
        self._stop.set()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(2)
        if self._watcher is not None:
            self._watcher.join(2)
