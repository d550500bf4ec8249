"""What the proxy has handed to the writer and the writer has not yet confirmed as committed.

Every message to the writer carries a sequence number; the writer publishes the highest one it has
finished with (`acked`), and since it works strictly in order, every trace whose exchange has a
sequence number up to that one is on disk. The rest stays here, so that a writer that dies takes
nothing with it: its successor gets everything still held, in the original order.

Bounded by bytes (bodies plus a fixed allowance per message), not by count: a count says nothing
about memory when one call carries 2 MB and the next 2 KB. Single-threaded by contract: the owner
(`TraceWriter`) serialises access with its lock.

One exception to holding everything: a message of LIGHTEN_BYTES or more (a body near the capture
cap) is kept only until the writer has *received* it, then replaced by the same message without
its bodies. SQLite copies a row twice on its way to disk, so the writer needs 3x a big body while
inserting it; holding a fourth copy here until the commit would put a 50 MB request's cost at 4x
the cap. Should the writer die in the few milliseconds between, the trace is still written, without
those bodies and saying so (`bodies_lost`), and counted.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from r4u_proxy.store.writer import SOCKET

OVERHEAD_BYTES = 2048  # headers, timings and Python objects of one message, roughly
LIGHTEN_BYTES = 1024 * 1024


def without_bodies(message: tuple[int, str, Any]) -> tuple[int, str, Any]:
    """The message as it is re-sent once its bodies are given up (their timing is kept)."""
    seq, kind, payload = message
    if kind == SOCKET:  # WebSocket messages: kept whole (a batch is at most 256 KB plus one message)
        return message
    if isinstance(payload, dict):  # an exchange
        lost = len(payload.get("request_body") or b"") + sum(len(d) for _, d in payload.get("chunks") or ())
        light = {**payload, "request_body": b"", "chunks": [(t, b"") for t, _ in payload.get("chunks") or ()]}
        return seq, kind, {**light, "bodies_lost": lost}
    trace_id, chunks = payload  # a body part
    return seq, kind, (trace_id, [(t, b"") for t, _ in chunks])


@dataclass
class _Trace:
    messages: list[tuple[int, Any, int]] = field(default_factory=list)  # (seq, message, bytes)
    exchange_seq: int | None = None
    nbytes: int = 0
    resent: int = 0


class HeldTraces:
    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.nbytes = 0
        self._traces: dict[str, _Trace] = {}
        self._finished: collections.deque[tuple[int, str]] = collections.deque()  # (exchange seq, id)
        self._oldest_at: dict[str, float] = {}
        self._big: collections.deque[tuple[int, str]] = collections.deque()  # (seq, trace id), to lighten
        self.lightened = 0

    def __len__(self) -> int:
        """Traces whose exchange was handed over and is not confirmed yet."""
        return len(self._finished)

    def fits(self, nbytes: int) -> bool:
        return self.nbytes + nbytes <= self.limit_bytes

    def add(self, trace_id: str, seq: int, message: Any, nbytes: int, *, finished: bool, now: float) -> None:
        trace = self._traces.get(trace_id)
        if trace is None:
            trace = self._traces[trace_id] = _Trace()
            self._oldest_at[trace_id] = now
        trace.messages.append((seq, message, nbytes))
        trace.nbytes += nbytes
        self.nbytes += nbytes
        if nbytes >= LIGHTEN_BYTES:
            self._big.append((seq, trace_id))
        if finished:
            trace.exchange_seq = seq
            self._finished.append((seq, trace_id))

    def discard(self, trace_id: str) -> int:
        """Forget a trace (dropped); returns the bytes it held."""
        trace = self._traces.pop(trace_id, None)
        self._oldest_at.pop(trace_id, None)
        if trace is None:
            return 0
        self.nbytes -= trace.nbytes
        return trace.nbytes

    def discard_all(self) -> None:
        self._traces.clear()
        self._oldest_at.clear()
        self._finished.clear()
        self._big.clear()
        self.nbytes = 0

    def release(self, acked: int) -> int:
        """Forget every finished trace the writer has confirmed; returns how many."""
        released = 0
        while self._finished and self._finished[0][0] <= acked:
            _, trace_id = self._finished.popleft()
            self.discard(trace_id)
            released += 1
        return released

    def lighten(self, received: int) -> None:
        """Drop the bodies of big messages the writer has received (see the module docstring)."""
        while self._big and self._big[0][0] <= received:
            seq, trace_id = self._big.popleft()
            trace = self._traces.get(trace_id)
            if trace is None:
                continue
            for i, (held_seq, message, nbytes) in enumerate(trace.messages):
                if held_seq == seq:
                    light = without_bodies(message)
                    if light is message:
                        break
                    trace.messages[i] = (seq, light, OVERHEAD_BYTES)
                    trace.nbytes -= nbytes - OVERHEAD_BYTES
                    self.nbytes -= nbytes - OVERHEAD_BYTES
                    self.lightened += 1
                    break

    def forget_unfinished(self, older_than: float) -> list[str]:
        """Traces that only ever sent body parts (their exchange never came) since before `older_than`."""
        stale = [t for t, at in self._oldest_at.items() if at < older_than and self._traces[t].exchange_seq is None]
        for trace_id in stale:
            self.discard(trace_id)
        return stale

    def oldest_age(self, now: float) -> float:
        if not self._finished:
            return 0.0
        return now - self._oldest_at.get(self._finished[0][1], now)

    def for_resend(self, max_resends: int) -> tuple[list[tuple[int, Any, int]], list[str]]:
        """Everything still held, in the original order, for a new writer; and the traces given up
        on because they went to more than `max_resends` writers that died (a trace that kills the
        writer must not kill every writer after it)."""
        given_up = []
        for trace_id, trace in list(self._traces.items()):
            if trace.exchange_seq is not None:
                trace.resent += 1
                if trace.resent > max_resends:
                    given_up.append(trace_id)
        for trace_id in given_up:
            self.discard(trace_id)
        if given_up:
            gone = set(given_up)
            self._finished = collections.deque(item for item in self._finished if item[1] not in gone)
        messages = [m for trace in self._traces.values() for m in trace.messages]
        messages.sort(key=lambda m: m[0])
        return messages, given_up
