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

    The proxy and its writer process count into one shared-memory array once `attach()` is
    called in each, so either can publish the totals.
    """

    NAMES = ("recorded", "dropped", "addon_errors", "analysis_errors", "write_errors")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = dict.fromkeys(self.NAMES, 0)
        self._shared: Any = None  # a multiprocessing Array("q") once attached

    def attach(self, shared: Any) -> None:
        current = self.snapshot()  # counts so far carry over into the shared array
        with self._lock, shared.get_lock():
            for i, name in enumerate(self.NAMES):
                shared[i] += current[name]
            self._shared = shared

    def add(self, name: str, n: int = 1) -> None:
        index = self.NAMES.index(name)
        if self._shared is not None:
            with self._shared.get_lock():
                self._shared[index] += n
            return
        with self._lock:
            self._local[name] += n

    def snapshot(self) -> dict[str, int]:
        if self._shared is not None:
            with self._shared.get_lock():
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
