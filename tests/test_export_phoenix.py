"""End to end against a real receiver: Phoenix (`arize-phoenix` from PyPI, `phoenix serve` in its own venv,
.venv-phoenix, built by `make test`). Calls go through `r4u proxy start --otlp-endpoint` pointed at it;
the spans are read back through Phoenix's REST API, where Phoenix has turned the GenAI attributes into
its own (OpenInference) ones: model, token counts, time to first chunk, content, and the conversation id
(from a session, exported with `r4u export`). Phoenix itself: the `phoenix` fixture (tests/support/phoenix.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest
from support.export_calls import CALLS, send_calls
from support.proxy import simulator_args, start_proxy

PROJECT = "phoenix-e2e"


def phoenix_spans(url: str, project: str, count: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    spans: list[dict] = []
    while time.monotonic() < deadline:
        response = httpx.get(f"{url}/v1/projects/{project}/spans", params={"limit": 100}, timeout=10)
        if response.status_code == 200:
            spans = response.json()["data"]
            if len(spans) >= count:
                return spans
        time.sleep(0.5)
    raise AssertionError(f"{len(spans)} of {count} spans in Phoenix project {project}: {spans}")


def test_live_export_to_phoenix_reads_back_model_tokens_ttft_content(sim, phoenix, tmp_path, marker):
    proxy = start_proxy(tmp_path / "home", "--no-ui", "--no-grouping", *simulator_args(sim),
                        "--otlp-endpoint", f"{phoenix}/v1/traces", "--otlp-content", "span")  # fmt: skip
    try:
        send_calls(proxy.env(project=PROJECT), marker)
        rows = proxy.wait_rows("project = ?", (PROJECT,), len(CALLS))
        spans = phoenix_spans(phoenix, PROJECT, len(CALLS))
    finally:
        proxy.stop()
    by_trace = {s["attributes"]["r4u.trace.id"]: s for s in spans}
    for row in rows:
        span = by_trace[row["id"]]
        attrs = span["attributes"]
        assert span["span_kind"] == "LLM"  # Phoenix recognised a GenAI inference span
        assert attrs["llm.model_name"] == row["request_model"]
        assert attrs.get("llm.token_count.prompt") == row["input_tokens"]
        assert attrs.get("llm.token_count.completion") == row["output_tokens"]
        if row["status_code"] != 200:
            assert span["status_code"] == "ERROR" and attrs["error.type"] == str(row["status_code"])
            continue
        assert attrs["gen_ai.response.time_to_first_chunk"] == pytest.approx(row["ttft_ms"] / 1000, abs=1e-6)
        assert attrs["llm.output_messages.0.message.role"] == "assistant"
        # Phoenix read our output messages (it validates them against the conventions' schemas): the tool call
        ours = [p for p in json.loads(attrs["gen_ai.output.messages"])[0]["parts"] if p["type"] == "tool_call"][0]
        assert attrs["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == ours["name"]
        assert json.loads(attrs["llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments"]) == ours["arguments"]
        assert "get_weather" in attrs["llm.tools.0.tool.json_schema"]
        last_input = max(k for k in attrs if k.startswith("llm.input_messages.") and k.endswith(".message.content"))
        assert attrs[last_input] == json.loads(row["request_body"]).get("messages", [{}])[-1].get("content", attrs[last_input])
    anthropic = next(r for r in rows if r["provider"] == "anthropic")
    assert by_trace[anthropic["id"]]["attributes"]["llm.input_messages.0.message.content"] == "You are a weather bot."

    # The same calls as an agent run (session ids as issue-13 records them), exported in a batch.
    copy = tmp_path / "sessions.db"
    with sqlite3.connect(copy) as target, sqlite3.connect(proxy.db) as source:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE traces SET id = 'S' || substr(id, 2), project = 'phoenix-sessions', session_id = 'agent-run-7', "
                     "client_name = 'claude-code'")  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "r4u_proxy", "export", "--format", "otlp", "--db", str(copy),
                             "--endpoint", f"{phoenix}/v1/traces", "--content", "span"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    spans = phoenix_spans(phoenix, "phoenix-sessions", len(CALLS) + 1)
    assert {s["attributes"].get("session.id") for s in spans} == {"agent-run-7"}  # gen_ai.conversation.id
    assert len({s["context"]["trace_id"] for s in spans}) == 1
    root = next(s for s in spans if s["parent_id"] is None)
    assert root["name"] == "invoke_agent claude-code"
    assert {s["parent_id"] for s in spans if s is not root} == {root["context"]["span_id"]}
