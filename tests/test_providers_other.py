"""OpenAI-compatible vendors through the OpenAI parsers, no per-vendor cases: expectations read off each
fixture by hand (text, reasoning kept, usage, finish reason, model, error)."""

from __future__ import annotations

import json

import pytest
from support.streams import analyze_recorded, analyze_response, assert_summary, recorded_endpoint

from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

STREAMS = RECORDINGS_DIR / "other"

# file: (model, finish_reason, input, output, reasoning, text starts, text ends, error starts)
EXPECTED = {
    "bedrock_mantle_responses_data_before_event.sse": (
        "openai.gpt-5.6-luna",
        "completed",
        88,
        14,
        0,
        "first_tool({})",
        "first_tool({})",
        None,
    ),
    "crusoe_vllm_llama33_70b.sse": (
        "meta-llama/Llama-3.3-70B-Instruct",
        "stop",
        46,
        14,
        None,
        "1, 2, 3, 4, 5",
        "5",
        None,
    ),
    "deepseek_reasoner_reasoning_content.sse": (
        "deepseek-reasoner",
        "stop",
        6,
        212,
        198,
        "Hello there! 😊",
        "How can I help you today?",
        None,
    ),
    "deepseek_responses_api_reasoning_text.sse": (
        "deepseek-v4-flash",
        "completed",
        90,
        15,
        7,
        "The capital of France is Paris.",
        ".",
        None,
    ),
    "groq_compound_web_search_executed_tools.sse": (
        "groq/compound",
        "stop",
        5003,
        359,
        None,
        "The weather in San Francisco today is",
        "humidity level of 90-94%.",
        None,
    ),
    "groq_gpt_oss_120b_reasoning_then_error_event.sse": (
        "openai/gpt-oss-120b",
        None,
        None,
        None,
        None,
        None,
        None,
        "invalid_request_error: Tool call validation failed",
    ),
    "mistral_magistral_medium_thinking.sse": (
        "magistral-medium-latest",
        "stop",
        10,
        232,
        None,
        "To cross the street safely, follow these",
        "ensure a safe crossing.",
        None,
    ),
    "openrouter_claude_sonnet45_reasoning_text.sse": (
        "anthropic/claude-sonnet-4.5",
        "stop",
        43,
        36,
        13,
        "2 + 2 = 4",
        "2 + 2 = 4",
        None,
    ),
    "openrouter_deepseek_web_search_url_citations.sse": (
        "deepseek/deepseek-chat",
        "stop",
        2317,
        53,
        0,
        "The URL for Pydantic AI's GitHub",
        "github.com/pydantic/pydantic-ai",
        None,
    ),
    "openrouter_minimax_comments_then_error_chunk.sse": (
        "minimax/minimax-m2:free",
        "length",
        43,
        10,
        11,
        None,
        None,
        "400: Token limit reached",
    ),
    "openrouter_o3_encrypted_reasoning_details.sse": (
        "openai/o3",
        "stop",
        9,
        104,
        0,
        "I’m ChatGPT, a large-language-model",
        "just let me know!",
        None,
    ),
    "snowflake_cortex_claude_reasoning.sse": (
        "claude-sonnet-4-6",
        None,
        45,
        73,
        0,
        "15 × 27 = **405**",
        "300 + 105 = **405**",
        None,
    ),
    "zai_glm47_thinking.sse": ("glm-4.7", "stop", 13, 564, 561, "4", "4", None),
}


def analysed(name: str) -> tuple[dict, dict]:
    _, host, path = recorded_endpoint(f"other/{name}")
    result = analyze_recorded(host, path, (STREAMS / name).read_bytes())
    return result, json.loads(result["response_body"])


def test_table_covers_every_other_fixture():
    assert set(EXPECTED) == {p.name for p in STREAMS.glob("*.sse")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vendor_fixture(name):
    model, finish, input_tokens, output_tokens, reasoning, starts, ends, error = EXPECTED[name]
    result, _ = analysed(name)
    assert_summary(result, model, finish, input_tokens, output_tokens, reasoning, starts, ends)
    if error is None:
        assert "error" not in result
    else:
        assert result["error"].startswith(error)


def message(name: str) -> dict:
    return analysed(name)[1]["choices"][0]["message"]


def test_reasoning_streams_are_kept_beside_the_answer():
    assert len(message("deepseek_reasoner_reasoning_content.sse")["reasoning_content"]) == 882
    assert len(message("zai_glm47_thinking.sse")["reasoning_content"]) == 2173
    assert message("zai_glm47_thinking.sse")["role"] == "assistant"  # repeated role is not concatenated
    groq = message("groq_gpt_oss_120b_reasoning_then_error_event.sse")
    assert len(groq["reasoning"]) == 412 and groq["channel"] == "analysis"
    openrouter = message("openrouter_claude_sonnet45_reasoning_text.sse")
    assert openrouter["reasoning"] and openrouter["reasoning_details"][0]["type"] == "reasoning.text"


def test_mistral_typed_content_chunks_are_merged_by_kind():
    content = message("mistral_magistral_medium_thinking.sse")["content"]
    assert [part["type"] for part in content] == ["thinking", "text"]
    thinking_text = "".join(p["text"] for p in content[0]["thinking"])
    assert thinking_text and content[1]["text"].startswith("To cross the street safely")


def test_vendor_extras_are_kept():
    result, body = analysed("groq_compound_web_search_executed_tools.sse")
    assert body["x_groq"]["usage"]["prompt_tokens"] == 5003
    assert body["choices"][0]["message"]["executed_tools"]
    _, body = analysed("openrouter_deepseek_web_search_url_citations.sse")
    annotations = body["choices"][0]["message"]["annotations"]
    assert annotations and all(a["type"] == "url_citation" for a in annotations)
    assert body["provider"]
    _, body = analysed("crusoe_vllm_llama33_70b.sse")
    assert body["system_fingerprint"].startswith("vllm-")


def test_first_content_is_the_first_reasoning_token_not_the_role_chunk():
    name = "deepseek_reasoner_reasoning_content.sse"
    events = (STREAMS / name).read_bytes().split(b"\n\n")
    chunks = [(float(i), e + b"\n\n") for i, e in enumerate(events) if e]
    _, host, path = recorded_endpoint(f"other/{name}")
    result = analyze_response(host, path, chunks, "text/event-stream")
    first = next(
        i
        for i, e in enumerate(events)
        if b'"reasoning_content":"' in e and b'"reasoning_content":""' not in e
    )
    assert result["first_content_at"] == float(first) and first > 0
