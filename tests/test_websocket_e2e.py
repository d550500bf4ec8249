"""WebSocket LLM traffic through a real proxy: the official SDKs' WebSocket clients, the real Codex CLI, broken
connections, and the bytes each way with and without r4u. The upstream is the simulator."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import time
import uuid

import pytest
from support.proxy import APP_PYTHON, REPO, RunningProxy
from support.upstream import direct_app_env

from r4u_proxy.simulator import Simulator

APPS = REPO / "tests" / "clients" / "websocket_apps.py"
CODEX = REPO / ".tools" / "codex" / "node_modules" / ".bin" / "codex"
BY_MARKER = "json_extract(request_headers, '$.\"x-test-id\"') = ?"


def app(scenario: str, marker: str, env: dict[str, str], timeout: float = 60, **args) -> dict:
    result = subprocess.run(
        [str(APP_PYTHON), str(APPS), scenario, marker, json.dumps(args)],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, f"{scenario} failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def traces(proxy: RunningProxy, marker: str, count: int) -> list[dict]:
    rows = proxy.wait_rows(BY_MARKER, (marker,), count=count)
    assert len(rows) == count, f"{len(rows)} traces, expected {count}; proxy log:\n{proxy.log_tail()}"
    return rows


def connection(proxy: RunningProxy, connection_id: str) -> dict:
    """The connection's websocket_connections row, once the writer has seen it close."""
    deadline = time.monotonic() + 15
    while True:
        db = sqlite3.connect(proxy.db, timeout=30)
        db.row_factory = sqlite3.Row
        found = db.execute("select * from websocket_connections where id = ?", [connection_id]).fetchone()
        db.close()
        if (found is not None and found["ended_at"]) or time.monotonic() > deadline:
            assert found is not None, f"no websocket_connections row for {connection_id}"
            return dict(found)
        time.sleep(0.05)


# ---- real clients ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk_apps(proxy) -> tuple[str, dict]:
    """The openai Realtime and Responses WebSocket clients and google-genai's Live client, run once."""
    marker = uuid.uuid4().hex
    return marker, app("sdks", marker, proxy.env(), timeout=120)


def test_openai_sdk_realtime_client_each_response_a_trace_with_text_audio_tokens_and_cost(proxy, sdk_apps):
    marker, seen = sdk_apps[0] + "-realtime", sdk_apps[1]["realtime"]
    first, second = traces(proxy, marker, 2)
    assert [first["completion_text"], second["completion_text"]] == seen["texts"]
    assert second["completion_text"] == seen["transcript"]  # the audio response, by its transcript
    for row, usage in zip((first, second), seen["usage"], strict=True):
        assert (row["provider"], row["operation"], row["request_model"]) == ("openai", "realtime", "gpt-realtime")
        assert (row["input_tokens"], row["output_tokens"]) == (usage["input_tokens"], usage["output_tokens"])
        assert row["cost_usd"] > 0 and row["ttft_ms"] > 0 and row["url"] == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert second["input_audio_tokens"] == seen["usage"][1]["input_token_details"]["audio_tokens"] == 5
    assert second["output_audio_tokens"] == seen["usage"][1]["output_token_details"]["audio_tokens"] > 0
    assert "Name a colour" in first["prompt_text"] and "system: Answer briefly." in first["prompt_text"]
    assert first["session_id"] == second["session_id"] == first["ws_connection_id"]
    assert first["session_source"] == "websocket"
    # The second response's input is the conversation so far: the first's input and answer, then more.
    assert (second["session_turn"], second["previous_trace_id"]) == (2, first["id"])
    conn = connection(proxy, first["ws_connection_id"])
    assert conn["responses"] == 2 and conn["audio_ms_sent"] == 500.0 and conn["close_code"] == 1000
    assert conn["closed_by"] == "client" and conn["messages_sent"] == 6 and conn["messages_received"] > 20
    assert "sk-test-0123456789abcdefSECRET" not in conn["request_headers"]


def test_openai_sdk_responses_websocket_mode_two_responses_one_session(proxy, sdk_apps):
    marker, seen = sdk_apps[0] + "-responses", sdk_apps[1]["responses"]
    first, second = traces(proxy, marker, 2)
    assert [first["completion_text"], second["completion_text"]] == seen["texts"]
    assert json.loads(second["request_body"])["previous_response_id"] == seen["ids"][0] == json.loads(first["response_body"])["id"]
    for row in (first, second):
        assert (row["operation"], row["request_model"], row["response_model"]) == ("responses", "gpt-5", "gpt-5")
        assert row["cost_usd"] > 0 and row["stream"] == 1 and row["error"] is None
        assert json.loads(row["response_body"])["object"] == "response"  # the HTTP Responses shape
    assert first["ws_connection_id"] == second["ws_connection_id"]
    # The SDK names no session: the connection is one, and the second response continues the first by id.
    assert first["session_id"] == second["session_id"] == first["ws_connection_id"]
    assert (second["session_turn"], second["previous_trace_id"]) == (2, first["id"])


def test_google_genai_live_client_turn_is_a_trace(proxy, sdk_apps):
    marker, seen = sdk_apps[0] + "-live", sdk_apps[1]["live"]
    (row,) = traces(proxy, marker, 1)
    assert (row["provider"], row["operation"]) == ("gemini", "live")
    assert row["completion_text"] == seen["text"] and row["input_tokens"] + row["output_tokens"] == seen["total_tokens"]
    assert row["cost_usd"] > 0 and "Hello Gemini Live" in row["prompt_text"] and row["finish_reason"] == "STOP"
    assert "AIzaTestKey0123456789abcdef" not in row["url"] + row["request_headers"]


def test_codex_cli_runs_through_the_proxy_and_each_response_is_a_priced_trace(proxy, tmp_path):
    assert CODEX.exists(), f"the Codex CLI is not installed at {CODEX}: run `make codex`"
    (tmp_path / "codex-home").mkdir()
    env = {**proxy.env(), "CODEX_HOME": str(tmp_path / "codex-home"), "CODEX_CA_CERTIFICATE": str(proxy.ca_bundle)}
    before = {row["id"] for row in proxy.rows("operation = 'responses'")}
    result = subprocess.run(
        [str(CODEX), "exec", "--skip-git-repo-check", "-m", "gpt-5-codex", "Say hello in five words"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [r for r in proxy.wait_rows("ws_url like '%/v1/responses'", count=len(before) + 2) if r["id"] not in before]
    assert len(rows) == 2, proxy.log_tail()
    prewarm, turn = rows
    assert json.loads(prewarm["request_body"])["generate"] is False
    assert turn["completion_text"] in result.stdout and "Say hello in five words" in turn["prompt_text"]
    for row in rows:
        assert "codex_exec/0.171.0" in json.loads(row["request_headers"])["user-agent"]
        assert row["cost_usd"] > 0 and row["input_tokens"] > 100 and row["error"] is None
    # Codex's own id (its `session-id` header on the upgrade) is the session, as it is over HTTP.
    assert prewarm["session_id"] == turn["session_id"] == json.loads(turn["request_headers"])["session-id"]
    assert (prewarm["session_source"], turn["session_turn"]) == ("session-id", 2)
    assert "Falling back from WebSockets" not in result.stderr  # the socket worked through r4u


# ---- broken connections: the same outcome for the app with and without r4u, and the right row -------------
# (The simulator's answers carry fresh ids, so these compare what the app saw by count and close code; the
# byte-for-byte comparison is the last test, on a recorded answer.)


def sim_socket(sim: Simulator, marker: str):
    """The simulator's record of the connection whose upgrade carried `x-test-id: marker`."""
    return next(s for s in sim.websockets if {k.lower(): v for k, v in s.headers}.get("x-test-id") == marker)


def both_ways(proxy: RunningProxy, sim: Simulator, headers: dict, path: str = "/v1/responses", **args) -> tuple:
    """Run the raw client directly against the simulator and through the proxy: (direct, proxied, marker)."""
    direct = app("raw", uuid.uuid4().hex, direct_app_env(sim), url=f"wss://localhost:{sim.port}{path}",
                 headers=headers, **args)  # fmt: skip
    marker = uuid.uuid4().hex
    proxied = app("raw", marker, proxy.env(), url=f"wss://api.openai.com{path}", headers=headers, **args)
    return direct, proxied, marker


CREATE = json.dumps({"type": "response.create", "model": "gpt-5", "input": "Tell me a long story"})


@pytest.mark.parametrize(
    ("end", "error"),
    [
        ("close", "client closed the WebSocket mid-response (1000)"),
        ("abort", "WebSocket connection dropped mid-response (1006: no close frame)"),
    ],
    ids=["closing", "dropping-the-connection"],
)
def test_client_leaving_mid_response(proxy, sim, end, error):
    headers = {"x-sim-events": "300", "x-sim-gap-ms": "5"}
    direct, proxied, marker = both_ways(proxy, sim, headers, send=[CREATE], until=10, end=end)
    assert len(proxied["received"]) == len(direct["received"]) == 10
    (row,) = traces(proxy, marker, 1)
    assert row["error"] == error
    assert row["completion_text"] and row["finish_reason"] == "in_progress"


def test_server_closing_mid_response(proxy, sim):
    headers = {"x-sim-events": "50", "x-sim-ws-close-after": "6", "x-sim-ws-close-code": "1011"}
    direct, proxied, marker = both_ways(proxy, sim, headers, send=[CREATE], until=None, end="wait")
    assert proxied["closed_by_server"] == direct["closed_by_server"] == 1011
    assert len(proxied["received"]) == len(direct["received"]) == 6
    (row,) = traces(proxy, marker, 1)
    assert row["error"] == "server closed the WebSocket mid-response (1011 simulated)"
    assert row["ws_messages_received"] == 6


def test_server_dropping_the_connection_mid_response(proxy, sim):
    headers = {"x-sim-events": "50", "x-sim-ws-abort-after": "6"}
    direct, proxied, marker = both_ways(proxy, sim, headers, send=[CREATE], until=None, end="wait")
    assert len(proxied["received"]) == len(direct["received"]) == 6  # the app got all there was, either way
    assert direct["closed_by_server"] == 1006 and not direct["close_frame"]
    # mitmproxy itself (bare, or with r4u) answers an upstream that vanished with a close frame to the app,
    # and wsproto sends the 1006 it saw as 1000 (1006 may not go on the wire): docs/websocket.md.
    assert proxied["closed_by_server"] == 1000 and proxied["close_frame"]
    (row,) = traces(proxy, marker, 1)
    assert row["error"] == "WebSocket connection dropped mid-response (1006: no close frame)"


def test_upstream_refusing_the_upgrade(proxy, sim):
    direct, proxied, marker = both_ways(proxy, sim, {"x-sim-status": "401"}, send=[CREATE], until=1)
    assert proxied["error"] == direct["error"] == "HTTP 401"
    (row,) = traces(proxy, marker, 1)
    assert row["status_code"] == 401 and row["method"] == "GET" and row["ws_url"] == "wss://api.openai.com/v1/responses"
    assert row["error"].startswith("WebSocket upgrade refused (HTTP 401): invalid_request_error: simulated error 401")


def test_malformed_json_message_passes_and_is_noted(proxy, sim):
    headers = {"x-sim-ws-malformed": "1"}
    direct, proxied, marker = both_ways(proxy, sim, headers, send=[CREATE], until="response.completed", end="close")
    assert proxied["received"][0] == direct["received"][0] == hashlib.sha256(
        b'{"type": "response.output_text.delta", "delta": "cut off her').hexdigest()
    (row,) = traces(proxy, marker, 1)
    assert row["error"] is None and row["completion_text"] and "1 stream event(s) were not JSON" in row["parse_note"]


def test_ten_megabyte_message_passes_whole_and_is_recorded(proxy, sim):
    head = '{"type": "response.create", "model": "gpt-5", "input": "'
    big_create = {"prefix": head, "repeat": "x", "times": 10_000_000 - len(head) - 2, "suffix": '"}'}
    garbage = "this is not JSON"  # the API answers with an error event
    marker = uuid.uuid4().hex
    seen = app("raw", marker, proxy.env(), url="wss://api.openai.com/v1/responses", send=[big_create, garbage],
               until="error", end="close")  # fmt: skip
    received = [hashlib.sha256(payload).hexdigest() for _, payload in sim_socket(sim, marker).received]
    assert received == seen["sent"]  # arrived intact
    answer, error = traces(proxy, marker, 2)
    assert answer["request_bytes"] == 10_000_000 and answer["error"] is None and answer["completion_text"]
    assert len(json.loads(answer["request_body"])["input"]) == 10_000_000 - len(head) - 2
    assert error["status_code"] == 400 and error["error"].startswith("invalid_request_error: unsupported event")


def test_thousands_of_small_deltas_make_one_trace(proxy, sim):
    marker = uuid.uuid4().hex
    seen = app("raw", marker, proxy.env(), url="wss://api.openai.com/v1/responses", send=[CREATE],
               until="response.completed", end="close", headers={"x-sim-events": "2000"})  # fmt: skip
    (row,) = traces(proxy, marker, 1)
    assert len(seen["received"]) == row["ws_messages_received"] == row["chunk_count"] == 2008
    assert row["completion_text"].count(" ") == 1999 and row["output_tokens"] > 1000 and row["cost_usd"] > 0


# ---- the bytes, both ways -------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["deflate", None], ids=["permessage-deflate", "uncompressed"])
def test_bytes_in_both_directions_are_identical_with_and_without_r4u(proxy, sim, compression):
    recording = "openai_responses/gpt5_web_search_call.sse"
    binary = bytes(range(256)) * 40
    # A binary frame (echoed back), a text message with non-ASCII text, then a response replayed from a
    # recording of the real API, so that the server's bytes are the same in both runs.
    sent = [{"binary": binary.hex()}, json.dumps({"type": "response.processed", "note": "ünïcödé ✓"}), CREATE]
    headers = {"x-sim-fixture": recording, "x-sim-ws-echo": "binary"}
    direct, proxied, marker = both_ways(proxy, sim, headers, send=sent, until="response.completed", end="close",
                                        compression=compression)  # fmt: skip
    assert proxied["received"] == direct["received"] and len(direct["received"]) > 20  # server -> client
    assert proxied["received"][0] == hashlib.sha256(binary).hexdigest()
    upstream = [hashlib.sha256(payload).hexdigest() for _, payload in sim_socket(sim, marker).received]
    assert upstream == proxied["sent"] == direct["sent"]  # client -> server
