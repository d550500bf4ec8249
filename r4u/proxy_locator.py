"""Find the running r4u proxy from its state file, or start one in the background.

Standard library only: this module runs inside the user's application. It reads
`R4U_HOME/proxy.json` with plain json (the proxy writes it; see docs/architecture.md)
and never imports `r4u_proxy`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .file_lock import exclusive
from .upstream import UPSTREAM_ENV

START_TIMEOUT_S = 30.0
# Variables a proxy we start must not inherit: its own upstream calls must not loop back into it.
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


class ProxyUnavailable(RuntimeError):
    """No r4u proxy runs and none could be started; the message says why."""


# NamedTuples here, not dataclasses: `dataclasses` imports `inspect`, which r4u run would pay for at start.
class RunningProxy(NamedTuple):
    proxy_url: str  # without a project, e.g. http://127.0.0.1:4848
    host: str
    port: int
    ca_cert: Path  # the r4u CA certificate (no key)
    home: Path
    upstream_proxy: str | None = None  # the proxy it forwards through, without credentials


def r4u_home(home: str | os.PathLike[str] | None = None) -> Path:
    if home:
        return Path(home).expanduser()
    return Path(os.environ.get("R4U_HOME") or Path.home() / ".r4u").expanduser()


def read_state(home: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((home / "proxy.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def accepts_connections(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there; rely on the port check
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except (OSError, OverflowError):
        return False
    return True


def _ca_cert_of(state: dict[str, Any], home: Path) -> Path:
    return Path(state.get("ca_cert") or home / "ca" / "mitmproxy-ca-cert.pem")


def find_running_proxy(home: Path) -> RunningProxy | None:
    """The live proxy described by `home`'s state file; None when absent or stale."""
    state = read_state(home)
    if not state:
        return None
    try:
        host, port, pid = str(state["host"]), int(state["port"]), int(state.get("pid") or 0)
    except (KeyError, TypeError, ValueError):
        return None
    if pid and not pid_alive(pid):
        return None
    if not accepts_connections(host, port):
        return None
    ca_cert = _ca_cert_of(state, home)
    if not ca_cert.is_file():
        return None
    url = str(state.get("proxy_url") or f"http://{host}:{port}")
    upstream = state.get("upstream_proxy") or None
    return RunningProxy(proxy_url=url, host=host, port=port, ca_cert=ca_cert, home=home, upstream_proxy=upstream)


def proxy_at(url: str, home: Path) -> RunningProxy:
    """A proxy the caller named explicitly; its CA comes from `home`."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        raise ProxyUnavailable(f"cannot read a host from proxy URL {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    state = read_state(home) or {}
    ca_cert = _ca_cert_of(state, home)
    if not ca_cert.is_file():
        raise ProxyUnavailable(f"no r4u CA certificate at {ca_cert} (start the proxy once with this R4U_HOME)")
    if not accepts_connections(parts.hostname, port):
        raise ProxyUnavailable(f"nothing accepts connections at {parts.hostname}:{port}")
    upstream = state.get("upstream_proxy") or None
    return RunningProxy(f"http://{parts.hostname}:{port}", parts.hostname, port, ca_cert, home, upstream)


def start_commands(home: Path) -> list[list[str]]:
    """Ways to run `r4u proxy start --detach`, best first.

    The same interpreter works when the proxy is installed beside the app (dev setups);
    otherwise an `r4u` command on PATH (a pipx/uv tool install). A shim-only `r4u`
    script in the app's own environment exits with status 2, and we move on.
    """
    args = ["proxy", "start", "--detach", "--home", str(home)]
    commands: list[list[str]] = []
    if _importable("r4u_proxy") and _importable("mitmproxy"):
        commands.append([sys.executable, "-m", "r4u", *args])
    seen: set[str] = set()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which("r4u", path=directory) if directory else None
        if found and os.path.realpath(found) not in seen:
            seen.add(os.path.realpath(found))
            commands.append([found, *args])
    return commands


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def start_detached_proxy(
    home: Path, timeout: float = START_TIMEOUT_S, upstream: str | None = None
) -> RunningProxy:
    """Start `r4u proxy start --detach`; `upstream`: a proxy it must forward through (see upstream.py)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # the proxy makes it 0700 too, whatever the umask
    # Serialise starts, so that two processes enabling at once start one proxy, not two.
    with exclusive(home / "proxy-start.lock"):
        running = find_running_proxy(home)  # someone may have started it while we waited
        if running:
            return running
        commands = start_commands(home)
        if not commands:
            raise ProxyUnavailable(
                "no r4u proxy is running and no `r4u` command with the proxy was found "
                "(install it with: pipx install 'r4u[proxy]', then run: r4u proxy start --detach)"
            )
        failures = []
        for command in commands:
            problem = _run_start_command(command, home, timeout, upstream)
            if problem is None:
                running = _wait_for_proxy(home, timeout)
                if running:
                    return running
                problem = f"no live proxy in {home / 'proxy.json'} after {timeout:.0f}s"
            failures.append(f"`{' '.join(command[:1] + command[1:3])} …`: {problem}")
        raise ProxyUnavailable("could not start the r4u proxy: " + "; ".join(failures))


def _run_start_command(command: list[str], home: Path, timeout: float, upstream: str | None) -> str | None:
    """None on success, else a one-line reason."""
    import subprocess  # only when starting a proxy: `r4u run` with one running should not pay for it

    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env["R4U_HOME"] = str(home)
    if upstream:
        env[UPSTREAM_ENV] = upstream
    # A file, not a pipe: a detached grandchild that inherits a pipe would keep us waiting for EOF.
    with tempfile.TemporaryFile() as output:
        try:
            result = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                env=env, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired:
            return f"did not return within {timeout:.0f}s"
        except OSError as exc:
            return str(exc)
        if result.returncode == 0:
            return None
        output.seek(0)
        lines = output.read().decode("utf-8", "replace").strip().splitlines()
        return f"exit status {result.returncode}" + (f": {lines[-1]}" if lines else "")


def _wait_for_proxy(home: Path, timeout: float) -> RunningProxy | None:
    deadline = time.monotonic() + timeout
    while True:
        running = find_running_proxy(home)
        if running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def locate_proxy(home: Path, start: bool = True, upstream: str | None = None) -> RunningProxy:
    running = find_running_proxy(home)
    if running:
        return running
    if not start:
        raise ProxyUnavailable(f"no r4u proxy is running (no live state in {home / 'proxy.json'})")
    return start_detached_proxy(home, upstream=upstream)
