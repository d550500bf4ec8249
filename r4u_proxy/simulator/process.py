"""`SimulatorProcess`: the simulator in a child process, so its work does not share a GIL with the
code under measurement (benchmarks) and it can outlive one test (`r4u demo`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path


class SimulatorProcess:
    """Start `python -m r4u_proxy.simulator` and read its JSON ready line."""

    def __init__(
        self,
        tls: bool = True,
        cert_dir: str | Path | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        fixtures_dir: str | Path | None = None,
        extra_names: tuple[str, ...] | list[str] = (),
        python: str = sys.executable,
    ) -> None:
        self.command = [python, "-m", "r4u_proxy.simulator", "--host", host, "--port", str(port)]
        if tls:
            self.command.append("--tls")
        if cert_dir:
            self.command += ["--cert-dir", str(cert_dir)]
        if fixtures_dir:
            self.command += ["--fixtures", str(fixtures_dir)]
        for name in extra_names:
            self.command += ["--name", name]
        self.process: subprocess.Popen[str] | None = None
        self.info: dict[str, object] = {}

    @property
    def port(self) -> int:
        return int(self.info["port"])  # type: ignore[call-overload]

    @property
    def ca_path(self) -> Path | None:
        return Path(str(self.info["ca"])) if self.info.get("ca") else None

    @property
    def base_url(self) -> str:
        return str(self.info["url"])

    def start(self, timeout: float = 15.0) -> SimulatorProcess:
        env = dict(os.environ)
        repo_root = Path(__file__).resolve().parents[2]
        if (repo_root / "pyproject.toml").exists():
            # Running from a checkout: the child must import this r4u_proxy even when it is not installed.
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo_root), env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True, env=env)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or not line[0].strip():
            self.stop()
            raise RuntimeError(f"the simulator did not start within {timeout:.0f}s: {' '.join(self.command)}")
        self.info = json.loads(line[0])
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
