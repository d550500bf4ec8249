"""Gemini Code Assist (cloudcode-pa.googleapis.com, what Gemini CLI calls with a Google login): the Gemini API
in an envelope. The request is the one the real Gemini CLI 0.61.0 sent (tests/node/recorded, see its README);
the responses are the recorded Gemini streams of r4u_proxy/simulator/recordings, wrapped the way Gemini CLI
reads them (`{response, traceId}` per event: `fromGenerateContentResponse` in its code_assist/converter.ts).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.streams import analyze_recorded

from r4u_proxy.ingest.parse import analyze
from r4u_proxy.providers import Route, route
from r4u_proxy.simulator.controls import Controls
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR, default_fixtures_dir
from r4u_proxy.simulator.routes import build_reply

HOST = "cloudcode-pa.googleapis.com"
STREAM_PATH = "/v1internal:streamGenerateContent"
GEMINI_CLI_REQUEST = Path(__file__).parent / "node" / "recorded" / "gemini_cli_0.61.0_code_assist_request.json"


def enveloped(sse: bytes, trace_id: str = "trace-1") -> bytes:
    """A recorded Gemini SSE stream as Code Assist sends it: each event's JSON inside {response, traceId}.
    What is not an SSE event (a bare error object written into the stream) stays as it is."""
    events = []
    for block in sse.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"".join(line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:"))
        if data:
            wrapped = {"response": json.loads(data), "traceId": trace_id}
            events.append(b"data: " + json.dumps(wrapped, ensure_ascii=False).encode() + b"\r\n\r\n")
        elif block.strip():
            events.append(block + b"\n\n")
    return b"".join(events)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (STREAM_PATH, Route("gemini", "generate_content", "gemini")),
        ("/v1internal:generateContent", Route("gemini", "generate_content", "gemini")),
        ("/v1internal:countTokens", Route("gemini", "count_tokens", "gemini")),
        ("/v1internal:loadCodeAssist", None),  # account set-up, not an LLM call
    ],
)
def test_code_assist_routes(path, expected):
    assert route(HOST, path) == expected
    assert route("example.test", path) is None  # the envelope path means Code Assist only on its own host


@pytest.mark.parametrize(
    "name",
    ["gemini25flash_usage_updates_mid_stream.sse", "gemini3pro_function_call_thought_signature.sse",
     "googleai_thinking_thought_summary.sse", "vertexai_error_mid_stream.sse"],
)  # fmt: skip
def test_an_enveloped_stream_reads_as_the_gemini_stream_inside(name):
    sse = (RECORDINGS_DIR / "gemini" / name).read_bytes()
    request = GEMINI_CLI_REQUEST.read_bytes()
    plain = analyze_recorded("generativelanguage.googleapis.com", "/v1beta/models/m:streamGenerateContent", sse)
    wrapped = analyze_recorded(HOST, STREAM_PATH + "?alt=sse", enveloped(sse), request)
    for field in ("response_model", "finish_reason", "completion_text", "input_tokens", "output_tokens",
                  "reasoning_tokens", "cache_read_tokens", "error"):  # fmt: skip
        assert wrapped.get(field) == plain.get(field), field
    assert wrapped["stream"] is True
    body = json.loads(wrapped["response_body"])  # stored in Code Assist's own (non-streaming) shape
    assert body["traceId"] == "trace-1" and body["response"] == json.loads(plain["response_body"])


def test_the_model_and_prompt_come_from_the_envelope_gemini_cli_sent():
    request = json.loads(GEMINI_CLI_REQUEST.read_text())
    result = analyze_recorded(HOST, STREAM_PATH, b"", GEMINI_CLI_REQUEST.read_bytes())
    assert result["request_model"] == request["model"] == "gemini-2.5-flash"  # the path names no model
    prompt = result["prompt_text"]
    assert prompt.startswith("system: You are a non-interactive CLI agent")
    assert "\n\nuser: <session_context>" in prompt and prompt.rstrip().endswith("say hello")  # the turn Gemini CLI sent


def test_a_whole_generate_content_answer_and_count_tokens():
    body = {"response": {"candidates": [{"content": {"parts": [{"text": "hi"}], "role": "model"},
                                         "finishReason": "STOP"}],
                         "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 1}, "modelVersion": "gemini-2.5-pro"},
            "traceId": "t"}  # fmt: skip
    exchange = {"path": "/v1internal:generateContent", "status_code": 200,
                "response_headers": [("content-type", "application/json")],
                "request_body": json.dumps({"model": "gemini-2.5-pro", "project": "p", "request": {"contents": []}}).encode(),
                "chunks": [(1.0, json.dumps(body).encode())]}  # fmt: skip
    result = analyze(route(HOST, "/v1internal:generateContent"), exchange)
    assert (result["request_model"], result["response_model"], result["completion_text"]) == ("gemini-2.5-pro",) * 2 + ("hi",)
    assert (result["input_tokens"], result["output_tokens"], result["finish_reason"]) == (7, 1, "STOP")

    count = {"path": "/v1internal:countTokens", "status_code": 200, "chunks": [(1.0, b'{"totalTokens": 12}')],
             "request_body": b'{"request": {"model": "models/gemini-2.5-flash", "contents": []}}'}  # fmt: skip
    assert analyze(route(HOST, "/v1internal:countTokens"), count)["request_model"] == "gemini-2.5-flash"


def test_the_simulator_speaks_code_assist():
    request = GEMINI_CLI_REQUEST.read_bytes()
    reply = build_reply("POST", STREAM_PATH, "alt=sse", {}, request, Controls(), default_fixtures_dir())
    events = [json.loads(e.decode().removeprefix("data: ")) for e in reply.events or []]
    assert events and all(set(e) == {"response", "traceId"} for e in events)
    assert events[-1]["response"]["modelVersion"] == "gemini-2.5-flash"
    setup = build_reply("POST", "/v1internal:loadCodeAssist", "", {}, b'{"metadata": {}}', Controls(),
                        default_fixtures_dir())  # fmt: skip
    assert json.loads(setup.body or b"{}")["currentTier"]["id"] == "standard-tier"
