"""A real proxy started through the CLI for end-to-end tests, and an app runner.

The proxy runs as a user runs it — `python -m r4u_proxy proxy start …` in a subprocess — with
`--resolve` pointing the LLM hosts at the local simulator and `--upstream-ca` trusting its CA.
App code runs in `.venv-app` (the official SDKs live there), also in subprocesses. The session-wide
fixtures built on these (`sim`, `proxy`, `marker`) are in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from r4u_proxy.simulator.certs import DEFAULT_NAMES
from r4u_proxy.simulator.simulator import Simulator

REPO = Path(__file__).resolve().parents[2]
APP_PYTHON = REPO / ".venv-app" / "bin" / "python"
# The provider hosts the simulator's certificate names (not its local test names).
SIMULATED_HOSTS = tuple(name for name in DEFAULT_NAMES if name not in ("example.test", "localhost", "127.0.0.1"))


def r4u_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "r4u_proxy", *args]


class RunningProxy:
    """A proxy process started through the CLI, with helpers to read what it recorded."""

    def __init__(self, home: Path, process: subprocess.Popen, log_path: Path) -> None:
        self.home = home
        self.process = process
        self.log_path = log_path
        self.state: dict[str, Any] = {}

    @property
    def port(self) -> int:
        return int(self.state["port"])

    @property
    def url(self) -> str:
        return self.state["proxy_url"]

    @property
    def ca_bundle(self) -> Path:
        return Path(self.state["ca_bundle"])

    @property
    def db(self) -> Path:
        return Path(self.state["db"])

    def env(self, project: str | None = None) -> dict[str, str]:
        """The environment an app needs to go through this proxy."""
        url = self.url if not project else self.url.replace("http://", f"http://{project}@")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(
            HTTPS_PROXY=url, HTTP_PROXY=url, https_proxy=url, http_proxy=url, NO_PROXY="", no_proxy="",
            SSL_CERT_FILE=str(self.ca_bundle), REQUESTS_CA_BUNDLE=str(self.ca_bundle),
            CURL_CA_BUNDLE=str(self.ca_bundle), OPENAI_API_KEY="sk-test-0123456789abcdefSECRET",
            ANTHROPIC_API_KEY="sk-ant-test-0123456789abcdefSECRET", PYTHONPATH=str(REPO),
        )  # fmt: skip
        return env

    def rows(self, where: str = "1=1", params: tuple = ()) -> list[dict[str, Any]]:
        conn = sqlite3.connect(self.db, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(f"select * from traces where {where} order by id", params)]
        finally:
            conn.close()

    def wait_rows(self, where: str, params: tuple = (), count: int = 1, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows(where, params)
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def row_for(self, marker: str, timeout: float = 15) -> dict[str, Any]:
        """The trace of the request that carried header `x-test-id: marker`."""
        rows = self.wait_rows("json_extract(request_headers, '$.\"x-test-id\"') = ?", (marker,), 1, timeout)
        assert rows, f"no trace recorded for x-test-id {marker}; proxy log:\n{self.log_tail()}"
        assert len(rows) == 1, f"{len(rows)} traces for one call"
        return rows[0]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_proxy(home: Path, *args: str, timeout: float = 30, env: dict[str, str] | None = None) -> RunningProxy:
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "test-proxy.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        r4u_cmd("proxy", "start", "--home", str(home), "--port", "0", *args),
        stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    proxy = RunningProxy(home, process, log_path)
    deadline = time.monotonic() + timeout
    state_file = home / "proxy.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"proxy exited with {process.returncode}:\n{proxy.log_tail()}")
        try:
            state = json.loads(state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            state = {}
        if state.get("pid") == process.pid:
            proxy.state = state
            return proxy
        time.sleep(0.05)
    proxy.stop()
    raise RuntimeError(f"proxy did not start:\n{proxy.log_tail()}")


def simulator_args(sim: Simulator, hosts: tuple[str, ...] = SIMULATED_HOSTS) -> list[str]:
    args = ["--upstream-ca", str(sim.ca_path)]
    for host in hosts:
        args += ["--resolve", f"{host}=127.0.0.1:{sim.port}"]
    return args


def run_app(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run Python code in the application venv (.venv-app), as a user's program would run."""
    result = subprocess.run(
        [str(APP_PYTHON), "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"app failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
