"""analyze() over every recorded stream: byte-boundary independence, framing variants, errors, cut-offs.

Each fixture is routed from the endpoint its MANIFEST row names, so the route table is exercised too.
Chunk times are byte offsets: a chunk's time is the offset just past its last byte. That makes
"first_content_at = the time of the chunk that completed the first content event" checkable exactly.
"""

from __future__ import annotations

import gzip
import json
import random

import pytest
from support.streams import (
    analyze_response,
    is_stream_fixture,
    recorded_endpoint,
    recorded_manifest,
    recorded_status,
)

from r4u_proxy.ingest.parse import analyze
from r4u_proxy.providers import Route, route
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR, fixture_content_type

STREAMS = RECORDINGS_DIR
MANIFEST = recorded_manifest()
FIXTURES = sorted(MANIFEST)

def fixture_route(name: str) -> Route:
    _, host, path = recorded_endpoint(name)
    found = route(host, path)
    assert found is not None, f"{name}: {host}{path} is not routed"
    return found


def exchange(name: str, chunks: list[tuple[float, bytes]], **extra) -> dict:
    method, host, path_and_query = recorded_endpoint(name)
    path, _, query = path_and_query.partition("?")
    body = b"".join(data for _, data in chunks)
    return {
        "method": method,
        "host": host,
        "path": path,
        "query": query,
        "request_headers": [("content-type", "application/json")],
        "request_body": b"",
        "status_code": recorded_status(MANIFEST[name]),
        "response_headers": [("content-type", fixture_content_type(name))],
        "chunks": chunks,
        "response_bytes": len(body),
        "truncated": False,
        "t_end": float(len(body)),
        "error": None,
        **extra,
    }


def split_at(data: bytes, cuts: list[int]) -> list[tuple[float, bytes]]:
    bounds = [0, *sorted(set(cuts)), len(data)]
    return [
        (float(end), data[start:end]) for start, end in zip(bounds, bounds[1:], strict=False) if end > start
    ]


def run(name: str, chunks: list[tuple[float, bytes]], **extra) -> dict:
    return analyze(fixture_route(name), exchange(name, chunks, **extra))


@pytest.fixture(scope="module")
def byte_level() -> dict[str, dict]:
    """Every fixture fed one byte at a time: the reference the other splits must agree with."""
    results = {}
    for name in FIXTURES:
        data = (STREAMS / name).read_bytes()
        results[name] = run(name, [(float(i + 1), data[i : i + 1]) for i in range(len(data))])
    return results


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_reassembles_with_content(name, byte_level):
    result = byte_level[name]
    assert result["stream"] is is_stream_fixture(name)
    body = json.loads(result["response_body"])
    assert isinstance(body, dict | list) and body
    if name.endswith(".eventstream"):  # binary framing: stored as the decoded messages, one block each
        assert result["response_raw"].startswith("event: ") and "\ndata: {" in result["response_raw"]
    elif is_stream_fixture(name):
        assert result["response_raw"] == (STREAMS / name).read_bytes().decode("utf-8")
    said_something = [result.get(k) for k in ("completion_text", "error", "finish_reason", "parse_note")]
    assert any(said_something), f"{name}: no text, error, finish reason or note: {result}"


@pytest.mark.parametrize("name", FIXTURES)
def test_split_points_do_not_change_the_result(name, byte_level):
    data = (STREAMS / name).read_bytes()
    reference = byte_level[name]
    whole = run(name, [(float(len(data)), data)])
    assert {k: v for k, v in whole.items() if k != "first_content_at"} == {
        k: v for k, v in reference.items() if k != "first_content_at"
    }
    for seed in range(4):
        rng = random.Random(f"{name}-{seed}")
        cuts = [rng.randrange(1, len(data)) for _ in range(rng.choice([2, 10, 60, 300]))]
        chunks = split_at(data, cuts)
        result = run(name, chunks)
        first = reference.get("first_content_at")
        if first is not None:
            # The chunk holding the byte that completed the first content event is the one to time.
            expected = min(t for t, _ in chunks if t >= first)
            assert result.pop("first_content_at") == expected
        assert result == {k: v for k, v in reference.items() if k != "first_content_at"}, f"seed {seed}"


def test_first_content_time_skips_role_and_start_events():
    name = "openai_chat/gpt4o_text_plain.sse"
    data = (STREAMS / name).read_bytes()
    events = data.split(b"\n\n")
    # Event 0 is the role chunk (content ""), event 1 carries "I'm": give each event its own time.
    chunks = [(float(i), event + b"\n\n") for i, event in enumerate(events) if event]
    assert b'"content":""' in events[0] and b"I'm" in events[1]
    assert run(name, chunks)["first_content_at"] == 1.0

    name = "anthropic_messages/sonnet4_thinking_signature.sse"
    events = (STREAMS / name).read_bytes().split(b"\n\n")
    chunks = [(float(i), event + b"\n\n") for i, event in enumerate(events) if event]
    first_delta = next(i for i, e in enumerate(events) if b"thinking_delta" in e)
    assert run(name, chunks)["first_content_at"] == float(first_delta)


def test_non_stream_call_has_no_first_content_time_and_parses_json():
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
    request = {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
    }
    result = analyze(
        route("api.openai.com", "/v1/chat/completions"),
        {
            "path": "/v1/chat/completions",
            "request_headers": [],
            "request_body": json.dumps(request).encode(),
            "status_code": 200,
            "response_headers": [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            "chunks": [(5.0, gzip.compress(json.dumps(body).encode()))],
            "t_end": 5.0,
        },
    )
    assert "first_content_at" not in result
    assert result["stream"] is False
    assert result["request_model"] == "gpt-4o"
    assert result["prompt_text"] == "system: Be brief.\n\nuser: Hello"
    assert result["completion_text"] == "Hi!"
    assert result["input_tokens"] == 5 and result["output_tokens"] == 2
    assert json.loads(result["response_body"]) == body


def test_error_status_pulls_the_provider_message():
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    request = json.dumps({"model": "claude-sonnet-4-5", "stream": True, "messages": []}).encode()
    chunks = [(1.0, json.dumps(body).encode())]
    result = analyze_response("api.anthropic.com", "/v1/messages", chunks, "application/json", 529,
                              request_body=request)  # fmt: skip
    assert result["error"] == "overloaded_error: Overloaded"
    assert result["request_model"] == "claude-sonnet-4-5"


def test_binary_body_gives_a_note_not_an_exception():
    payload = bytes(range(256)) * 8192
    result = analyze(
        route("api.openai.com", "/v1/chat/completions"),
        {
            "path": "/v1/chat/completions",
            "status_code": 200,
            "response_headers": [("content-type", "application/octet-stream")],
            "chunks": [(1.0, payload)],
            "response_bytes": len(payload),
        },
    )
    assert result["parse_note"] == "response body is not JSON (2097152 bytes, application/octet-stream)"
    assert "response_body" not in result


def test_a_malformed_event_costs_only_itself():
    good = b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
    bad = b'data: {"id":"c","choices":5}\n\n'
    result = analyze(
        route("api.openai.com", "/v1/chat/completions"),
        {
            "path": "/v1/chat/completions",
            "response_headers": [("content-type", "text/event-stream")],
            "chunks": [(1.0, good), (2.0, bad), (3.0, good.replace(b"Hi", b" there"))],
        },
    )
    assert result["completion_text"] == "Hi there"
    assert result["parse_note"].startswith("1 stream event(s) had an unexpected shape (first: TypeError")


def test_garbage_never_raises():
    for chunks in (
        [(1.0, b"\xff\xfe\x00data: {")],
        [(1.0, b"data: [1,2]\n\n")],
        [(1.0, b'data: {"choices": 5}\n\n')],
    ):
        result = analyze(
            route("api.openai.com", "/v1/chat/completions"),
            {
                "path": "/v1/chat/completions",
                "response_headers": [("content-type", "text/event-stream")],
                "chunks": chunks,
            },
        )
        assert isinstance(result, dict)
    assert "parse_note" in analyze(Route("openai", "chat", "openai_chat"), {"chunks": "not a list"})


def test_cut_off_stream_still_returns_the_partial_reassembly():
    name = "anthropic_messages/sonnet4_thinking_signature.sse"
    data = (STREAMS / name).read_bytes()
    cut = data[: len(data) // 2]
    result = run(name, [(1.0, cut)], error="upstream connection reset", truncated=False)
    full = run(name, [(1.0, data)])
    assert result["completion_text"] and full["completion_text"].startswith(result["completion_text"][:20])
    body = json.loads(result["response_body"])
    assert body["content"][0]["type"] == "thinking" and body["content"][0]["thinking"]


def test_an_empty_200_body_is_noted_and_an_empty_204_is_not():
    found = route("api.openai.com", "/v1/chat/completions")
    base = {"path": "/v1/chat/completions", "response_headers": [("content-type", "application/json")], "chunks": []}
    assert "response body is empty (HTTP 200" in analyze(found, {**base, "status_code": 200})["parse_note"]
    assert "parse_note" not in analyze(found, {**base, "status_code": 204})


def test_capture_cap_is_noted():
    name = "openai_chat/gpt4o_json_object_long.sse"
    data = (STREAMS / name).read_bytes()
    result = run(name, [(1.0, data[:10000])], truncated=True, response_bytes=len(data))
    assert f"capture cap reached: kept 10000 of {len(data)} body bytes" in result["parse_note"]
    assert result["completion_text"].startswith("\n  {\n")


def test_gzip_encoded_stream_is_decoded_chunk_by_chunk():
    name = "openai_chat/gpt4o_text_plain.sse"
    data = (STREAMS / name).read_bytes()
    compressed = gzip.compress(data)
    chunks = split_at(compressed, list(range(50, len(compressed), 50)))
    headers = [("content-type", "text/event-stream"), ("content-encoding", "gzip")]
    result = run(name, chunks, response_headers=headers)
    plain = run(name, [(1.0, data)])
    assert result["response_body"] == plain["response_body"]
    assert result["response_raw"] == data.decode()


def test_gemini_json_array_stream_matches_the_sse_form():
    for name in [n for n in FIXTURES if n.startswith("gemini/") and n.endswith(".sse") and "error" not in n]:
        sse = (STREAMS / name).read_bytes().decode()
        datas = [
            line[len("data: ") :]
            for line in sse.replace("\r\n", "\n").split("\n")
            if line.startswith("data: ")
        ]
        array = ("[" + ",\r\n".join(datas) + "]").encode()
        method, host, path_and_query = recorded_endpoint(name)
        path = path_and_query.split("?")[0]
        chunks = split_at(array, list(range(7, len(array), 97)))
        result = analyze_response(host, path, chunks, "application/json")
        expected = run(name, [(1.0, sse.encode())])
        assert result["response_body"] == expected["response_body"], name
        assert result.get("completion_text") == expected.get("completion_text")


def test_gemini_error_object_after_the_array_elements():
    array = b'[{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}]},\n{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}]'
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    result = analyze_response("generativelanguage.googleapis.com", path, [(1.0, array)], "application/json")
    assert result["completion_text"] == "Hi"
    assert result["error"] == "RESOURCE_EXHAUSTED: Quota"
    assert result["request_model"] == "gemini-2.5-flash"  # Gemini names the model in the path


def test_gemini_stream_request_answered_with_an_error_document():
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    body = b'[{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}]'
    host = "generativelanguage.googleapis.com"
    result = analyze_response(host, path, [(1.0, body)], "application/json", 400)
    assert result["error"] == "INVALID_ARGUMENT: API key not valid."
    assert json.loads(result["response_body"]) == json.loads(body)
    assert result["stream"] is True  # what the request asked for


def test_stream_requested_and_sent_without_an_event_stream_content_type():
    name = "openai_chat/gpt4o_text_plain.sse"
    data = (STREAMS / name).read_bytes()
    request = json.dumps({"model": "gpt-4o", "stream": True, "messages": []}).encode()
    result = run(name, [(1.0, data)], request_body=request, response_headers=[("content-type", "text/plain")])
    assert result["completion_text"].startswith("I'm unable to provide real-time weather updates.")
    assert result["parse_note"] == "event stream sent as text/plain"
    # Without the request's stream flag the same bytes are just a body that is not JSON.
    plain = run(name, [(1.0, data)], response_headers=[("content-type", "text/plain")])
    assert plain["parse_note"].startswith("response body is not JSON")


def test_stream_requested_but_answered_with_one_json_body():
    body = {
        "id": "x",
        "model": "m",
        "choices": [{"index": 0, "message": {"content": "Hi"}, "finish_reason": "stop"}],
    }
    request = json.dumps({"model": "m", "stream": True}).encode()
    chunks = [(1.0, json.dumps(body).encode())]
    path = "/v1/chat/completions"
    result = analyze_response("api.openai.com", path, chunks, "application/json", request_body=request)
    assert result["stream"] is False and result["completion_text"] == "Hi"
