"""Chat Completions reassembly edge cases the recordings do not cover, and request parsing."""

from __future__ import annotations

from support.prompts import parts

from r4u_proxy.providers import openai_chat, prompt_parts


def chunk(delta: dict | None = None, index: int = 0, finish: str | None = None, **top) -> dict:
    choice = {"index": index, "delta": delta or {}, "finish_reason": finish}
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [choice],
        **top,
    }


def assemble(*chunks: dict) -> tuple[dict, list[bool]]:
    stream = openai_chat.Stream()
    flags = [stream.add(None, c) for c in chunks]
    return stream.body(), flags


def test_two_fragments_of_one_tool_call_in_a_single_chunk():
    body, _ = assemble(
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"x"'},
                    },
                    {"index": 0, "function": {"arguments": ": 1}"}},
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "g", "arguments": ""},
                    },
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, finish="tool_calls"),
    )
    calls = body["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("call_a", "f", '{"x": 1}'),
        ("call_b", "g", "{}"),
    ]
    assert body["choices"][0]["finish_reason"] == "tool_calls"


def test_repeated_ids_and_roles_are_not_concatenated():
    body, _ = assemble(
        chunk(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{"},
                    }
                ],
            }
        ),
        chunk(
            {
                "role": "assistant",
                "tool_calls": [
                    {"index": 0, "id": "call_a", "type": "function", "function": {"arguments": "}"}}
                ],
            }
        ),
    )
    message = body["choices"][0]["message"]
    assert message["role"] == "assistant"
    assert (
        message["tool_calls"][0]["id"] == "call_a"
        and message["tool_calls"][0]["function"]["arguments"] == "{}"
    )


def test_interleaved_choices_and_a_later_null_finish_reason():
    body, _ = assemble(
        chunk({"content": "A"}, index=1),
        chunk({"content": "B"}, index=0),
        chunk({"content": "a"}, index=1, finish="length"),
        chunk(
            {"content": ""}, index=1
        ),  # OpenRouter's error chunk: finish_reason null must not erase "length"
    )
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in body["choices"]] == [
        (0, "B", None),
        (1, "Aa", "length"),
    ]


def test_first_content_flags():
    _, flags = assemble(
        chunk({"role": "assistant", "content": "", "refusal": None}),
        chunk({"refusal": ""}),
        chunk({"tool_calls": [{"index": 0, "id": "x", "type": "function", "function": {"arguments": ""}}]}),
        chunk({"reasoning_content": "think"}),
        chunk({"content": "Hi"}),
        chunk(finish="stop"),
        {"id": "c1", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
    )
    assert flags == [False, False, False, True, True, False, False]


def test_error_event_and_error_chunk():
    stream = openai_chat.Stream()
    stream.add(
        "error", {"error": {"message": "Tool call validation failed", "type": "invalid_request_error"}}
    )
    assert stream.error == "invalid_request_error: Tool call validation failed"
    stream = openai_chat.Stream()
    stream.add(None, chunk({"content": ""}, error={"code": 502, "message": "Upstream error"}))
    assert stream.error == "502: Upstream error"


def test_usage_chunk_and_null_usage_on_later_chunks():
    body, _ = assemble(
        chunk({"content": "x"}, usage=None),
        {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}},
        {"id": "c1", "choices": [], "usage": None, "moderation": {"flagged": False}},
    )
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 1}
    assert body["moderation"] == {"flagged": False}
    assert openai_chat.summary(body)["input_tokens"] == 3


def test_summary_of_a_non_streamed_body_with_content_parts_and_refusal():
    body = {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"content": [{"type": "text", "text": "Hello"}]},
                "finish_reason": "stop",
            },
            {"index": 1, "message": {"content": None, "refusal": "No."}, "finish_reason": "stop"},
        ],
    }
    assert openai_chat.summary(body)["completion_text"] == "Hello\n\nNo."


def test_prompt_parts_for_chat_requests():
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": "Rules."},
            {"role": "system", "content": [{"type": "text", "text": "More rules."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "1", "content": "42"},
        ],
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    assert prompt_parts("openai_chat", body) == parts(
        "Rules.\n\nMore rules.",
        ("user", "Look:"),
        ("assistant", "f({})"),
        ("tool", "42"),
        tools=("f",),
    )
    assert prompt_parts("openai_embeddings", {"input": ["a", "b"]})["turns"] == [
        {"role": "user", "text": "a"},
        {"role": "user", "text": "b"},
    ]
    assert prompt_parts("openai_completions", {"prompt": "Once upon"})["turns"] == [
        {"role": "user", "text": "Once upon"}
    ]
    assert prompt_parts("no_such_family", {}) == {"system": None, "turns": [], "tools": []}
