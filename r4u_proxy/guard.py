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
    """Process-wide counters, reported in proxy-stats.json and `r4u proxy status`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, int] = {
            "recorded": 0,
            "dropped": 0,
            "addon_errors": 0,
            "analysis_errors": 0,
            "write_errors": 0,
        }

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.values[name] = self.values.get(name, 0) + n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.values)


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
