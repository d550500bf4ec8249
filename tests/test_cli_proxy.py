"""`r4u proxy start --detach`, `status` and `stop` as a user types them."""

from __future__ import annotations

import json
import subprocess

from support.proxy import r4u_cmd, run_app, simulator_args


def r4u(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(r4u_cmd(*args), capture_output=True, text=True, timeout=timeout)


def test_detach_status_stop_cycle(sim, tmp_path):
    home = str(tmp_path / "home")
    assert r4u("proxy", "status", "--home", home).returncode == 1

    started = r4u("proxy", "start", "--detach", "--home", home, "--port", "0", "--no-ui", *simulator_args(sim))
    assert started.returncode == 0, started.stderr
    assert "proxy:  http://127.0.0.1:" in started.stdout and "ca-bundle.pem" in started.stdout

    status = r4u("proxy", "status", "--home", home, "--json")
    assert status.returncode == 0
    state = json.loads(status.stdout)
    assert state["running"] and state["host"] == "127.0.0.1"

    again = r4u("proxy", "start", "--detach", "--home", home, "--port", "0", "--no-ui")
    assert again.returncode == 0 and "already running" in again.stdout

    env = {"HTTPS_PROXY": state["proxy_url"], "SSL_CERT_FILE": state["ca_bundle"], "OPENAI_API_KEY": "sk-x"}
    run_app(
        "import openai; openai.OpenAI().chat.completions.create(model='gpt-4o', messages=[])",
        {**env, "PATH": "/usr/bin:/bin"},
    )
    stopped = r4u("proxy", "stop", "--home", home)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert r4u("proxy", "status", "--home", home).returncode == 1
    import sqlite3

    assert sqlite3.connect(state["db"]).execute("select count(*) from traces").fetchone()[0] == 1


def test_status_reports_counters(proxy):
    import time

    time.sleep(1.2)  # the writer publishes its counters about once a second
    out = r4u("proxy", "status", "--home", str(proxy.home))
    assert out.returncode == 0
    assert "recorded" in out.stdout and "dropped" in out.stdout
