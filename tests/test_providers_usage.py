"""Token normalisation across providers: input includes cache reads/writes, output includes reasoning."""

from __future__ import annotations

from r4u_proxy.providers import anthropic, gemini, openai_chat
from r4u_proxy.providers.common import anthropic_usage, gemini_usage, openai_usage


def test_openai_chat_cached_and_reasoning_tokens():
    usage = {
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "total_tokens": 1500,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
    }
    assert openai_usage(usage) == {
        "input_tokens": 1200,  # already includes the 1024 cached
        "output_tokens": 300,  # already includes the 256 reasoning
        "cache_read_tokens": 1024,
        "reasoning_tokens": 256,
    }


def test_openai_responses_usage_names():
    usage = {
        "input_tokens": 9463,
        "input_tokens_details": {"cached_tokens": 8320},
        "output_tokens": 582,
        "output_tokens_details": {"reasoning_tokens": 512},
        "total_tokens": 10045,
    }
    assert openai_usage(usage) == {
        "input_tokens": 9463,
        "output_tokens": 582,
        "cache_read_tokens": 8320,
        "reasoning_tokens": 512,
    }


def test_deepseek_cache_hit_tokens_count_as_cache_reads():
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 5,
        "prompt_cache_hit_tokens": 64,
        "prompt_cache_miss_tokens": 36,
    }
    assert openai_usage(usage)["cache_read_tokens"] == 64


def test_anthropic_input_adds_cache_read_and_write():
    usage = {
        "input_tokens": 50,
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 300,
        "output_tokens": 120,
        "output_tokens_details": {"thinking_tokens": 80},
    }
    assert anthropic_usage(usage) == {
        "input_tokens": 2350,
        "output_tokens": 120,
        "cache_read_tokens": 2000,
        "cache_write_tokens": 300,
        "reasoning_tokens": 80,
    }
    assert anthropic_usage({"input_tokens": 11, "output_tokens": 6}) == {
        "input_tokens": 11,
        "output_tokens": 6,
    }


def test_gemini_thoughts_and_tool_use_prompt():
    usage = {
        "promptTokenCount": 1000,
        "toolUsePromptTokenCount": 57,
        "cachedContentTokenCount": 600,
        "candidatesTokenCount": 120,
        "thoughtsTokenCount": 39,
        "totalTokenCount": 1216,
    }
    assert gemini_usage(usage) == {
        "input_tokens": 1057,
        "output_tokens": 159,
        "cache_read_tokens": 600,
        "reasoning_tokens": 39,
    }


def test_missing_or_odd_usage_gives_no_columns():
    for broken in (
        None,
        "12",
        [],
        {"prompt_tokens": "12", "completion_tokens": None},
        {"input_tokens": True},
    ):
        assert openai_usage(broken) == {}
        assert anthropic_usage(broken) == {}
        assert gemini_usage(broken) == {}


def test_family_summaries_use_the_normalised_columns():
    chat = {"model": "m", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    assert openai_chat.summary(chat)["input_tokens"] == 3
    groq = {"model": "m", "choices": [], "x_groq": {"usage": {"prompt_tokens": 5, "completion_tokens": 6}}}
    assert openai_chat.summary(groq)["output_tokens"] == 6  # Groq compound reports usage only under x_groq
    message = {
        "model": "c",
        "content": [],
        "usage": {"input_tokens": 1, "cache_read_input_tokens": 2, "output_tokens": 3},
    }
    assert anthropic.summary(message)["input_tokens"] == 3
    generated = {
        "candidates": [],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 1, "thoughtsTokenCount": 2},
    }
    assert gemini.summary(generated)["output_tokens"] == 3
