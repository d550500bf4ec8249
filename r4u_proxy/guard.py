"""Never break the app: an exception inside r4u is logged and counted, never raised into mitmproxy."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("r4u")

F = TypeVar("F", bound=Callable[..., Any])


class Counters:
    """Counters reported in proxy-stats.json and `r4u proxy status`.

    Each process counts into its own numbers: the proxy in this object, the writer process in a shared
    array it alone writes (`attach()`), which the proxy reads to publish the totals. No lock is shared
    between processes: a process killed while holding one would stop the other for good.
    """

    NAMES = ("recorded", "dropped", "addon_errors", "analysis_errors", "write_errors", "bodies_lost")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = dict.fromkeys(self.NAMES, 0)
        self._shared: Any = None  # a multiprocessing RawArray("q") once attached, written by this process only

    def attach(self, shared: Any) -> None:
        """Count into `shared` from now on (the writer process; it is single-threaded)."""
        with self._lock:
            for i, name in enumerate(self.NAMES):
                shared[i] += self._local[name]
                self._local[name] = 0
            self._shared = shared

    def add(self, name: str, n: int = 1) -> None:
        index = self.NAMES.index(name)
        if self._shared is not None:
            self._shared[index] += n
            return
        with self._lock:
            self._local[name] += n

    def snapshot(self) -> dict[str, int]:
        if self._shared is not None:
            return dict(zip(self.NAMES, self._shared[:], strict=True))
        with self._lock:
            return dict(self._local)


COUNTERS = Counters()


def guarded(hook: F) -> F:
    """Wrap an addon hook so that a bug in r4u costs a log line and a count, not the user's request."""

    @functools.wraps(hook)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return hook(*args, **kwargs)
        except Exception:
            COUNTERS.add("addon_errors")
            log.exception("r4u: error in %s (the traffic itself is unaffected)", hook.__qualname__)
            return None

    return wrapper  # type: ignore[return-value]
