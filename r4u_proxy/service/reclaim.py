"""`proxy start` after a proxy that died without stopping (kill -9, OOM, a crash): clear what it left.

Its children notice on their own that it is gone (each watches its parent) and exit within a
second or so. This is for whatever is still there when the next start comes sooner, or from an r4u
that did not watch: the state file lists each child with its start time, and a child still running
with the same pid *and* start time is stopped (SIGTERM, then SIGKILL). A pid that now belongs to
another process has another start time and is left alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

from r4u_proxy.paths import Home
from r4u_proxy.state import clear_state, pid_alive, read_state

log = logging.getLogger("r4u")

TERM_WAIT_S = 3.0


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (Linux), or None where /proc has none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None."""
    fields = _stat(pid)
    return fields[19] if fields else None  # field 22 of stat


def running(pid: int) -> bool:
    """Alive and not a zombie (an exited child its parent has not reaped yet still answers kill 0)."""
    fields = _stat(pid)
    return pid_alive(pid) and not (fields and fields[0] == "Z")


def identity(pid: int | None, role: str) -> dict[str, Any] | None:
    if pid is None:
        return None
    return {"role": role, "pid": pid, "started": start_time(pid)}


def _same_process(entry: dict[str, Any]) -> bool:
    pid = int(entry.get("pid") or 0)
    if pid <= 0 or not running(pid):
        return False
    started = entry.get("started")
    return started is not None and started == start_time(pid)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, sig)


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def reclaim(home: Home) -> list[int]:
    """Stop the leftovers of a dead proxy of this home; returns the pids stopped."""
    state = read_state(home)
    if not state:
        return []
    proxy = {"pid": state.get("pid"), "started": state.get("pid_started")}
    if _same_process(proxy) or (proxy["started"] is None and pid_alive(int(proxy["pid"] or 0))):
        return []  # the proxy itself still runs (or cannot be told apart): nothing is stale
    leftovers = [int(c["pid"]) for c in state.get("children") or [] if isinstance(c, dict) and _same_process(c)]
    for pid in leftovers:
        log.warning("r4u: stopping pid %d, left running by a proxy that did not stop", pid)
        _signal(pid, signal.SIGTERM)
        _signal(pid, signal.SIGCONT)  # a stopped process acts on SIGTERM only once continued
    _wait_gone(leftovers, TERM_WAIT_S)
    for pid in leftovers:
        if running(pid):
            _signal(pid, signal.SIGKILL)
    _wait_gone(leftovers, 1.0)  # its sockets are released only once it has exited
    clear_state(home)
    return leftovers
