"""The proxy's side of the writer: hand-over that never blocks, supervision, and the truth for status.

    writer = TraceWriter("traces.db", queue_bytes=256 << 20, stats_file="proxy-stats.json")
    writer.start()
    writer.submit(exchange)   # on mitmproxy's event loop: a few microseconds, never waits
    writer.close()            # at shutdown: everything handed over is written, or counted as dropped

Every trace handed over stays in `HeldTraces` until the writer confirms its commit. A watcher thread
restarts a writer that died and hands it what was not confirmed; it also rewrites the stats file a
few times a second from what the proxy itself sees (held traces and bytes, drops, the writer's
failing write), so status is right even when the writer is stuck. What does not fit the byte bound
is dropped, counted and logged — never silently, and the app's traffic never waits for it.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

from r4u_proxy.guard import COUNTERS
from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.store.channel import Channel
from r4u_proxy.store.held import OVERHEAD_BYTES, HeldTraces
from r4u_proxy.store.stats_file import StatsFile
from r4u_proxy.store.writer import EXCHANGE, FORGET, PART, PART_TTL_S, SOCKET, STOP, WriterShared, run_writer

log = logging.getLogger("r4u")

DEFAULT_QUEUE_BYTES = 256 * 1024 * 1024
LARGE_MESSAGE_BYTES = 256 * 1024  # messages this big send their bodies out of band (no pickle copy)
WATCH_INTERVAL_S = 0.2
MAX_RESENDS = 3  # a trace handed to this many writers that died is given up (it may be what kills them)
START_TIMEOUT_S = 60.0
_CONTEXT = multiprocessing.get_context("spawn")  # never fork a process with an event loop and threads


class WriterStartError(RuntimeError):
    pass


def exchange_bytes(exchange: Exchange) -> int:
    return len(exchange.get("request_body") or b"") + sum(len(d) for _, d in exchange.get("chunks") or ()) + OVERHEAD_BYTES


class TraceWriter:
    def __init__(
        self,
        db_path: str | Path,
        *,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        stats_file: str | Path | None = None,
        batch_size: int = 200,
        redact: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.db_path = str(db_path)
        self.batch_size = batch_size
        self.redact = list(redact)
        self.held = HeldTraces(queue_bytes)
        self.counters: Any = _CONTEXT.RawArray("q", len(COUNTERS.NAMES))  # the writers' own counts
        self.shared = WriterShared(_CONTEXT)
        self.restarts = 0
        self.dropped_bytes = 0
        self._lock = threading.Lock()
        self._seq = 0
        self._socket_batches = itertools.count()
        self._channel: Channel | None = None
        self._process: Any = None
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None
        self._stats = StatsFile(stats_file) if stats_file else None
        self._last_drop_log = 0.0
        self._drops_since_log = 0
        self._started_at = 0.0

    # --- the event loop's side: never waits --------------------------------------------
    def submit(self, exchange: Exchange) -> bool:
        return self._hand_over(exchange["id"], EXCHANGE, exchange, exchange_bytes(exchange))

    def _hand_over(self, trace_id: str, kind: str, payload: Any, nbytes: int) -> bool:
        """Hold one finished item until the writer confirms it, and send it. Any kind of item that must
        survive a writer's death the way an exchange does goes through here (its own `kind`, handled
        by the writer in the same ordered stream and committed in the same transactions)."""
        with self._lock:
            self._release()
            if not self.held.fits(nbytes):
                self._drop(trace_id, nbytes)
                return False
            self._seq += 1
            message = (self._seq, kind, payload)
            self.held.add(trace_id, self._seq, message, nbytes, finished=True, now=time.monotonic())
            if self._channel is not None:
                self._channel.put(message, nbytes >= LARGE_MESSAGE_BYTES)
        return True

    def submit_socket(self, batch: tuple) -> bool:
        """Hand on a batch of one WebSocket's messages (addons/websocket.py); False when it does not fit.
        Held like an exchange until the writer has committed what it finished. Each batch is held on
        its own (a connection sends many), so confirming one never releases a later one."""
        _, socket_id, opening, messages, _lost, _ending = batch
        nbytes = sum(len(m[3]) for m in messages) + OVERHEAD_BYTES
        if opening is not None:
            nbytes += len(opening.get("request_body") or b"")
        return self._hand_over(f"{socket_id}/{next(self._socket_batches)}", SOCKET, batch, nbytes)

    def submit_part(self, trace_id: str, chunks: list[tuple[float, bytes]]) -> bool:
        """Hand on the first chunks of a long response body before its exchange is complete; False
        (the caller keeps them) when they do not fit."""
        nbytes = sum(len(d) for _, d in chunks) + OVERHEAD_BYTES
        with self._lock:
            if not self.held.fits(nbytes):
                return False
            self._seq += 1
            message = (self._seq, PART, (trace_id, chunks))
            self.held.add(trace_id, self._seq, message, nbytes, finished=False, now=time.monotonic())
            if self._channel is not None:
                self._channel.put(message, nbytes >= LARGE_MESSAGE_BYTES)
        return True

    def _sent_large(self, message: Any) -> None:
        """A big message is in the writer's pipe: its bodies go now, not at the next look at `received`
        (up to WATCH_INTERVAL_S later, while the writer already holds the bytes and decodes them)."""
        with self._lock:
            self.held.lighten(message[0])

    def _release(self) -> None:
        """With the lock held: forget what the writer committed, lighten what it received."""
        self.held.release(self.shared.get("acked"))
        self.held.lighten(self.shared.get("received"))

    def _drop(self, trace_id: str, nbytes: int) -> None:
        """Called with the lock held: the trace does not fit; count it, free its parts, say so (rarely)."""
        COUNTERS.add("dropped")
        self.dropped_bytes += nbytes + self.held.discard(trace_id)
        if self._channel is not None:
            self._seq += 1
            self._channel.put((self._seq, FORGET, trace_id))
        self._drops_since_log += 1
        now = time.monotonic()
        if now - self._last_drop_log > 5:
            log.warning(
                "r4u: %d traces (%.1f MB) wait for the writer, the limit is %.0f MB: dropped %d trace(s)%s",
                len(self.held), self.held.nbytes / 1e6, self.held.limit_bytes / 1e6, self._drops_since_log,
                f"; last write error: {err}" if (err := self.shared.snapshot()["last_write_error"]) else "",
            )  # fmt: skip
            self._last_drop_log, self._drops_since_log = now, 0

    # --- starting, watching, restarting ------------------------------------------------
    def start(self) -> None:
        self._started_at = time.monotonic()
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="r4u-writer-watch", daemon=True)
        self._watcher.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _spawn(self) -> None:
        """Start a writer and hand it everything still held; raises WriterStartError."""
        receiving, sending = _CONTEXT.Pipe(duplex=False)
        ready_in, ready_out = _CONTEXT.Pipe(duplex=False)
        process = _CONTEXT.Process(
            target=run_writer,
            args=(self.db_path, receiving, ready_out, self.counters, self.shared, self.redact, self.batch_size),
            name="r4u-writer",
            daemon=True,
        )
        process.start()
        receiving.close()  # only the writer reads: once it dies, a write to the pipe fails instead of waiting
        ready_out.close()
        try:
            error = ready_in.recv() if ready_in.poll(START_TIMEOUT_S) else "the writer did not start in time"
        except EOFError:
            error = f"the writer process exited with code {process.join(1) or process.exitcode}"
        finally:
            ready_in.close()
        if error is not None:
            process.kill()
            sending.close()
            raise WriterStartError(error)
        channel = Channel(sending, sent_large=self._sent_large)
        with self._lock:
            self._release()
            messages, given_up = self.held.for_resend(MAX_RESENDS)
            for _seq, message, nbytes in messages:
                channel.put(message, nbytes >= LARGE_MESSAGE_BYTES)
                if message[1] == EXCHANGE and message[2].get("bodies_lost"):
                    COUNTERS.add("bodies_lost")
            self._process, self._channel = process, channel
        if given_up:
            COUNTERS.add("dropped", len(given_up))
            log.error("r4u: gave up on %d traces that went to %d writers that died", len(given_up), MAX_RESENDS)
        if messages:
            log.warning("r4u: handed %d unconfirmed messages to the new writer (pid %d)", len(messages), process.pid)

    def _watch(self) -> None:
        backoff = 0.0
        while not self._closing.wait(WATCH_INTERVAL_S):
            process = self._process
            if process is not None and not process.is_alive() and not self._closing.is_set():
                lived = time.monotonic() - self._started_at
                backoff = 0.0 if lived > 30 else min(max(backoff * 2, 0.5), 10.0)
                self._restart(process.exitcode, backoff)
            self._housekeep()

    def _restart(self, exitcode: int | None, delay: float) -> None:
        with self._lock:
            channel, self._channel = self._channel, None  # until the next writer runs, submits only hold
            self.shared.recovered()  # whatever the dead writer was failing at is no longer in progress
        if channel is not None:
            channel.close()
        log.error(
            "r4u: the writer process exited (code %s); restarting it%s, %d traces to hand over",
            exitcode, f" in {delay:.1f} s" if delay else "", len(self.held),
        )  # fmt: skip
        if delay and self._closing.wait(delay):
            return
        self.restarts += 1
        self._started_at = time.monotonic()
        try:
            self._spawn()
        except WriterStartError as exc:
            log.error("r4u: the writer could not be restarted: %s; trying again", exc)

    def _housekeep(self) -> None:
        with self._lock:
            self._release()
            stale = self.held.forget_unfinished(time.monotonic() - PART_TTL_S)
            if stale and self._channel is not None:
                for trace_id in stale:
                    self._seq += 1
                    self._channel.put((self._seq, FORGET, trace_id))
        if self._stats is not None:
            self._stats.publish(self.stats())

    def stats(self) -> dict[str, Any]:
        """Counters and the queue as the proxy sees them now (what `r4u proxy status` prints)."""
        counts = COUNTERS.snapshot()
        for name, value in zip(COUNTERS.NAMES, self.counters[:], strict=True):
            counts[name] += value
        now = time.monotonic()
        process = self._process
        return {
            **counts,
            **self.shared.snapshot(),
            "queue_depth": len(self.held),
            "queue_bytes": self.held.nbytes,
            "queue_bytes_limit": self.held.limit_bytes,
            "dropped_bytes": self.dropped_bytes,
            "oldest_queued_s": round(self.held.oldest_age(now), 3),
            "writer_pid": process.pid if process is not None and process.is_alive() else None,
            "writer_restarts": self.restarts,
            "updated_at": time.time(),
        }

    # --- stopping ------------------------------------------------------------------------
    def close(self, timeout: float = 15.0) -> None:
        """Write everything handed over (restarting a writer that dies meanwhile), then stop. What is
        still unwritten after `timeout` (a disk that stays locked or full) is counted as dropped."""
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join(2)
        deadline = time.monotonic() + timeout
        stop_sent_to = None
        while time.monotonic() < deadline:
            with self._lock:
                self._release()
                if not len(self.held) and stop_sent_to is self._process:
                    break
            process = self._process
            if process is not None and process.is_alive():
                if stop_sent_to is not process and self._channel is not None:
                    with self._lock:
                        self._seq += 1
                        self._channel.put((self._seq, STOP, None))
                    stop_sent_to = process
                process.join(0.05)
            elif len(self.held):
                self._restart(process.exitcode if process is not None else None, 0.0)
            else:
                break
        self._finish()

    def _finish(self) -> None:
        with self._lock:
            self._release()
            left = len(self.held)
            channel, self._channel = self._channel, None
            self.held.discard_all()
        process = self._process
        if process is not None:
            process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join(1.0)
        if channel is not None:
            channel.close()
        if left:
            COUNTERS.add("dropped", left)
            error = self.shared.snapshot()["last_write_error"]
            log.error("r4u: %d traces could not be written before the proxy stopped%s", left,
                      f" (last write error: {error})" if error else "")  # fmt: skip
        if self._stats is not None:
            self._stats.publish(self.stats())
            self._stats.close()
