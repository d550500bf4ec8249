"""The grouping child process and its supervisor.

The proxy starts one `GroupingProcess`; it runs the grouper in a `multiprocess.Process` (its own
interpreter, so mining never takes the proxy's GIL), restarts it with backoff if it dies, and stops it
with the proxy: a short grace to finish its batch, then SIGTERM (a batch is one transaction, so a
cut one is simply done again). The child is spawned, not forked: a fork of the proxy would inherit
its listening socket and signal handlers (and keep the port busy after a stop). It exits by itself
when the proxy is gone. The child reads traces through a rowid bookmark in batches, so a burst of hundreds of
traces is worked off batch by batch with bounded memory; the database is the queue. Work recorded
while the child was down is picked up when it starts again, from the bookmark.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any

import multiprocess

BATCH = 200  # traces per write transaction: short enough to never hold the writer up for long
IDLE_WAIT_S = 1.0  # how often an idle child looks for new traces when nobody calls notify()
MAX_BACKOFF_S = 30.0
STOP_GRACE_S = 1.0  # then SIGTERM: a mining batch need not run to its end for the proxy to stop
_CONTEXT = multiprocess.get_context("spawn")


def _exit_with_parent(parent_pid: int) -> None:
    """A thread that ends the child once the proxy is gone, even in the middle of a long batch."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="r4u-grouping-lifeline", daemon=True).start()


def _run_child(db_path: str, log_path: str, stop: Any, wake: Any, parent_pid: int) -> None:
    """The child's main loop. Module-level so that it pickles; imports stay inside the child."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the proxy stops us
    _exit_with_parent(parent_pid)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger("r4u.grouping")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # its own log file; the proxy's terminal stays quiet
    with contextlib.suppress(OSError):
        os.nice(19)  # the proxy comes first: grouping gets the CPU time nobody else wants
    from r4u_proxy.grouping.store import Grouper

    grouper = Grouper(db_path)
    log.info("grouping started (pid %d, %d known tasks, backlog %d)", os.getpid(), len(grouper.stored), grouper.backlog())
    while not stop.is_set():
        if os.getppid() != parent_pid:  # the proxy is gone: do not linger as an orphan
            log.info("parent exited; stopping")
            break
        try:
            started = time.monotonic()
            done = grouper.run_batch(BATCH)
            if done < BATCH:  # caught up: finish the stats that big tasks put off
                grouper.refresh_stats()
        except Exception:
            log.exception("batch failed; retrying in a second")
            time.sleep(1.0)
            with contextlib.suppress(Exception):
                grouper.close(refresh=False)
            grouper = Grouper(db_path)
            continue
        if done:
            log.info("grouped %d traces in %.0f ms", done, (time.monotonic() - started) * 1000)
        if done < BATCH:  # caught up: sleep until notified or the next look
            wake.wait(IDLE_WAIT_S)
            wake.clear()
    grouper.close()
    log.info("grouping stopped")


class GroupingProcess:
    """Supervises the grouping child: `.start()`, `.stop(timeout)`, `.alive`, `.notify()`."""

    def __init__(self, db_path: str, log_path: str) -> None:
        self.db_path = db_path
        self.log_path = log_path
        self.restarts = 0
        self._stop = _CONTEXT.Event()
        self._wake = _CONTEXT.Event()
        self._process: Any = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._lock = threading.Lock()
        self._spawned_at = 0.0

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.log_path)), exist_ok=True)
        self._stopping.clear()
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="r4u-grouping-watch", daemon=True)
        self._watcher.start()

    def notify(self) -> None:
        """New traces were written: look now instead of at the next poll."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                self._wake.set()

    def stop(self, timeout: float = STOP_GRACE_S) -> None:
        self._stopping.set()
        with self._lock:
            process = self._process
            if process is not None and process.is_alive():
                self._stop.set()
                self._wake.set()
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.terminate()
                process.join(2)
            if process.is_alive():
                process.kill()
                process.join(1)
        if self._watcher is not None:
            self._watcher.join(2)

    def _spawn(self) -> None:
        with self._lock:
            # Fresh events for each child: a child killed while waiting on an event leaves that event's
            # internal lock in a state where setting it would block forever.
            self._stop = _CONTEXT.Event()
            self._wake = _CONTEXT.Event()
            if self._stopping.is_set():
                self._stop.set()
            self._spawned_at = time.monotonic()
            self._process = _CONTEXT.Process(
                target=_run_child,
                args=(self.db_path, self.log_path, self._stop, self._wake, os.getpid()),
                name="r4u-grouping",
                daemon=True,
            )
            self._process.start()

    def _watch(self) -> None:
        """Restart the child when it dies, waiting longer after each quick death."""
        backoff = 0.5
        while not self._stopping.is_set():
            process = self._process
            process.join(0.5)
            if self._stopping.is_set() or process.is_alive():
                continue
            lived = time.monotonic() - self._spawned_at
            self._log(f"grouping process exited with code {process.exitcode}; restarting in {backoff:.1f}s")
            if self._stopping.wait(backoff):
                return
            self.restarts += 1
            self._spawn()
            backoff = min(MAX_BACKOFF_S, backoff * 2) if lived < 60 else 0.5

    def _log(self, message: str) -> None:
        try:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} SUPERVISOR {message}\n")
        except OSError:
            pass
