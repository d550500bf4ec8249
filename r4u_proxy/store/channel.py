"""The pipe that carries traces from the proxy to one writer process, and nothing else.

`put()` runs on mitmproxy's event loop and only appends to a deque; a feeder thread pickles and
writes. Each writer process gets a channel of its own: when a writer dies, its channel is thrown
away with it (nothing of it is shared with the next writer, so nothing a dead process held can
block the next one) and the proxy hands what was not confirmed to the next channel.

Large bodies travel out of band (pickle protocol 5): their bytes are written to the pipe straight
from the object the proxy already holds, instead of first being copied into one pickle.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import pickle
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("r4u")

OUT_OF_BAND_BYTES = 64 * 1024  # bytes objects at least this long are sent as buffers of their own
_LARGE = b"\x00"  # first byte of a message with buffers (a pickle always starts with its PROTO opcode)


def _out_of_band(obj: Any) -> Any:
    """The message with each large body wrapped for out-of-band pickling (the pickler itself never
    offers bytes to a reducer: for speed it always copies them into the pickle)."""
    kind = type(obj)
    if kind in (bytes, bytearray):
        return pickle.PickleBuffer(obj) if len(obj) >= OUT_OF_BAND_BYTES else obj
    if kind is dict:
        return {key: _out_of_band(value) for key, value in obj.items()}
    if kind in (list, tuple):
        return kind(_out_of_band(value) for value in obj)
    return obj


def encode(message: Any, large: bool) -> list[Any]:
    """The frames of one message: the pickle, then its out-of-band buffers (only when `large`).
    The receiver gets each buffer back as bytes, whether it was bytes or a bytearray here."""
    if not large:
        return [pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)]
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(_out_of_band(message), protocol=5, buffer_callback=buffers.append)
    return [_LARGE + len(buffers).to_bytes(4, "little") + head, *(b.raw() for b in buffers)]


def receive(connection: Any) -> Any:
    """Read one message written by `Channel` (the writer's side)."""
    head = connection.recv_bytes()
    if head[:1] != _LARGE:
        return pickle.loads(head)
    count = int.from_bytes(head[1:5], "little")
    buffers = [connection.recv_bytes() for _ in range(count)]
    return pickle.loads(memoryview(head)[5:], buffers=buffers)


class Channel:
    """Proxy side of one writer's pipe: `put()` never blocks; a daemon thread does the writing."""

    def __init__(
        self, connection: Any, name: str = "r4u-writer-feed", sent_large: Callable[[Any], None] | None = None
    ) -> None:
        self.connection = connection
        self._sent_large = sent_large  # called on the feeder thread once a large message is in the pipe
        self._items: collections.deque[tuple[Any, bool]] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self.broken = False  # the writer end is gone (the writer process died)
        self._thread = threading.Thread(target=self._feed, name=name, daemon=True)
        self._thread.start()

    def put(self, message: Any, large: bool = False) -> None:
        self._items.append((message, large))
        self._wake.set()

    def _feed(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._items:
                message, large = self._items.popleft()
                try:
                    for frame in encode(message, large):
                        self.connection.send_bytes(frame)
                    if large and self._sent_large is not None:
                        self._sent_large(message)
                    # the last message sent must not stay alive here while the feeder waits
                    frame = message = None
                except (OSError, ValueError):  # EPIPE once the writer died; ValueError once closed
                    self.broken = True
                    self._items.clear()
                    return
                except Exception:  # an object that does not pickle: that one trace, not the channel
                    log.exception("r4u: could not hand a trace to the writer")
            if self._closed:
                return

    def close(self) -> None:
        """Stop feeding: what is not written yet is dropped here (the proxy still holds it)."""
        self._closed = True
        self._items.clear()
        self._wake.set()
        self._thread.join(1.0)  # never close the pipe under a send in progress
        with contextlib.suppress(OSError):
            self.connection.close()
