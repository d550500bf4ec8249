"""Every client, recorded after `r4u.enable()` (or under `r4u run`), each in a fresh .venv-app process.

The app gets no proxy settings of its own: only R4U_HOME pointing at the session's real proxy
(conftest's `proxy`, upstream = the simulator). Each call carries an `x-test-id` header; the test
then reads that call's trace row and compares it with what the client itself received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.proxy import APP_PYTHON, REPO

CLIENTS = Path(__file__).parent / "clients"
R4U = str(Path(sys.executable).parent / "r4u")


def app_env(proxy, **extra: str) -> dict[str, str]:
    """An app's environment: nothing about proxies, only where r4u lives and API keys."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("R4U_")}
    env.update(
        R4U_HOME=str(proxy.home), PYTHONPATH=str(REPO), PATH="/usr/bin:/bin",
        OPENAI_API_KEY="sk-test-shim-0123456789", ANTHROPIC_API_KEY="sk-ant-test-shim-0123456789",
    )  # fmt: skip
    env.update(extra)
    return env


def run_client(script: str, proxy, *args: str) -> dict:
    result = subprocess.run(
        [str(APP_PYTHON), str(CLIENTS / script), *args], env=app_env(proxy), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}\n{proxy.log_tail()}"
    return json.loads(result.stdout)


def assert_openai_chat_trace(row: dict, project: str, body: dict) -> None:
    """The trace says what the client saw: project, endpoint, model, tokens, text."""
    assert row["project"] == project
    assert (row["provider"], row["operation"], row["status_code"]) == ("openai", "chat", 200)
    assert row["url"] == "https://api.openai.com/v1/chat/completions"
    assert row["request_model"] == "gpt-4o-mini" and row["response_model"] == body["model"]
    assert row["input_tokens"] == body["usage"]["prompt_tokens"]
    assert row["output_tokens"] == body["usage"]["completion_tokens"]
    assert row["completion_text"] == body["choices"][0]["message"]["content"]
    assert row["error"] is None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_httpx(proxy, marker, mode):
    body = run_client("httpx_client.py", proxy, f"httpx-{mode}", marker, mode)
    assert_openai_chat_trace(proxy.row_for(marker), f"httpx-{mode}", body)


def test_requests(proxy, marker):
    body = run_client("requests_client.py", proxy, "requests-app", marker)
    assert_openai_chat_trace(proxy.row_for(marker), "requests-app", body)


def test_urllib(proxy, marker):
    body = run_client("urllib_client.py", proxy, "urllib-app", marker)
    assert_openai_chat_trace(proxy.row_for(marker), "urllib-app", body)


@pytest.mark.parametrize("order", ["before", "after"])
def test_aiohttp_imported_before_and_after_enable(proxy, marker, order):
    body = run_client("aiohttp_client.py", proxy, f"aiohttp-{order}", marker, order)
    assert_openai_chat_trace(proxy.row_for(marker), f"aiohttp-{order}", body)


@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
def test_openai_sdk_imported_before_enable(proxy, marker, mode):
    seen = run_client("openai_sdk.py", proxy, "billing-bot", marker, mode)
    row = proxy.row_for(marker)
    assert row["project"] == "billing-bot"
    assert (row["provider"], row["operation"], row["status_code"]) == ("openai", "chat", 200)
    assert row["stream"] == (1 if mode == "stream" else 0)
    assert row["request_model"] == "gpt-4o-mini" and row["response_model"] == seen["model"]
    assert seen["text"] and row["completion_text"] == seen["text"]
    assert row["input_tokens"] == seen["usage"]["prompt_tokens"]
    assert row["output_tokens"] == seen["usage"]["completion_tokens"]


def test_anthropic_sdk(proxy, marker):
    seen = run_client("anthropic_sdk.py", proxy, "claude-app", marker)
    row = proxy.row_for(marker)
    assert row["project"] == "claude-app"
    assert (row["provider"], row["operation"], row["status_code"]) == ("anthropic", "messages", 200)
    assert row["url"] == "https://api.anthropic.com/v1/messages"
    assert row["response_model"] == seen["model"] and row["completion_text"] == seen["text"]
    assert row["input_tokens"] == seen["usage"]["input_tokens"]
    assert row["output_tokens"] == seen["usage"]["output_tokens"]


def test_curl_through_r4u_run(proxy, marker):
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "curl says hi"}]}
    env = {**app_env(proxy), "PATH": os.environ["PATH"]}
    result = subprocess.run(
        [R4U, "run", "--project", "shell-script", "--",
         "curl", "-sS", "--fail", "https://api.openai.com/v1/chat/completions",
         "-H", "authorization: Bearer sk-test-curl", "-H", f"x-test-id: {marker}",
         "-H", "content-type: application/json", "-d", json.dumps(request)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_openai_chat_trace(proxy.row_for(marker), "shell-script", json.loads(result.stdout))


NON_LLM_TLS = """
import asyncio, json, ssl, sys, urllib.request
import r4u
ok = r4u.enable(include_local=sys.argv[2] == "through-proxy")
import aiohttp, httpx, requests
url = sys.argv[1]

def outcome(call):
    try:
        return call()
    except Exception as exc:  # report, don't crash: the test compares outcomes
        text = f"{type(exc).__name__}: {exc}"
        return "certificate rejected" if "CERTIFICATE_VERIFY_FAILED" in text else text

async def aiohttp_get():
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status

print(json.dumps({"ok": ok, "results": {
    "httpx": outcome(lambda: httpx.get(url).status_code),
    "requests": outcome(lambda: requests.get(url, timeout=10).status_code),
    "urllib": outcome(lambda: urllib.request.urlopen(url, timeout=10).status),
    "aiohttp": outcome(lambda: asyncio.run(aiohttp_get())),
}}))
"""


@pytest.mark.parametrize("route", ["direct", "through-proxy"])
def test_non_llm_tls_still_verifies_against_the_apps_own_ca(proxy, sim, route):
    """A host signed by another local CA (the simulator's) that the app trusted before enable()."""
    url = f"https://localhost:{sim.port}/v1/models"
    trusted = app_env(proxy, SSL_CERT_FILE=str(sim.ca_path))
    out = json.loads(_run_code(NON_LLM_TLS, trusted, url, route).stdout)
    assert out["ok"] is True
    assert out["results"] == dict.fromkeys(("httpx", "requests", "urllib", "aiohttp"), 200)

    # Control: without that CA in the app's own trust, the same calls are refused — verification is real.
    untrusted = app_env(proxy, SSL_CERT_FILE=ssl_default_file())
    out = json.loads(_run_code(NON_LLM_TLS, untrusted, url, route).stdout)
    assert out["results"] == dict.fromkeys(("httpx", "requests", "urllib", "aiohttp"), "certificate rejected")


def ssl_default_file() -> str:
    import ssl

    return ssl.get_default_verify_paths().openssl_cafile


def _run_code(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(APP_PYTHON), "-c", textwrap.dedent(code), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"app failed:\n{result.stdout}\n{result.stderr}"
    return result


LOCAL_SERVER_CALL = """
import json, sys
import openai, r4u
base_url, marker, include_local = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"
assert r4u.enable(project="local-llm", include_local=include_local)
client = openai.OpenAI(base_url=base_url, api_key="ollama")
r = client.chat.completions.create(model="llama3.2", messages=[{"role": "user", "content": "hi"}],
                                   extra_headers={"x-test-id": marker})
print(json.dumps({"text": r.choices[0].message.content}))
"""


@pytest.fixture(scope="module")
def local_model_server():
    """An OpenAI-compatible server on localhost over plain HTTP, like Ollama, vLLM or LM Studio."""
    from r4u_proxy.simulator.simulator import Simulator

    with Simulator(tls=False) as server:
        yield server


def test_local_model_server_is_recorded_only_with_include_local(proxy, local_model_server):
    base_url = f"http://127.0.0.1:{local_model_server.port}/v1"
    skipped, recorded = "local-default-" + os.urandom(4).hex(), "local-included-" + os.urandom(4).hex()
    _run_code(LOCAL_SERVER_CALL, app_env(proxy), base_url, skipped, "no")
    seen = json.loads(_run_code(LOCAL_SERVER_CALL, app_env(proxy), base_url, recorded, "yes").stdout)
    row = proxy.row_for(recorded)
    assert (row["project"], row["provider"], row["operation"]) == ("local-llm", "openai_compatible", "chat")
    assert row["url"] == f"{base_url}/chat/completions" and row["completion_text"] == seen["text"]
    # By default localhost is in NO_PROXY: the first call went direct and left no trace.
    where = "json_extract(request_headers, '$.\"x-test-id\"') = ?"
    assert proxy.rows(where, (skipped,)) == []
    assert len(local_model_server.requests) == 2  # both calls reached the server
