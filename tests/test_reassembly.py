"""r4u's reassembled bodies against the official SDKs' own stream helpers, fed the same recorded bytes.

`tests/sdk/sdk_final_objects.py` runs in the application env (openai 3.x, anthropic 2.x), serves each fixture
through an httpx2.MockTransport to `chat.completions.stream(...).get_final_completion()`,
`responses.stream(...).get_final_response()` and `messages.stream(...).get_final_message()`, and prints the
final objects. Here every field the SDK exposes to a user (text, tool calls and arguments, thinking, stop
reason, usage, model, id) must match what r4u stored in `response_body`. The OpenAI-compatible vendor streams
in other/ go through the same OpenAI helpers: reassembly has no per-vendor cases, so they must match too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.streams import analyze_recorded, recorded_endpoint

from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

REPO = Path(__file__).resolve().parent.parent
APP_PYTHON = REPO / ".venv-app" / "bin" / "python"
STREAMS = RECORDINGS_DIR
SDK_FAMILIES = ("openai_chat", "openai_responses", "anthropic_messages")  # recordings' folders the SDKs reassemble
FIXTURES = sorted(
    [f"{d}/{p.name}" for d in SDK_FAMILIES for p in (STREAMS / d).glob("*.sse")]
    + [f"other/{p.name}" for p in (STREAMS / "other").glob("*.sse")]
)

# Fixtures the SDK helpers refuse, with the reason each one does. Asserted to be the actual failures.
SDK_REJECTS = {
    "openai_chat/gpt4o_max_tokens_1_length.sse": "LengthFinishReasonError",  # helper raises on finish_reason=length
    "openai_chat/gpt4o_preview_max_tokens_1_empty_refusal_delta.sse": "LengthFinishReasonError",
    # A resumed background stream starts at response.queued; the helper insists on response.created first.
    "openai_responses/gpt5_background_resume_starting_after.sse": "RuntimeError: Expected to have received `response.created`",
    # message_start without usage: the accumulator dereferences None (anthropic-sdk-python#1806).
    "anthropic_messages/sdk_missing_usage_in_message_start.sse": "AttributeError: 'NoneType' object has no attribute 'output_tokens'",
    # The tool input is not JSON; the helper raises, r4u keeps the text and notes it.
    "anthropic_messages/sdk_tool_use_invalid_json.sse": "ValueError: Unable to parse tool parameter JSON",
    # In-stream errors: the helpers raise them as APIError; r4u records them in `error`.
    "other/groq_gpt_oss_120b_reasoning_then_error_event.sse": "APIError: Tool call validation failed",
    "other/openrouter_minimax_comments_then_error_chunk.sse": "APIError: Token limit reached",
    # url_citation annotations carry no `index`; the helper's list merge insists on one.
    "other/openrouter_deepseek_web_search_url_citations.sse": "RuntimeError: Expected list delta entry to have an `index` key",
}


@pytest.fixture(scope="session")
def sdk_finals() -> dict[str, dict]:
    completed = subprocess.run(
        [str(APP_PYTHON), str(REPO / "tests" / "sdk" / "sdk_final_objects.py"), str(STREAMS)],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    return json.loads(completed.stdout)


def family(name: str) -> str:
    directory, _, file_name = name.partition("/")
    if directory == "other":
        return "openai_responses" if "responses" in file_name else "openai_chat"
    return directory


def r4u_body(name: str) -> tuple[dict, dict]:
    _, host, path = recorded_endpoint(name)
    result = analyze_recorded(host, path, (STREAMS / name).read_bytes())
    return json.loads(result["response_body"]), result


def pruned(value: Any) -> Any:
    """Drop keys whose value is None: the SDK dumps every model field, the wire omits unset ones."""
    if isinstance(value, dict):
        return {k: pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def pick(value: dict, *keys: str) -> dict:
    return {k: pruned(value.get(k)) for k in keys}


def chat_view(body: dict) -> dict:
    choices = []
    for choice in body["choices"]:
        message = choice["message"]
        calls = [
            {"id": c.get("id"), "type": c.get("type"), **pick(c["function"], "name", "arguments")}
            for c in message.get("tool_calls") or []
        ]
        logprobs = choice.get("logprobs") or {}
        choices.append(
            {
                "index": choice["index"],
                "finish_reason": choice.get("finish_reason"),
                **pick(message, "content", "refusal"),
                "tool_calls": calls,
                "logprob_tokens": [
                    t["token"] for t in (logprobs.get("content") or []) + (logprobs.get("refusal") or [])
                ],
            }
        )
    return {**pick(body, "id", "model", "created", "system_fingerprint", "usage"), "choices": choices}


def responses_view(body: dict) -> dict:
    items = []
    for item in body.get("output") or []:
        items.append(
            {
                **pick(item, "type", "id", "status", "name", "call_id", "arguments", "input", "code"),
                "text": [
                    pick(part, "type", "text", "refusal", "annotations") for part in item.get("content") or []
                ],
                "summary": [pick(part, "type", "text") for part in item.get("summary") or []],
            }
        )
    return {**pick(body, "id", "model", "status", "usage", "incomplete_details"), "output": items}


def anthropic_view(body: dict) -> dict:
    blocks = [
        pick(block, "type", "text", "id", "name", "input", "thinking", "signature", "data", "citations")
        for block in body.get("content") or []
    ]
    return {**pick(body, "id", "model", "role", "stop_reason", "stop_sequence", "usage"), "content": blocks}


VIEWS = {"openai_chat": chat_view, "openai_responses": responses_view, "anthropic_messages": anthropic_view}


def test_sdk_rejects_exactly_the_expected_fixtures(sdk_finals):
    rejected = {name: outcome["error"] for name, outcome in sdk_finals.items() if "error" in outcome}
    assert set(rejected) == set(SDK_REJECTS), rejected
    for name, reason in SDK_REJECTS.items():
        assert rejected[name].startswith(reason), (name, rejected[name])
    assert set(sdk_finals) == set(FIXTURES)


@pytest.mark.parametrize("name", [n for n in FIXTURES if n not in SDK_REJECTS])
def test_reassembled_body_matches_the_sdk_final_object(name, sdk_finals):
    view = VIEWS[family(name)]
    ours, result = r4u_body(name)
    theirs = sdk_finals[name]["final"]
    if name == "anthropic_messages/sdk_incomplete_partial_json_max_tokens.sse":
        # Cut off inside a tool input: the SDK keeps a partially parsed dict; r4u keeps the exact text the
        # model produced (and says so in parse_note). Both agree on everything else.
        cut_block = ours["content"][1]
        assert isinstance(cut_block["input"], str) and cut_block["input"].startswith('{"')
        assert "not valid JSON" in result["parse_note"]
        assert isinstance(theirs["content"][1]["input"], dict)
        cut_block["input"] = theirs["content"][1]["input"]
    if name == "anthropic_messages/sonnet45_mcp_tool_use_and_result.sse":
        # This SDK version does not track input_json_delta for mcp_tool_use blocks and leaves input {}.
        assert theirs["content"][1]["input"] == {}
        assert ours["content"][1]["input"] == {
            "repoName": "pydantic/pydantic-ai",
            "question": "What is this repository about? What are its main features and purpose?",
        }
        ours["content"][1]["input"] = {}
    if name == "openai_chat/gpt5_text_then_moderation_chunk.sse":
        # The helper overwrites usage with every chunk's, so the trailing moderation chunk (usage null)
        # erases it; r4u keeps the usage chunk's counts.
        assert theirs["usage"] is None and theirs["moderation"] is not None
        assert ours["usage"]["prompt_tokens"] == 13 and ours["usage"]["completion_tokens"] == 11
        assert "moderation" in ours
        theirs = {**theirs, "usage": ours["usage"]}
    if name == "other/mistral_magistral_medium_thinking.sse":
        # Mistral streams typed chunks; r4u keeps them as the non-streamed list ([thinking, text]), the
        # helper keeps only the plain-string pieces. The answer text is the same.
        [thinking, text] = ours["choices"][0]["message"]["content"]
        assert thinking["type"] == "thinking" and thinking["thinking"][0]["text"].startswith("Okay, the user")
        assert text == {"type": "text", "text": theirs["choices"][0]["message"]["content"]}
        ours["choices"][0]["message"]["content"] = text["text"]
    if name.startswith("anthropic_messages/"):
        # message_delta usage fields the SDK's accumulator does not know (iterations, fallback_credit) are
        # dropped by it and kept by r4u; every field the SDK does expose must agree.
        their_usage = pruned(theirs["usage"])
        our_usage = pruned(ours["usage"])
        assert {k: our_usage.get(k) for k in their_usage} == their_usage
        assert set(our_usage) - set(their_usage) <= {"iterations", "fallback_credit"}
        ours = {**ours, "usage": theirs["usage"]}
    assert view(ours) == view(theirs)


def test_rejected_fixtures_are_still_reassembled():
    body, result = r4u_body("openai_chat/gpt4o_max_tokens_1_length.sse")
    assert (
        body["choices"][0]["finish_reason"] == "length" and body["choices"][0]["message"]["content"] == '{"'
    )

    body, result = r4u_body("openai_chat/gpt4o_preview_max_tokens_1_empty_refusal_delta.sse")
    assert body["choices"][0]["message"]["refusal"] == "" and body["choices"][0]["message"]["content"] is None
    assert "first_content_at" not in result  # refusal:"" is not content

    body, result = r4u_body("openai_responses/gpt5_background_resume_starting_after.sse")
    assert body["status"] == "completed" and result["completion_text"] == "2 + 2 equals 4."

    body, result = r4u_body("anthropic_messages/sdk_missing_usage_in_message_start.sse")
    assert (
        result["input_tokens"] == 19
        and result["cache_read_tokens"] == 5
        and result["cache_write_tokens"] == 3
    )

    body, result = r4u_body("anthropic_messages/sdk_tool_use_invalid_json.sse")
    assert body["content"][1]["input"] == '{"location": "Paris", "unit": celsius}'
    assert "tool input is not valid JSON" in result["parse_note"]
