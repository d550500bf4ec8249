"""The running proxy's state file (R4U_HOME/proxy.json): who runs, where, with which files."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from .paths import Home


def write_state(home: Home, state: dict[str, Any]) -> None:
    home.root.mkdir(parents=True, exist_ok=True)
    tmp = home.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(home.state_file)


def read_state(home: Home) -> dict[str, Any] | None:
    try:
        return json.loads(home.state_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def clear_state(home: Home, pid: int | None = None) -> None:
    """Remove the state file (only if it still describes `pid`, when given)."""
    state = read_state(home)
    if state is not None and pid is not None and state.get("pid") != pid:
        return
    home.state_file.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def running_state(home: Home) -> dict[str, Any] | None:
    """The state of a live proxy, or None (a state file left by a dead process is stale)."""
    state = read_state(home)
    if not state or not pid_alive(int(state.get("pid", 0))):
        return None
    if not port_open(state["host"], int(state["port"])):
        return None
    return state


def read_stats(home: Home) -> dict[str, Any]:
    try:
        return json.loads(Path(home.stats_file).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
