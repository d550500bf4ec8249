"""The running proxy's state file (R4U_HOME/proxy.json): who runs, where, with which files.

Reading it is shared with the stdlib-only shim (`r4u.proxy_locator`), which every r4u
install has; writing it is the proxy's business.
"""

from __future__ import annotations

import json
from typing import Any

from r4u.proxy_locator import accepts_connections, pid_alive
from r4u.proxy_locator import read_state as _read_state_file
from r4u_proxy.paths import Home

__all__ = ["clear_state", "pid_alive", "read_state", "read_export_stats", "read_stats", "running_state", "write_state"]


def write_state(home: Home, state: dict[str, Any]) -> None:
    home.root.mkdir(parents=True, exist_ok=True)
    tmp = home.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(home.state_file)


def read_state(home: Home) -> dict[str, Any] | None:
    return _read_state_file(home.root)


def clear_state(home: Home, pid: int | None = None) -> None:
    """Remove the state file (only if it still describes `pid`, when given)."""
    state = read_state(home)
    if state is not None and pid is not None and state.get("pid") != pid:
        return
    home.state_file.unlink(missing_ok=True)


def running_state(home: Home) -> dict[str, Any] | None:
    """The state of a live proxy, or None (a state file left by a dead process is stale)."""
    state = read_state(home)
    if not state or not pid_alive(int(state.get("pid", 0))):
        return None
    if not accepts_connections(state["host"], int(state["port"])):
        return None
    return state


def read_stats(home: Home) -> dict[str, Any]:
    from r4u_proxy.store.stats_file import read_stats as read_stats_file

    return read_stats_file(home.stats_file)


def read_export_stats(home: Home) -> dict[str, Any] | None:
    """The live exporter's counters (sent, rejected, unsent, last_error), or None when it is off."""
    try:
        return json.loads(home.export_stats_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
