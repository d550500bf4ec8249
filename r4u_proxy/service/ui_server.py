"""Run Datasette with r4u's plugin as a child process, for `r4u proxy start` and `r4u ui`.

Why a child process: Datasette runs its own event loop and threads; keeping it
out of the proxy process means a slow page never delays proxied traffic, and
a crash in one leaves the other running.

The database is served live (never `-i`/immutable): the writer keeps
appending while Datasette reads, so new calls show on reload.

    ui = start_ui("~/.r4u/traces.db", "127.0.0.1", 8484, "~/.r4u/logs/ui.log")
    ui.wait_ready()        # True once http://127.0.0.1:8484/ answers
    ...
    ui.stop()
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


# Datasette settings r4u runs with (tests and the bench use the same).
DATASETTE_SETTINGS: dict[str, object] = {
    # Facet suggestions try a query per column (traces has ~50) on every table page, which
    # made table pages take seconds on a large file (docs/ui.md). ?_facet=provider still works.
    "suggest_facets": False,
    # Named queries aggregate whole tables; give SQL a little more room than 1 s.
    "sql_time_limit_ms": 3000,
    "default_page_size": 50,
}


def datasette_command(db_path: str | Path, host: str, port: int) -> list[str]:
    command = [sys.executable, "-m", "datasette", "serve", str(db_path), "--host", host, "--port", str(port)]
    for name, value in DATASETTE_SETTINGS.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        command += ["--setting", name, text]
    return command


class UIServer:
    """A running Datasette child: its URL, readiness and shutdown."""

    def __init__(self, process: subprocess.Popen, host: str, port: int, log_file: IO[bytes] | None) -> None:
        self.process = process
        self.host = host
        self.port = port
        self._log_file = log_file

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def wait_ready(self, timeout: float = 20.0) -> bool:
        """Poll until Datasette answers (True) or the process exits / time runs out (False)."""
        deadline = time.monotonic() + timeout
        probe = self.url + "-/static-plugins/r4u/r4u.css"  # Datasette is up, with r4u's plugin
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(probe, timeout=1) as response:  # noqa: S310 (local URL)
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self._log_file:
            with contextlib.suppress(OSError):
                self._log_file.close()

    def __repr__(self) -> str:
        return f"UIServer(pid={self.process.pid}, url={self.url!r})"


def start_ui(
    db_path: str | Path, host: str = "127.0.0.1", port: int = 8484, log_path: str | Path | None = None
) -> UIServer:
    """Start Datasette on db_path in the background; returns at once (call wait_ready() to block).

    port 0 picks a free port. Output goes to log_path (appended), or is discarded. The child answers
    only for loopback names and `host` (datasette_plugins/privacy.py) and exits once this process
    is gone, however it ends.
    """
    from r4u_proxy.store.migrations import open_db

    open_db(db_path).close()  # create or upgrade the schema (UI indexes, full-text search) before serving
    if port == 0:
        port = free_port(host)
    log_file: IO[bytes] | None = None
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        log_file = open(log_path, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["R4U_UI_ALLOWED_HOSTS"] = host
    env["R4U_PARENT_PID"] = str(os.getpid())
    process = subprocess.Popen(
        datasette_command(db_path, host, port),
        stdin=subprocess.DEVNULL,
        stdout=log_file or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log_file else subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # Ctrl-C in the proxy's terminal is handled by the proxy, which stops us
    )
    return UIServer(process, host, port, log_file)
