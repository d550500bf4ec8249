"""Anthropic Messages reassembly edge cases and request parsing."""

from __future__ import annotations

from support.prompts import parts

from r4u_proxy.providers import anthropic, openai_responses, prompt_parts


def run(*events: dict) -> tuple[anthropic.Stream, list[bool]]:
    stream = anthropic.Stream()
    flags = [stream.add(e["type"], e) for e in events]
    return stream, flags


def block_start(index: int, block: dict) -> dict:
    return {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict) -> dict:
    return {"type": "content_block_delta", "index": index, "delta": delta}


START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 100, "output_tokens": 1},
    },
}


def test_blocks_are_placed_by_index_whatever_the_arrival_order():
    stream, _ = run(
        START,
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "answer"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}},
    )
    assert stream.body()["content"] == [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "answer"},
    ]
    assert stream.notes == []


def test_usage_from_message_delta_overrides_but_keeps_start_values():
    stream, _ = run(
        START,
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 42, "cache_creation_input_tokens": 7},
        },
    )
    body = stream.body()
    assert body["usage"] == {
        "input_tokens": 10,
        "cache_read_input_tokens": 100,
        "output_tokens": 42,
        "cache_creation_input_tokens": 7,
    }
    assert anthropic.summary(body) == {
        "response_model": "claude-x",
        "completion_text": None,
        "finish_reason": "end_turn",
        "input_tokens": 117,
        "output_tokens": 42,
        "cache_read_tokens": 100,
        "cache_write_tokens": 7,
    }


def test_tool_input_from_fragments_and_cut_off_input_kept_as_text():
    stream, flags = run(
        START,
        block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        block_delta(0, {"type": "input_json_delta", "partial_json": ""}),
        block_delta(0, {"type": "input_json_delta", "partial_json": '{"ci'}),
        block_delta(0, {"type": "input_json_delta", "partial_json": 'ty": "Paris"}'}),
        {"type": "content_block_stop", "index": 0},
        block_start(1, {"type": "tool_use", "id": "u", "name": "g", "input": {}}),
        block_delta(1, {"type": "input_json_delta", "partial_json": '{"a": [1,'}),
    )
    body = stream.body()  # the stream stopped inside block 1
    assert body["content"][0]["input"] == {"city": "Paris"}
    assert body["content"][1]["input"] == '{"a": [1,'
    assert stream.notes and "content block 1" in stream.notes[0]
    assert anthropic.summary(body)["completion_text"] == 'f({"city":"Paris"})\ng({"a": [1,)'
    assert flags == [False, True, False, True, True, False, True, True]


def test_citations_unknown_deltas_and_error_event():
    stream, flags = run(
        START,
        block_start(0, {"type": "text", "text": "", "citations": None}),
        block_delta(0, {"type": "citations_delta", "citation": {"url": "u1"}}),
        block_delta(0, {"type": "citations_delta", "citation": {"url": "u2"}}),
        block_start(1, {"type": "future_block", "content": None}),
        {"type": "content_block_delta", "index": 1, "delta": {"type": "future_delta", "content": "abc"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "future_delta", "content": "def"}},
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    body = stream.body()
    assert body["content"][0]["citations"] == [{"url": "u1"}, {"url": "u2"}]
    assert body["content"][1] == {"type": "future_block", "content": "abcdef"}
    assert stream.error == "overloaded_error: Overloaded"
    assert flags[1:4] == [False, False, False]  # an empty text block start and citations are not content


def test_redacted_thinking_block_start_is_content():
    _, flags = run(
        START,
        block_start(0, {"type": "redacted_thinking", "data": "EmwK"}),
    )
    assert flags == [False, True]


def test_prompt_parts_for_messages_and_responses():
    body = {
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "t", "name": "w", "input": {"c": "P"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "20C"}]}
                ],
            },
        ],
        "tools": [{"name": "w"}, {"type": "web_search_20250305", "name": "web_search"}],
    }
    assert prompt_parts("anthropic_messages", body) == parts(
        "You are terse.",
        ("user", "Weather?"),
        ("assistant", 'Checking.\nw({"c":"P"})'),
        ("user", "20C"),
        tools=("w", "web_search"),
    )
    responses = {
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Capital of France?"}]},
            {"type": "function_call", "name": "lookup", "arguments": '{"q":"France"}', "call_id": "c"},
            {"type": "function_call_output", "call_id": "c", "output": "Paris"},
        ],
        "tools": [{"type": "function", "name": "lookup"}, {"type": "web_search"}],
    }
    assert openai_responses.prompt_parts(responses) == parts(
        "Be brief.",
        ("user", "Capital of France?"),
        ("assistant", 'lookup({"q":"France"})'),
        ("tool", "Paris"),
        tools=("lookup", "web_search"),
    )
    assert openai_responses.prompt_parts({"input": "Hi"})["turns"] == [{"role": "user", "text": "Hi"}]
