"""Responses API streams without their final `response.completed`: rebuilt from item and delta events.

A cut-off stream has no terminal event, so r4u builds the response from output_item.added/done, content
parts, text/argument/code deltas, reasoning summaries and annotations. The real recordings do end with
`response.completed`, which carries the true final output; dropping that event (and, harder, every
`.done` event too) and rebuilding must give the same output items.
"""

from __future__ import annotations

import json

import pytest

from r4u_proxy.ingest.sse import SSEDecoder
from r4u_proxy.providers import openai_responses
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

STREAMS = RECORDINGS_DIR
FIXTURES = sorted(
    [f"openai_responses/{p.name}" for p in (STREAMS / "openai_responses").glob("*.sse")]
    + [
        "other/deepseek_responses_api_reasoning_text.sse",
        "other/bedrock_mantle_responses_data_before_event.sse",
    ]
)


def events(name: str) -> list[dict]:
    decoder = SSEDecoder()
    data = (STREAMS / name).read_bytes()
    return [json.loads(e.data) for e in decoder.feed(data, 1.0) + decoder.close(1.0)]


def item_view(item: dict) -> dict:
    """What a user reads off an output item."""
    view = {k: item.get(k) for k in ("type", "id", "name", "call_id", "arguments", "input", "code")}
    view["content"] = [part.get("text") or part.get("refusal") for part in item.get("content") or []]
    view["annotations"] = [part.get("annotations") or [] for part in item.get("content") or []]
    view["summary"] = [part.get("text") for part in item.get("summary") or []]
    return view


def rebuilt_output(all_events: list[dict], keep) -> tuple[list[dict], list[str]]:
    stream = openai_responses.Stream()
    for event in all_events:
        if keep(event["type"]):
            stream.add(event["type"], event)
    body = stream.body()
    return body["output"], stream.notes


@pytest.mark.parametrize("name", FIXTURES)
def test_output_rebuilt_without_the_terminal_event(name):
    all_events = events(name)
    completed = next(e for e in all_events if e["type"] == "response.completed")["response"]
    output, notes = rebuilt_output(all_events, lambda kind: kind != "response.completed")
    assert [item_view(i) for i in output] == [item_view(i) for i in completed["output"]]
    assert notes == ["stream ended before response.completed; response rebuilt from events"]


@pytest.mark.parametrize("name", FIXTURES)
def test_output_rebuilt_from_deltas_alone(name):
    """Without any `.done` event (a stream cut right after its last delta), deltas alone give the text."""
    all_events = events(name)
    completed = next(e for e in all_events if e["type"] == "response.completed")["response"]
    output, _ = rebuilt_output(all_events, lambda kind: not kind.endswith((".done", ".completed")))
    want = [item_view(i) for i in completed["output"]]
    got = [item_view(i) for i in output]
    for expected, actual in zip(want, got, strict=True):
        assert actual["type"] == expected["type"] and actual["id"] == expected["id"]
        for field in ("arguments", "input", "code"):
            if expected[field] and actual[field] is not None:
                assert actual[field] == expected[field]
        assert actual["content"] == expected["content"][: len(actual["content"])]
        assert actual["summary"] == expected["summary"][: len(actual["summary"])]


def test_resumed_stream_starting_after_keeps_its_items():
    name = "openai_responses/gpt5_background_resume_starting_after.sse"
    all_events = events(name)
    assert all_events[0]["type"] == "response.queued"  # no response.created: event 0 went to the POST
    output, _ = rebuilt_output(all_events, lambda kind: kind != "response.completed")
    text = [part["text"] for item in output for part in item.get("content") or []]
    assert text == ["2 + 2 equals 4."]


def test_first_content_comes_from_deltas_not_created_events():
    stream = openai_responses.Stream()
    assert (
        stream.add("response.created", {"type": "response.created", "response": {"id": "r", "output": []}})
        is False
    )
    added = {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": {"type": "message", "id": "m", "content": []},
    }
    assert stream.add(None, added) is False
    empty = {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": ""}
    assert stream.add(None, empty) is False
    delta = {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hi"}
    assert stream.add(None, delta) is True


def test_failed_response_reports_its_error():
    stream = openai_responses.Stream()
    failed = {
        "type": "response.failed",
        "response": {
            "id": "r",
            "status": "failed",
            "error": {"code": "server_error", "message": "boom"},
            "output": [],
        },
    }
    stream.add(None, failed)
    assert stream.error == "server_error: boom"
    assert stream.body()["status"] == "failed"
    stream = openai_responses.Stream()
    stream.add("error", {"type": "error", "code": "rate_limit_exceeded", "message": "slow down"})
    assert stream.error == "rate_limit_exceeded: slow down"


def test_usage_and_finish_reason_from_incomplete_response():
    body = {
        "model": "gpt-5",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Par"}]}],
        "usage": {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 40},
            "output_tokens": 50,
            "output_tokens_details": {"reasoning_tokens": 45},
        },
    }
    assert openai_responses.summary(body) == {
        "response_model": "gpt-5",
        "completion_text": "Par",
        "finish_reason": "max_output_tokens",
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_tokens": 40,
        "reasoning_tokens": 45,
    }
