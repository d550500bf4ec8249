"""The processes a benchmark run needs: the simulator, a bare mitmdump, and `r4u proxy start`.

Each runs in its own process so that none of them shares a GIL with the measuring client.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout: `python bench/bench.py`

from r4u_proxy.simulator import SimulatorProcess  # noqa: E402


@dataclass
class Target:
    """One way of reaching the simulator: where to send the request, through which proxy, trusting what."""

    name: str
    url: str  # the chat completions URL the client calls
    proxy: str | None  # proxy URL, None for direct
    ca_file: Path  # what the client must trust
    pid: int | None = None  # the proxy process (its CPU time is measured), None for direct

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its live descendants (Linux /proc); None elsewhere.

    Unlike wall-clock latency this barely moves when other work shares the machine, so it is the
    steadier measure of what a proxy costs per request.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) or 0.0 for child in _children(pid))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f}s")


def stop_process(process: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_simulator(workdir: Path) -> SimulatorProcess:
    return SimulatorProcess(tls=True, cert_dir=workdir / "sim-ca").start()


def direct_target(sim: SimulatorProcess) -> Target:
    # The client calls the simulator by IP; its certificate carries 127.0.0.1 as a SAN, so TLS verifies
    # without touching DNS or /etc/hosts, and the same URL works through bare mitmdump.
    assert sim.ca_path is not None
    return Target("direct", f"https://127.0.0.1:{sim.port}/v1/chat/completions", None, sim.ca_path)


class Mitmdump:
    """A mitmproxy with no addon of ours and no flow printing, in one of three variants:

    - "mitmdump": bare `mitmdump`, as installed (it buffers every body: its default);
    - "streaming": bare `mitmdump --set stream_large_bodies=1`, forwarding every body as it arrives;
    - "lean": mitmproxy as r4u embeds it (bench/lean_mitmproxy.py: the same Master and mitmproxy addons,
      streaming on) without r4u's own addons: the floor for what recording could cost on top.
    """

    def __init__(self, sim: SimulatorProcess, workdir: Path, variant: str = "mitmdump") -> None:
        self.sim = sim
        self.variant = variant
        self.confdir = workdir / f"{variant}-conf"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = workdir / f"{variant}.log"

    def _command(self) -> list[str]:
        if self.variant == "lean":
            script = REPO / "bench" / "lean_mitmproxy.py"
            return [sys.executable, str(script), str(self.port), str(self.confdir), str(self.sim.ca_path)]
        mitmdump = Path(sys.executable).with_name("mitmdump")
        return [
            str(mitmdump), "-q",  # -q: no per-flow output, as an embedded proxy prints nothing
            "--listen-host", "127.0.0.1", "--listen-port", str(self.port),
            "--set", f"confdir={self.confdir}",
            "--set", f"ssl_verify_upstream_trusted_ca={self.sim.ca_path}",
            *(["--set", "stream_large_bodies=1"] if self.variant == "streaming" else []),
        ]  # fmt: skip

    def start(self) -> Target:
        self.confdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        wait_for_port(self.port, self.process, self.variant)
        ca = self.confdir / "mitmproxy-ca-cert.pem"
        direct = direct_target(self.sim)
        return Target(self.variant, direct.url, f"http://127.0.0.1:{self.port}", ca, self.process.pid)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


class R4uProxy:
    """`r4u proxy start` as a user runs it, with api.openai.com resolved to the simulator."""

    def __init__(self, sim: SimulatorProcess, workdir: Path, grouping: bool = True, extra_args: tuple[str, ...] = ()) -> None:
        self.sim = sim
        self.home = workdir / "r4u-home"
        self.grouping = grouping
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None
        self.state: dict = {}
        self.log = workdir / "r4u-proxy.log"

    @staticmethod
    def available() -> str | None:
        """None when `r4u proxy start` can run here, else why not."""
        probe = subprocess.run(
            [sys.executable, "-m", "r4u_proxy", "proxy", "start", "--help"], capture_output=True, text=True
        )
        if probe.returncode != 0 or "--resolve" not in probe.stdout:
            return "`r4u proxy start --help` fails or lacks --resolve"
        return None

    def start(self, timeout: float = 60.0) -> Target:
        self.home.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "r4u_proxy", "proxy", "start", "--home", str(self.home), "--port", "0",
            "--no-ui", "--upstream-ca", str(self.sim.ca_path),
            "--resolve", f"api.openai.com=127.0.0.1:{self.sim.port}",
        ]  # fmt: skip
        if not self.grouping:
            command.append("--no-grouping")
        command += self.extra_args
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        state_file = self.home / "proxy.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"r4u proxy exited with {self.process.returncode}; see {self.log}")
            try:
                state = json.loads(state_file.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                state = {}
            if state.get("pid") == self.process.pid:
                self.state = state
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"r4u proxy did not start within {timeout:.0f}s; see {self.log}")
        wait_for_port(int(self.state["port"]), self.process, "r4u proxy")
        bundle = Path(self.state.get("ca_bundle") or self.home / "ca-bundle.pem")
        url = "https://api.openai.com/v1/chat/completions"
        return Target("r4u", url, self.state["proxy_url"], bundle, self.process.pid)

    def grouping_note(self) -> str:
        """Whether the grouping child really ran: a build may lack it and say so in the log."""
        if not self.grouping:
            return "without the grouping process (--no-grouping)"
        log = self.log.read_text(errors="replace") if self.log.exists() else ""
        if "grouping is not available" in log:
            return "grouping was requested but not available in this build"
        return "with the grouping process running"

    def recorded_calls(self) -> int | None:
        """How many traces the proxy wrote for api.openai.com (a check that it recorded, not just forwarded)."""
        db = Path(self.state.get("db") or self.home / "traces.db")
        if not db.exists():
            return None
        connection = sqlite3.connect(db, timeout=30)
        try:
            return connection.execute("select count(*) from traces where host = 'api.openai.com'").fetchone()[0]
        except sqlite3.Error:
            return None
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=30)
