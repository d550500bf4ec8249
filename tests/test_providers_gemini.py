"""Gemini / Vertex AI streams: expectations read off each recorded fixture by hand."""

from __future__ import annotations

import json

import pytest
from support.prompts import parts
from support.streams import analyze_recorded, assert_summary

from r4u_proxy.providers import gemini
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

STREAMS = RECORDINGS_DIR / "gemini"
PATH = "/v1beta/models/gemini-2.0-flash:streamGenerateContent"

# file: (model, finish_reason, input, output, reasoning, text starts, text ends)
EXPECTED = {
    "gemini20flash_text_after_tool_result_nonascii.sse": (
        "gemini-2.0-flash",
        "STOP",
        79,
        12,
        None,
        "The temperature in Paris is 30°C.\n",
        "30°C.\n",
    ),
    "gemini25flash_usage_updates_mid_stream.sse": (
        "gemini-2.5-flash",
        "STOP",
        18,
        115,
        35,
        "1\n2\n3\n",
        "\n29\n30",
    ),
    "gemini25pro_google_search_grounding.sse": (
        "gemini-2.5-pro",
        "STOP",
        119,
        653,
        412,
        "### Weather in San Francisco",
        "remains low throughout the day.",
    ),
    "gemini25pro_thought_summaries_then_text.sse": (
        "gemini-2.5-pro",
        "STOP",
        34,
        1256,
        787,
        "This is a great question!",
        "a driver might not see you.",
    ),
    "gemini3pro_function_call_thought_signature.sse": (
        "gemini-3-pro-preview",
        "STOP",
        29,
        212,
        202,
        "get_country({})",
        "get_country({})",
    ),
    "googleai_basic_reply_long.sse": (
        "gemini-2.0-flash",
        "STOP",
        10,
        1996,
        None,
        "Okay, let's dive into the world of cats and dogs!",
        "or health conditions.\n",
    ),
    "googleai_basic_reply_short.sse": (
        "gemini-2.0-flash",
        "STOP",
        7,
        10,
        None,
        "The capital of Wyoming is **Cheyenne**.\n",
        "\n",
    ),
    "googleai_citations.sse": (
        "gemini-2.0-flash",
        "STOP",
        15,
        1381,
        None,
        "Okay, let's break down quantum mechanics.",
        "on your learning journey!\n",
    ),
    "googleai_code_execution.sse": (
        "gemini-2.5-flash",
        "STOP",
        264,
        221,
        95,
        "To find the sum of the first 5 prime numbers",
        "first 5 prime numbers is 28.",
    ),
    "googleai_final_chunk_without_parts.sse": (
        "gemini-2.5-flash-image-preview",
        "STOP",
        16,
        1307,
        None,
        "Here's a cute cartoon kitten",
        "with a ball of yarn for you! ",
    ),
    "googleai_prompt_blocked_safety.sse": (None, "SAFETY", None, None, None, None, None),
    "googleai_recitation_no_content.sse": (
        "gemini-2.0-flash",
        "RECITATION",
        9,
        261,
        None,
        "text1text2text3text4text5text6text7text8",
        "text8",
    ),
    "googleai_thinking_function_call_thought_signature.sse": (
        "gemini-2.5-flash",
        "STOP",
        38,
        174,
        168,
        "now({})",
        "now({})",
    ),
    "googleai_thinking_thought_summary.sse": (
        "gemini-2.5-flash",
        "STOP",
        10,
        588,
        540,
        "The sky is blue because",
        "appear blue to our eyes.",
    ),
    "googleai_url_context.sse": (
        "gemini-2.5-flash",
        "STOP",
        1057,
        120,
        39,
        "\nThe Google homepage primarily",
        'and an "About" section.',
    ),
    "vertex_gemini3flash_service_tier_flex.sse": ("gemini-3-flash-preview", "STOP", 5, 101, 100, "OK", "OK"),
    "vertexai_basic_reply_short_safety_ratings.sse": (None, "STOP", 6, 4, None, "Cheyenne", "Cheyenne"),
    "vertexai_error_mid_stream.sse": (None, "STOP", None, None, None, "First Second ", "First Second "),
    "vertexai_finish_reason_safety.sse": (
        "gemini-1.5-flash",
        "SAFETY",
        10,
        66,
        None,
        "<redacted>",
        "<redacted>",
    ),
    "vertexai_function_call_short.sse": (
        None,
        "STOP",
        None,
        None,
        None,
        'getTemperature({"city":"San Jose"})',
        ")",
    ),
    "vertexai_utf8_cjk.sse": (
        None,
        "STOP",
        None,
        None,
        None,
        "秋风瑟瑟，叶落纷纷，\n西风残照",
        "领悟秋天的哲理。",
    ),
}


def analysed(name: str) -> tuple[dict, dict]:
    result = analyze_recorded("generativelanguage.googleapis.com", PATH, (STREAMS / name).read_bytes())
    return result, json.loads(result["response_body"])


def test_table_covers_every_gemini_fixture():
    assert set(EXPECTED) == {p.name for p in STREAMS.glob("*.sse")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gemini_fixture(name):
    model, finish, input_tokens, output_tokens, reasoning, starts, ends = EXPECTED[name]
    result, _ = analysed(name)
    assert_summary(result, model, finish, input_tokens, output_tokens, reasoning, starts, ends)
    assert result["request_model"] == "gemini-2.0-flash"  # from the URL path


def test_thought_summaries_stay_apart_from_the_answer():
    result, body = analysed("googleai_thinking_thought_summary.sse")
    parts = body["candidates"][0]["content"]["parts"]
    assert [bool(p.get("thought")) for p in parts] == [True, False]  # adjacent pieces of each kind joined
    assert result["completion_text"] == parts[1]["text"]  # the answer only, no thought summary
    assert parts[0]["text"][:40] not in result["completion_text"]


def test_function_call_with_thought_signature_is_kept_whole():
    _, body = analysed("gemini3pro_function_call_thought_signature.sse")
    [part] = [p for p in body["candidates"][0]["content"]["parts"] if "functionCall" in p]
    assert part["functionCall"] == {"name": "get_country", "args": {}}
    assert part["thoughtSignature"].startswith("EpwICpkI")


def test_grounding_citation_and_url_metadata_survive():
    _, body = analysed("gemini25pro_google_search_grounding.sse")
    assert body["candidates"][0]["groundingMetadata"]["webSearchQueries"]
    _, body = analysed("googleai_citations.sse")
    assert body["candidates"][0]["citationMetadata"]["citationSources"]
    _, body = analysed("googleai_url_context.sse")
    assert body["candidates"][0]["urlContextMetadata"]


def test_code_execution_parts_stay_in_order():
    _, body = analysed("googleai_code_execution.sse")
    kinds = [
        next(iter(k for k in p if k != "thoughtSignature")) for p in body["candidates"][0]["content"]["parts"]
    ]
    assert "executableCode" in kinds and "codeExecutionResult" in kinds
    assert kinds.index("executableCode") < kinds.index("codeExecutionResult")


def test_blocked_prompt_and_mid_stream_error():
    result, body = analysed("googleai_prompt_blocked_safety.sse")
    assert body["promptFeedback"]["blockReason"] == "SAFETY"
    assert result["error"] == "prompt blocked: SAFETY"
    result, _ = analysed("vertexai_error_mid_stream.sse")
    assert result["error"] == "CANCELLED: The operation was cancelled."
    assert result["completion_text"] == "First Second "


def test_adjacent_text_parts_join_but_not_across_kinds():
    stream = gemini.Stream()
    for part in (
        {"text": "A"},
        {"text": "B"},
        {"text": "t", "thought": True},
        {"text": "u", "thought": True},
        {"text": "C"},
    ):
        stream.add(None, {"candidates": [{"index": 0, "content": {"role": "model", "parts": [part]}}]})
    parts = stream.body()["candidates"][0]["content"]["parts"]
    assert parts == [{"text": "AB"}, {"text": "tu", "thought": True}, {"text": "C"}]


def test_prompt_parts():
    body = {
        "systemInstruction": {"parts": [{"text": "Be terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in "}, {"text": "Paris?"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
            },
        ],
        "tools": [{"functionDeclarations": [{"name": "get_weather"}]}, {"googleSearch": {}}],
    }
    assert gemini.prompt_parts(body) == parts(
        "Be terse.",
        ("user", "Weather in Paris?"),
        ("model", 'get_weather({"city":"Paris"})'),
        tools=("get_weather", "googleSearch"),
    )
