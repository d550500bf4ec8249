"""`r4u demo`: a populated UI in one command, without an API key or a network.

Two halves live in this file:

* `run_demo()` (runs in r4u's own environment) starts the local simulator of the
  OpenAI/Anthropic APIs, an r4u proxy in a separate demo home that sends
  api.openai.com/api.anthropic.com to the simulator (`--resolve`, `--upstream-ca`),
  runs the calls below through it, waits for the writer, and stops both.
* Run as a script (`python demo.py --calls N`), the file makes those calls with the
  official SDKs when the interpreter has them, else with plain httpx. It needs only
  the standard library to start, so it can run in an application's environment
  (the SDKs cannot be installed beside mitmproxy 11) — keep its top-level imports stdlib.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TICKETS = [
    "My invoice for October shows two charges for the same subscription.",
    "The mobile app crashes when I upload a profile picture larger than 5 MB.",
    "I cannot reset my password because the reset email never arrives.",
    "Please cancel my account and delete my personal data.",
    "Export to CSV produces an empty file since the last update.",
    "The dashboard takes over a minute to load every morning.",
    "Two-factor codes are rejected although the clock on my phone is right.",
    "I was charged in USD although my account is set to EUR.",
]
LANGUAGES = ["French", "German", "Japanese", "Spanish", "Italian", "Korean"]
PRODUCTS = ["a titanium camping mug", "noise-cancelling headphones", "a standing desk", "a cast-iron skillet",
            "a merino wool sweater", "a solar phone charger"]  # fmt: skip
REVIEWS = ["Arrived broken and support never replied.", "Exactly as described, would buy again!",
           "Fine, but the battery lasts half a day.", "Best purchase of the year."]  # fmt: skip
TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
STREAM = {"x-sim-events": "30", "x-sim-gap-ms": "15", "x-sim-first-delay-ms": "250"}


def demo_calls(rng: random.Random) -> list[dict[str, Any]]:
    """Each call: api (openai_chat | openai_responses | openai_embeddings | anthropic), body, headers."""

    def slow() -> dict[str, str]:
        return {"x-sim-headers-delay-ms": str(rng.randint(150, 700))}

    calls: list[dict[str, Any]] = []
    for ticket in TICKETS:
        calls.append({"api": "openai_chat", "headers": slow(), "body": {"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "You are a support assistant. Answer in one sentence."},
            {"role": "user", "content": f"Summarize this support ticket in one sentence:\n{ticket}"}]}})
    for language in LANGUAGES:
        calls.append({"api": "openai_chat", "headers": STREAM, "body": {
            "model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": f"Translate the following text to {language}:\n\n"
                          "The quarterly review moved to Thursday at noon; please bring the sales figures."}]}})
    weather = [{"role": "system", "content": "You are a weather assistant. Use the tools."},
               {"role": "user", "content": "Should I take an umbrella in Edinburgh today?"}]
    tool_call = {"id": "call_demo_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Edinburgh\"}"}}
    first = {"api": "openai_chat", "headers": dict(STREAM), "body": {
        "model": "gpt-4o", "messages": weather, "tools": [WEATHER_TOOL], "stream": True,
        "stream_options": {"include_usage": True}}}
    first["headers"] = {"x-sim-fixture": "openai_chat/gpt4o_single_tool_call.sse", "x-sim-gap-ms": "20"}
    calls.append(first)
    calls.append({"api": "openai_chat", "headers": slow(), "body": {"model": "gpt-4o", "tools": [WEATHER_TOOL],
        "messages": [*weather, {"role": "assistant", "content": None, "tool_calls": [tool_call]},
                     {"role": "tool", "tool_call_id": "call_demo_1", "content": "{\"temp_c\": 14, \"rain_mm\": 6}"}]}})  # fmt: skip
    for i, product in enumerate(PRODUCTS):
        body: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 400,
            "system": "You write short, vivid product descriptions for an online shop.",
            "messages": [{"role": "user", "content": f"Write a product description for {product}."}]}  # fmt: skip
        if i % 2:
            body["stream"] = True
        calls.append({"api": "anthropic", "headers": STREAM if i % 2 else slow(), "body": body})
    calls.append({"api": "anthropic", "headers": slow(), "body": {"model": "claude-sonnet-4-5", "max_tokens": 300,
        "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG}},
            {"type": "text", "text": "What is in this picture?"}]}]}})  # fmt: skip
    for fixture, question in (("anthropic_messages/sdk_tool_use_get_weather.sse", "What's the weather in Paris?"),
                              ("anthropic_messages/sonnet4_thinking_signature.sse", "How do I cross a busy street safely?")):
        calls.append({"api": "anthropic", "headers": {"x-sim-fixture": fixture, "x-sim-gap-ms": "10"}, "body": {
            "model": "claude-sonnet-4-5", "max_tokens": 2000, "stream": True,
            "messages": [{"role": "user", "content": question}]}})  # fmt: skip
    for i, review in enumerate(REVIEWS):
        body = {"model": "gpt-4.1-mini", "instructions": "Reply with one word: positive, negative or mixed.",
                "input": f"Classify the sentiment of this review: {review}"}
        if i % 2:
            body["stream"] = True
        calls.append({"api": "openai_responses", "headers": STREAM if i % 2 else slow(), "body": body})
    calls.append({"api": "openai_embeddings", "headers": {}, "body": {"model": "text-embedding-3-small",
                  "input": ["umbrella", "raincoat", "sunscreen"]}})  # fmt: skip
    calls.append({"api": "openai_chat", "headers": {"x-sim-status": "429"}, "body": {"model": "gpt-4o-mini",
                  "messages": [{"role": "user", "content": "Summarize this support ticket in one sentence:\nRefund?"}]}})  # fmt: skip
    calls.append({"api": "anthropic", "headers": {"x-sim-status": "529"}, "body": {"model": "claude-haiku-4-5",
                  "max_tokens": 50, "messages": [{"role": "user", "content": "Write a product description for a kite."}]}})  # fmt: skip
    return calls


# --- the calls, run inside the application's interpreter ----------------------------------------


def _with_sdks(calls: list[dict[str, Any]]) -> tuple[int, int]:
    import anthropic
    import openai

    oa = openai.OpenAI(api_key="sk-demo-not-a-real-key", max_retries=0, timeout=30)
    an = anthropic.Anthropic(api_key="sk-ant-demo-not-a-real-key", max_retries=0, timeout=30)
    endpoints: dict[str, Callable[..., Any]] = {
        "openai_chat": oa.chat.completions.create,
        "openai_responses": oa.responses.create,
        "openai_embeddings": oa.embeddings.create,
        "anthropic": an.messages.create,
    }
    ok = failed = 0
    for call in calls:
        print(f"  {call['api']} {call['body']['model']}", file=sys.stderr, flush=True)
        try:
            result = endpoints[call["api"]](**call["body"], extra_headers=call["headers"])
            if call["body"].get("stream"):
                for _event in result:  # consume the stream like an app would
                    pass
            ok += 1
        except (openai.APIError, anthropic.APIError):  # the simulated errors, and timeouts
            failed += 1
    return ok, failed


def _with_httpx(calls: list[dict[str, Any]]) -> tuple[int, int]:
    import httpx

    urls = {
        "openai_chat": "https://api.openai.com/v1/chat/completions",
        "openai_responses": "https://api.openai.com/v1/responses",
        "openai_embeddings": "https://api.openai.com/v1/embeddings",
        "anthropic": "https://api.anthropic.com/v1/messages",
    }
    auth = {
        "openai": {"authorization": "Bearer sk-demo-not-a-real-key"},
        "anthropic": {"x-api-key": "sk-ant-demo-not-a-real-key", "anthropic-version": "2023-06-01"},
    }
    ok = failed = 0
    with httpx.Client(timeout=30) as client:
        for call in calls:
            headers = {**auth["anthropic" if call["api"] == "anthropic" else "openai"], **call["headers"]}
            with client.stream("POST", urls[call["api"]], json=call["body"], headers=headers) as response:
                response.read()
                ok, failed = (ok + 1, failed) if response.status_code < 400 else (ok, failed + 1)
    return ok, failed


def make_calls(count: int | None) -> dict[str, Any]:
    calls = demo_calls(random.Random(7))[:count]
    try:
        import anthropic  # noqa: F401
        import openai  # noqa: F401

        client = "sdk"
    except ImportError:
        client = "httpx"
    ok, failed = (_with_sdks if client == "sdk" else _with_httpx)(calls)
    return {"client": client, "calls": len(calls), "ok": ok, "failed": failed}


# --- the orchestration, run in r4u's own environment --------------------------------------------


class DemoError(RuntimeError):
    pass


def default_python() -> str:
    """The repository's application venv when present (it has the SDKs), else this interpreter."""
    app_python = Path(__file__).resolve().parents[1] / ".venv-app" / "bin" / "python"
    return str(app_python) if app_python.exists() else sys.executable


def _r4u(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "r4u_proxy", *args], capture_output=True, text=True, timeout=120)


def _count(db: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from traces").fetchone()[0]
    except sqlite3.Error:
        return 0


def _wait_for_rows(db: Path, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (found := _count(db)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _wait_for_grouping(db: Path, timeout: float) -> None:
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as conn:
                if not conn.execute("select 1 from traces where task_id is null limit 1").fetchone():
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.3)


def run_demo(home: Any, python: str, echo: Callable[[str], None] = print, count: int | None = None) -> str:
    """Fill home.db (a fresh file) with demo calls; returns a one-line summary. `home` is a paths.Home."""
    from r4u.environment import recording_environment
    from r4u_proxy.simulator import SimulatorProcess
    from r4u_proxy.simulator.fixtures import default_fixtures_dir
    from r4u_proxy.state import running_state

    if running_state(home):
        _r4u("proxy", "stop", "--home", str(home.root))
    home.root.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(home.db) + suffix).unlink(missing_ok=True)
    if not (default_fixtures_dir() / "MANIFEST.tsv").is_file():
        raise DemoError(f"r4u's recorded streams are missing ({default_fixtures_dir()}); reinstall r4u")
    echo("r4u demo: starting the OpenAI/Anthropic simulator and a recording proxy…")
    simulator = SimulatorProcess(tls=True, cert_dir=home.root / "simulator").start()
    try:
        target = f"127.0.0.1:{simulator.port}"
        started = _r4u(
            "proxy", "start", "--detach", "--home", str(home.root), "--port", "0", "--no-ui",
            "--upstream-ca", str(simulator.ca_path),
            "--resolve", f"api.openai.com={target}", "--resolve", f"api.anthropic.com={target}",
        )  # fmt: skip
        if started.returncode != 0:
            raise DemoError(f"could not start the demo proxy: {started.stderr.strip() or started.stdout.strip()}")
        try:
            env = {**os.environ, **recording_environment(home=str(home.root), start=False, project="demo")}
            echo(f"r4u demo: making calls with {python} …")
            command = [python, __file__, "--calls", str(count or 0)]
            ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
            if ran.returncode != 0:
                raise DemoError(f"the demo calls failed:\n{ran.stderr.strip()[-2000:]}")
            result = json.loads(ran.stdout.strip().splitlines()[-1])
            recorded = _wait_for_rows(home.db, result["calls"], timeout=20)
            if (home.log_dir / "grouping.log").exists():  # grouping runs beside the proxy: let it catch up
                _wait_for_grouping(home.db, timeout=15)
        finally:
            _r4u("proxy", "stop", "--home", str(home.root))
    finally:
        simulator.stop()
    return (
        f"r4u demo: {result['calls']} calls made with the {result['client']} client "
        f"({result['failed']} failed on purpose), {recorded} recorded in {home.db}"
    )


if __name__ == "__main__":
    if "--calls" not in sys.argv:
        sys.exit("usage: python demo.py --calls N   (N=0: all); or run `r4u demo`")
    n = int(sys.argv[sys.argv.index("--calls") + 1])
    print(json.dumps(make_calls(n or None)))
