"""A pytest plugin that runs one real Phoenix (`phoenix serve` from .venv-phoenix) for the session.

Phoenix takes tens of seconds to import and migrate its database, so it is started as soon as collection
shows a test that needs it, and those tests are moved to the end of the run: the start-up overlaps the
other tests instead of adding to the suite's wall time.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PHOENIX = REPO / ".venv-phoenix" / "bin" / "phoenix"
MARK = "test_export_phoenix.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PhoenixServer:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="r4u-phoenix-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> PhoenixServer:
        if not PHOENIX.exists():
            return self  # the fixture says what to run
        env = {**os.environ, "PHOENIX_PORT": str(self.port), "PHOENIX_GRPC_PORT": str(_free_port()),
               "PHOENIX_HOST": "127.0.0.1", "PHOENIX_WORKING_DIR": str(self.workdir),
               "PHOENIX_TELEMETRY_ENABLED": "false"}  # fmt: skip
        log = open(self.workdir / "phoenix.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.started_at = time.monotonic()
        self.process = subprocess.Popen([str(PHOENIX), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 300) -> str:
        assert self.process is not None, "Phoenix is not installed: `make test` builds .venv-phoenix (make phoenix-venv)"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        log = (self.workdir / "phoenix.log").read_text(errors="replace")[-2000:]
        raise AssertionError(f"phoenix did not start (exit {self.process.poll()}):\n{log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = [item for item in items if item.nodeid.split("::")[0].endswith(MARK)]
    if not wanted:
        return
    items[:] = [item for item in items if item not in wanted] + wanted
    config.stash[_KEY] = PhoenixServer().start()


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_KEY, None)
    if server is not None:
        server.stop()


_KEY = pytest.StashKey[PhoenixServer]()


@pytest.fixture(scope="session")
def phoenix(request: pytest.FixtureRequest) -> str:
    """The URL of the session's Phoenix, once it answers."""
    server = request.config.stash.get(_KEY, None)
    if server is None:  # collected some other way: start it now
        server = request.config.stash[_KEY] = PhoenixServer().start()
    return server.wait_ready()
