"""Chaining to a company proxy: the r4u proxy forwards through it, the calls are recorded, and the proxy's
password never reaches a file, a log or a command line.

The company proxy is real in both tests: mitmdump in regular mode with --proxyauth (as it runs in front of
an office network), and a small CONNECT proxy that resolves the provider's name itself, the way a proxy
on a network without direct DNS does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.forward_proxy import ForwardProxy
from support.proxy import APP_PYTHON, REPO, RunningProxy, start_proxy

from r4u_proxy.simulator.simulator import Simulator

R4U = str(Path(sys.executable).parent / "r4u")
MITMDUMP = str(Path(sys.executable).parent / "mitmdump")
PASSWORD = "corp-s3cret-pw"

OPENAI_CALL = """
import os, openai
client = openai.OpenAI(api_key="sk-test-0123456789abcdefSECRET")
reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "via corp"}],
                                       extra_headers={"x-test-id": os.environ["MARKER"]})
print(reply.choices[0].message.content)
"""


@pytest.fixture
def corporate_mitmdump(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """mitmdump as a company proxy: CONNECT with Basic auth, tunnels without looking inside."""
    log_path = tmp_path / "corp-proxy.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [MITMDUMP, "--listen-host", "127.0.0.1", "--listen-port", "0", "--proxyauth", f"corp-user:{PASSWORD}",
             "--ignore-hosts", ".*", "--set", f"confdir={tmp_path / 'corp-ca'}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (match := re.search(r"listening at 127\.0\.0\.1:(\d+)", log_path.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield f"http://corp-user:{PASSWORD}@127.0.0.1:{match.group(1)}", log_path
    finally:
        process.terminate()
        process.wait(30)


def files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_upstream_proxy_flag_forwards_through_the_company_proxy(
    sim: Simulator, corporate_mitmdump: tuple[str, Path], tmp_path: Path, marker: str
):
    corp_url, corp_log = corporate_mitmdump
    proxy = start_proxy(
        tmp_path / "home", "--no-ui", "--no-grouping", "--upstream-ca", str(sim.ca_path),
        "--resolve", f"api.openai.com=127.0.0.1:{sim.port}", "--upstream-proxy", corp_url,
    )  # fmt: skip
    try:
        env = {**proxy.env(), "MARKER": marker}
        result = subprocess.run([str(APP_PYTHON), "-c", OPENAI_CALL], env=env, capture_output=True, text=True,
                                timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stderr
        row = proxy.row_for(marker)
        assert row["status_code"] == 200 and row["request_model"] == "gpt-4o-mini"
        # The company proxy carried it: it was asked (with the right password) for the simulator's address.
        assert f"server connect 127.0.0.1:{sim.port}" in corp_log.read_text()
        assert proxy.state["upstream_proxy"] == corp_url.replace(f"corp-user:{PASSWORD}@", "")
    finally:
        proxy.stop()
    assert files_containing(proxy.home, PASSWORD) == []


def test_run_chains_to_the_https_proxy_it_replaces(sim: Simulator, tmp_path: Path, marker: str):
    """`r4u run` in a shell whose HTTPS_PROXY is a company proxy: the proxy it starts forwards through it."""
    corp = ForwardProxy("corp-user", PASSWORD, hosts={"api.openai.com": ("127.0.0.1", sim.port)})
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("R4U_")}
    env.update(
        R4U_HOME=str(home), R4U_PORT="0", R4U_UI_PORT="0", R4U_UPSTREAM_CA=str(sim.ca_path),
        HTTPS_PROXY=corp.url, https_proxy=corp.url, NO_PROXY="intranet.corp", MARKER=marker,
        PYTHONPATH=str(REPO),
    )  # fmt: skip
    try:
        result = subprocess.run([R4U, "run", "--", str(APP_PYTHON), "-c", OPENAI_CALL], env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "Simulated reply" in result.stdout
        assert [(seen.target, seen.authorized) for seen in corp.seen] == [("api.openai.com:443", True)]
        state = json.loads((home / "proxy.json").read_text())
        assert state["upstream_proxy"] == f"http://127.0.0.1:{corp.port}"
        cmdline = Path(f"/proc/{state['pid']}/cmdline").read_bytes()
        environ = Path(f"/proc/{state['pid']}/environ").read_bytes()
        assert PASSWORD.encode() not in cmdline  # other users can read a command line
        assert PASSWORD.encode() in environ  # only the owner can read this; it is how the child got it
        recorded = RunningProxy(home, subprocess.Popen(["true"]), home / "logs" / "proxy.log")
        recorded.state = state
        assert recorded.row_for(marker)["status_code"] == 200
    finally:
        subprocess.run([R4U, "proxy", "stop", "--home", str(home)], env=env, capture_output=True, timeout=60)
        corp.close()
    assert files_containing(home, PASSWORD) == []
