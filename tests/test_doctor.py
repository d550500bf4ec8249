"""`r4u doctor` on a healthy setup and on three broken ones, through the console script, against a real proxy.

Python here is the app venv's (urllib, requests, httpx), curl is Debian's and Node the machine's (20, which
ignores HTTPS_PROXY unless r4u's preload is in NODE_OPTIONS).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.proxy import APP_PYTHON, RunningProxy

from r4u_proxy.simulator.simulator import Simulator

R4U = str(Path(sys.executable).parent / "r4u")


def clean_env(**extra: str) -> dict[str, str]:
    """A shell with no proxy settings, the app venv's python3 first on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith(("R4U_", "NODE_")) and "CA_" not in k
           and k not in ("SSL_CERT_FILE", "CODEX_CA_CERTIFICATE", "DENO_CERT")}  # fmt: skip
    env["PATH"] = f"{APP_PYTHON.parent}:{env['PATH']}"
    env.update(extra)
    return env


def doctor(home: Path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    args = [R4U, "doctor", "--home", str(home), *(["--", *command] if command else [])]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)


def lines(result: subprocess.CompletedProcess[str], status: str) -> list[str]:
    return [line.split(None, 1)[1] for line in result.stdout.splitlines() if line.strip().startswith(status)]


def test_healthy_setup_passes_every_check(proxy: RunningProxy):
    result = doctor(proxy.home, clean_env(), "node", "app.mjs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checking the environment `r4u run` sets" in result.stdout
    ok = "\n".join(lines(result, "ok"))
    for name in ("proxy", "python urllib", "python requests", "python httpx", "curl", "node fetch", "node https",
                 "command", "dns"):  # fmt: skip
        assert f"{name} " in ok, result.stdout
    assert lines(result, "FAIL") == []


def test_proxy_down_fails_with_the_fix(tmp_path: Path):
    result = doctor(tmp_path / "no-proxy-here", clean_env())
    assert result.returncode == 1
    assert "no r4u proxy is running" in result.stdout
    assert "fix: r4u proxy start --detach" in result.stdout


def test_a_ca_bundle_without_the_r4u_ca_fails(proxy: RunningProxy, sim: Simulator):
    """A shell set up by hand with a bundle that lacks the r4u CA (here: another CA's file)."""
    wrong = str(sim.ca_path)
    env = clean_env(HTTPS_PROXY=proxy.url, https_proxy=proxy.url, SSL_CERT_FILE=wrong, REQUESTS_CA_BUNDLE=wrong,
                    CURL_CA_BUNDLE=wrong, NODE_OPTIONS="")  # fmt: skip
    result = doctor(proxy.home, env)
    assert result.returncode == 1
    assert "checking this environment" in result.stdout
    failed = "\n".join(lines(result, "FAIL"))
    assert f"Python's ssl does not trust the r4u proxy with SSL_CERT_FILE={wrong}" in failed
    assert f"requests does not trust the r4u CA (REQUESTS_CA_BUNDLE={wrong})" in failed
    assert f"curl does not trust the r4u CA (CURL_CA_BUNDLE={wrong})" in failed


def test_node_without_the_preload_is_named_as_ignoring_the_proxy(proxy: RunningProxy):
    """The classic manual recipe (HTTPS_PROXY + CA variables): Python and curl are fine, Node 20 goes direct."""
    bundle = str(proxy.ca_bundle)
    env = clean_env(HTTPS_PROXY=proxy.url, https_proxy=proxy.url, SSL_CERT_FILE=bundle, REQUESTS_CA_BUNDLE=bundle,
                    CURL_CA_BUNDLE=bundle, NODE_EXTRA_CA_CERTS=proxy.state["ca_cert"])  # fmt: skip
    result = doctor(proxy.home, env, "node", "app.mjs")
    assert result.returncode == 1
    ok, failed = "\n".join(lines(result, "ok")), "\n".join(lines(result, "FAIL"))
    assert "python urllib" in ok and "curl" in ok
    assert "node fetch" in failed and "node https" in failed
    assert "fetch did not go through the r4u proxy" in failed
    assert "needs r4u's preload in NODE_OPTIONS" in result.stdout
