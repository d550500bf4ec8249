"""`r4u env` and `r4u run`, through the installed console script, as a shell user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clients.fake_proxy import FakeProxy

R4U = str(Path(sys.executable).parent / "r4u")


@pytest.fixture
def fake_proxy(tmp_path: Path):
    proxy = FakeProxy(tmp_path / "it's a dir")  # a quote and a space: paths must be quoted right
    yield proxy
    proxy.close()


def shell_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("R4U_")}
    env["R4U_HOME"] = str(home)
    return env


def r4u(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([R4U, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_env_output_evaluates_in_sh(fake_proxy: FakeProxy):
    script = 'eval "$(r4u env --project billing-bot --shell sh)"; printf "%s\\n" "$HTTPS_PROXY" "$http_proxy" "$SSL_CERT_FILE" "$NODE_USE_ENV_PROXY"'
    env = {**shell_env(fake_proxy.home), "PATH": f"{Path(R4U).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    https_proxy, http_proxy, bundle, node_proxy = result.stdout.splitlines()
    assert https_proxy == http_proxy == f"http://billing-bot:r4u@127.0.0.1:{fake_proxy.port}"
    assert bundle.startswith(str(fake_proxy.home)) and Path(bundle).is_file()
    assert node_proxy == "1"
    assert "recording through" in result.stderr  # the human note goes to stderr, not into eval


def test_env_speaks_fish_and_powershell(fake_proxy: FakeProxy):
    fish = r4u("env", "--shell", "fish", env=shell_env(fake_proxy.home))
    assert fish.returncode == 0, fish.stderr
    lines = dict(line.split(" ", 3)[2:] for line in fish.stdout.splitlines())
    assert lines["HTTPS_PROXY"] == f"'http://127.0.0.1:{fake_proxy.port}';"
    assert lines["SSL_CERT_FILE"].startswith("'") and "it\\'s a dir" in lines["SSL_CERT_FILE"]

    pwsh = r4u("env", "--shell", "powershell", "--project", "p", env=shell_env(fake_proxy.home))
    assert pwsh.returncode == 0, pwsh.stderr
    assert f"$env:HTTPS_PROXY = 'http://p:r4u@127.0.0.1:{fake_proxy.port}'" in pwsh.stdout.splitlines()
    assert "it''s a dir" in pwsh.stdout


def test_env_include_local_keeps_localhost_proxied(fake_proxy: FakeProxy):
    env = {**shell_env(fake_proxy.home), "NO_PROXY": "internal.corp,localhost"}
    plain = r4u("env", "--shell", "sh", env=env).stdout
    local = r4u("env", "--shell", "sh", "--include-local", env=env).stdout
    assert "export NO_PROXY=internal.corp,localhost,127.0.0.1,::1" in plain.splitlines()
    assert "export NO_PROXY=internal.corp" in local.splitlines()


def test_env_without_a_proxy_fails_clearly_and_prints_nothing_to_eval(tmp_path: Path):
    result = r4u("env", "--no-start", env=shell_env(tmp_path / "empty"))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no r4u proxy is running" in result.stderr


def test_run_passes_the_environment_and_the_exit_status(fake_proxy: FakeProxy):
    result = r4u(
        "run", "--project", "nightly", "--", "sh", "-c", 'echo "$HTTPS_PROXY|$CURL_CA_BUNDLE"; exit 7',
        env=shell_env(fake_proxy.home),
    )  # fmt: skip
    assert result.returncode == 7
    proxy, bundle = result.stdout.strip().split("|")
    assert proxy == f"http://nightly:r4u@127.0.0.1:{fake_proxy.port}" and Path(bundle).is_file()


def test_run_reports_a_missing_command_with_127(fake_proxy: FakeProxy):
    result = r4u("run", "--", "no-such-command-r4u", env=shell_env(fake_proxy.home))
    assert result.returncode == 127 and "no-such-command-r4u" in result.stderr


WAITS_FOR_SIGTERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (print('got SIGTERM', flush=True), sys.exit(42)))\n"
    "print('ready', flush=True)\n"
    "time.sleep(30)\n"
)


def _signal_when_ready(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    rest = process.stdout.read()
    return process.wait(timeout=30), rest


def test_run_delivers_signals_to_the_command(fake_proxy: FakeProxy):
    status, output = _signal_when_ready([R4U, "run", "--", sys.executable, "-c", WAITS_FOR_SIGTERM],
                                        shell_env(fake_proxy.home))
    assert output.strip() == "got SIGTERM" and status == 42


def test_child_runner_forwards_signals_and_status():
    """The subprocess path `r4u run` takes where exec is unavailable (Windows), exercised here."""
    runner = (
        "import os, sys\n"
        "from r4u.run import run_and_forward_signals\n"
        "sys.exit(run_and_forward_signals(sys.argv[1:], os.environ))\n"
    )
    started = time.monotonic()
    status, output = _signal_when_ready([sys.executable, "-c", runner, sys.executable, "-c", WAITS_FOR_SIGTERM],
                                        dict(os.environ))
    assert output.strip() == "got SIGTERM" and status == 42
    assert time.monotonic() - started < 20  # the child did not just sleep its 30 s out


def test_run_with_home_passes_it_on_so_enable_finds_the_same_proxy(fake_proxy: FakeProxy):
    env = shell_env(fake_proxy.home.parent / "elsewhere")
    result = r4u("run", "--home", str(fake_proxy.home), "--", "sh", "-c", 'echo "$R4U_HOME|$HTTPS_PROXY"', env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{fake_proxy.home.resolve()}|http://127.0.0.1:{fake_proxy.port}"
