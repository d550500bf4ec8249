"""Cohere v2, Ollama, Hugging Face TGI, Azure OpenAI, Gemini/Vertex embeddings, Claude on Vertex AI and
Mistral's own paths: every recording's columns, streams against the non-streamed shape, and each family's
prices (per-million figures from r4u's price snapshot).

Expectations are read off the recordings by hand: their usage objects, stop reasons and first words.
"""

from __future__ import annotations

import json

import pytest
from support.streams import analyze_recorded, recorded_status
from support.upstream import manifest

from r4u_proxy import pricing
from r4u_proxy.pricing import snapshot
from r4u_proxy.pricing.prices import price_row
from r4u_proxy.reports.metrics import NO_MODEL, NO_PRICE, NO_USAGE, stored_unpriced_reason
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

pytestmark = pytest.mark.usefixtures("no_price_overrides")

M = 1_000_000
ROWS = {row["file"]: row for row in manifest()}
AT = "2026-11-27T04:00:00.000Z"

# file -> (provider, request_model, response_model, finish, input, output, reasoning, text starts, text ends)
EXPECTED = {
    "cohere/command_v2_chat_stream.sse": (
        "cohere", "command", None, "COMPLETE", 7, 109, None, "Arrrr, matey! Shiver me timbers", None),
    "cohere/command_r_v2_chat_stream_tool_calls.sse": (
        "cohere", None, None, "TOOL_CALL", 62, 28, None, "I will search for the current time and weather in Tokyo.",
        'get_weather({\n    "location": "Tokyo"\n})'),
    "cohere/command_v2_chat.json": (
        "cohere", "command", None, "COMPLETE", 7, 88, None, "Arrrr, matey! Shiver me timbers", None),
    "cohere/command_r7b_v2_chat_cached_tokens.json": ("cohere", None, None, "COMPLETE", 2406, 2, None, "Hello!", "Hello!"),
    "cohere/command_a_reasoning_v2_chat_thinking.json": (
        "cohere", None, None, "COMPLETE", 431, 661, None, "Crossing a river safely requires careful planning", None),
    "cohere/embed_v2.json": ("cohere", None, None, None, 208, None, None, "[6 embedding(s)]", None),
    "ollama/llama3_chat_stream.ndjson": (
        "ollama", "llama3", "llama3", "stop", 17, 50, None, "Why did the OpenTelemetry agent go to therapy?", None),
    "ollama/llama3_generate_stream.ndjson": (
        "ollama", "llama3", "llama3", "stop", 17, 71, None, "A joke about OpenTelemetry!", None),
    "ollama/llama3_chat.json": ("ollama", "llama3", "llama3", "stop", 17, 66, None, "A joke about OpenTelemetry!", None),
    "ollama/llama31_chat_tool_calls.json": (
        "ollama", "llama3.1", "llama3.1", "stop", 44, 113, None, "This is a simple example", None),
    "ollama/llama3_generate.json": ("ollama", "llama3", "llama3", "stop", 17, 63, None, "A niche topic!", None),
    # The Inference API echoes the prompt in generated_text; a stream without details counts its token events.
    "tgi/llama32_3b_text_generation_stream.sse": (
        "huggingface", "meta-llama/Llama-3.2-3B", None, None, None, 50, None,
        "Please answer the following question: complete one two and ____. 1. 2.", None),
    "tgi/flan_t5_xxl_text_generation_stream.sse": (
        "huggingface", "google/flan-t5-xxl", None, None, None, 5, None, "one two three four", "one two three four"),
    "tgi/gpt2_text_generation.json": (
        "huggingface", "gpt2", None, None, None, None, None, "The answer to the universe is to get to the surface", None),
    "tgi/llama7b_generate_details.json": (
        "huggingface", None, None, "length", None, 10, None, " for /api/v1/projects/1", None),
    "azure/gpt35_chat_stream_prompt_filter.sse": (
        "azure", "openllmetry-testing", "gpt-35-turbo", "stop", None, None, None, "Why did the Opentelemetry developer",
        None),
    "azure/chat_content_filtered.json": (
        "azure", "openllmetry-testing", "gpt-35-turbo", "content_filter", 15, 19, None, None, None),
    "azure/gpt5_nano_chat.json": (
        "azure", "gpt-5-nano", "gpt-5-nano-2025-08-07", "stop", 8, 271, 192, "Hi there! How can I help today?", None),
    "gemini/gemini_embedding_batch_embed_contents.json": (
        "gemini", "gemini-embedding-2-preview", None, None, None, None, None, "[1 embedding(s)]", None),
    "gemini/gemini_embedding_count_tokens.json": (
        "gemini", "gemini-embedding-2-preview", None, None, None, None, None, "[5 tokens counted]", None),
    "gemini/vertex_gemini_embedding_predict.json": (
        "vertex", "gemini-embedding-001", None, None, 4, None, None, "[1 embedding(s)]", None),
}  # fmt: skip


def _where(name: str) -> tuple[str, str]:
    url = ROWS[name]["endpoint"].split()[1]
    host, _, path = url.partition("://")[2].partition("/")
    return host.split(":")[0], "/" + path


def analysed(name: str) -> dict:
    host, path = _where(name)
    request = ROWS[name]["request"].encode()
    body = request if request.startswith(b"{") and request.endswith(b"}") else b""
    data = (RECORDINGS_DIR / name).read_bytes()
    return analyze_recorded(host, path, data, body, name=name, status=recorded_status(ROWS[name]))


def test_every_recording_of_these_apis_has_an_expectation():
    dirs = ("cohere/", "ollama/", "tgi/", "azure/")
    assert {n for n in ROWS if n.startswith(dirs) or "embedding" in n} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_recording_gives_its_columns(name):
    from r4u_proxy.providers import route

    provider, request_model, response_model, finish, input_tokens, output_tokens, reasoning, starts, ends = EXPECTED[
        name
    ]
    host, path = _where(name)
    assert route(host, path.partition("?")[0]).provider == provider
    result = analysed(name)
    assert (result.get("request_model"), result.get("response_model")) == (request_model, response_model)
    assert result.get("finish_reason") == finish
    assert (result.get("input_tokens"), result.get("output_tokens")) == (input_tokens, output_tokens)
    assert result.get("reasoning_tokens") == reasoning
    text = result.get("completion_text")
    assert (text is None) if starts is None else text.startswith(starts)
    assert ends is None or text.endswith(ends)
    assert result["stream"] is not name.endswith(".json")


def test_cohere_stream_rebuilds_the_chat_response():
    streamed = json.loads(analysed("cohere/command_r_v2_chat_stream_tool_calls.sse")["response_body"])
    message = streamed["message"]
    assert message["tool_plan"] == "I will search for the current time and weather in Tokyo."
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["get_time", "get_weather"]
    assert all(json.loads(c["function"]["arguments"]) == {"location": "Tokyo"} for c in message["tool_calls"])
    plain = json.loads(analysed("cohere/command_v2_chat.json")["response_body"])
    assert set(plain) <= set(streamed) | {"id"} and set(plain["message"]) <= set(message)


def test_cohere_thinking_is_not_the_answer():
    body = json.loads(analysed("cohere/command_a_reasoning_v2_chat_thinking.json")["response_body"])
    thinking = next(p["thinking"] for p in body["message"]["content"] if p["type"] == "thinking")
    assert thinking[:40] not in analysed("cohere/command_a_reasoning_v2_chat_thinking.json")["completion_text"]


def test_ollama_streams_rebuild_the_non_streamed_body():
    chat = json.loads(analysed("ollama/llama3_chat_stream.ndjson")["response_body"])
    plain = json.loads(analysed("ollama/llama3_chat.json")["response_body"])
    assert set(plain) == set(chat) and set(plain["message"]) == set(chat["message"])
    assert chat["done"] is True and chat["message"]["content"].endswith("!)")
    generate = json.loads(analysed("ollama/llama3_generate_stream.ndjson")["response_body"])
    assert set(json.loads(analysed("ollama/llama3_generate.json")["response_body"])) == set(generate)


def test_tgi_stream_rebuilds_the_generate_body():
    streamed = json.loads(analysed("tgi/flan_t5_xxl_text_generation_stream.sse")["response_body"])
    assert streamed["generated_text"] == "one two three four"
    assert [t["text"] for t in streamed["details"]["tokens"]] == ["one", " two", " three", " four", "</s>"]
    plain = json.loads(analysed("tgi/llama7b_generate_details.json")["response_body"])
    assert set(streamed) == set(plain) and "tokens" in plain["details"]


def test_azure_stream_takes_the_model_from_the_response_not_the_deployment():
    # The first chunk is Azure's prompt filter result with model ""; the model is in the later chunks.
    body = json.loads(analysed("azure/gpt35_chat_stream_prompt_filter.sse")["response_body"])
    assert body["model"] == "gpt-35-turbo" and body["prompt_filter_results"]


def test_claude_on_vertex_reads_the_model_from_the_url():
    data = (RECORDINGS_DIR / "anthropic_messages/sdk_basic_text.sse").read_bytes()
    path = "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    request = json.dumps({"anthropic_version": "vertex-2023-10-16", "stream": True, "max_tokens": 64,
                          "messages": [{"role": "user", "content": "Say hello there!"}]}).encode()  # fmt: skip
    result = analyze_recorded("us-east5-aiplatform.googleapis.com", path, data, request)
    direct = analyze_recorded("api.anthropic.com", "/v1/messages", data, request)
    assert result["request_model"] == "claude-sonnet-4-5@20250929"
    assert {k: v for k, v in result.items() if k != "request_model"} == {
        k: v for k, v in direct.items() if k != "request_model"
    }


def test_mistral_fim_prompt_and_answer():
    from r4u_proxy.ingest.parse import analyze
    from r4u_proxy.providers import route

    request = {"model": "codestral-latest", "prompt": "def fib(n):", "suffix": "print(fib(10))"}
    answer = {"id": "x", "object": "chat.completion", "model": "codestral-latest", "created": 1,
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "\n    return n"},
                           "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}  # fmt: skip
    result = analyze(
        route("api.mistral.ai", "/v1/fim/completions"),
        {"path": "/v1/fim/completions", "status_code": 200, "request_body": json.dumps(request).encode(),
         "response_headers": [("content-type", "application/json")], "chunks": [(1.0, json.dumps(answer).encode())]},
    )  # fmt: skip
    assert result["prompt_text"] == "user: def fib(n):[FILL]print(fib(10))"
    assert (result["completion_text"], result["input_tokens"], result["output_tokens"]) == ("\n    return n", 9, 4)


# ---- prices ---------------------------------------------------------------------------------------------


def _entry(provider_id: str, model_id: str) -> dict:
    data = json.loads(snapshot.SNAPSHOT_FILE.read_text())
    provider = next(p for p in data["providers"] if p["id"] == provider_id)
    prices = next(m for m in provider["models"] if m["id"] == model_id)["prices"]
    prices = prices if isinstance(prices, dict) else prices[-1]["prices"]
    return {k: float(v["base"] if isinstance(v, dict) else v) for k, v in prices.items()}


def _priced(name: str, **extra) -> pricing.Price:
    host, _ = _where(name)
    from r4u_proxy.providers import route

    row = {"provider": route(host, _where(name)[1].partition("?")[0]).provider, "host": host, "started_at": AT,
           **analysed(name), **extra}  # fmt: skip
    return price_row(row)


def test_cohere_bills_its_billed_units():
    command = _entry("cohere", "command")
    assert _priced("cohere/command_v2_chat_stream.sse").cost_usd == pytest.approx(
        (7 * command["input_mtok"] + 109 * command["output_mtok"]) / M
    )
    r7b = _entry("cohere", "command-r7b")
    cached = _priced("cohere/command_r7b_v2_chat_cached_tokens.json", request_model="command-r7b-12-2024")
    assert cached.cost_usd == pytest.approx((2406 * r7b["input_mtok"] + 2 * r7b["output_mtok"]) / M)


def test_azure_reasoning_tokens_are_billed_as_output():
    # gpt-5-nano on Azure falls back to OpenAI's price: 8 in, 271 out (192 of them reasoning).
    nano = _entry("openai", "gpt-5-nano")
    quote = _priced("azure/gpt5_nano_chat.json")
    assert quote.priced_model == "gpt-5-nano"
    assert quote.cost_usd == pytest.approx((8 * nano["input_mtok"] + 271 * nano["output_mtok"]) / M)


def test_vertex_embeddings_are_priced_by_their_token_count():
    embedding = _entry("google", "gemini-embedding-001")
    assert _priced("gemini/vertex_gemini_embedding_predict.json").cost_usd == pytest.approx(
        4 * embedding["input_mtok"] / M
    )


def test_unpriced_calls_of_these_apis_say_why():
    assert stored_unpriced_reason(_priced("gemini/gemini_embedding_batch_embed_contents.json").source) == NO_USAGE
    assert stored_unpriced_reason(_priced("ollama/llama3_chat_stream.ndjson").source) == NO_PRICE  # a local model
    assert stored_unpriced_reason(_priced("tgi/llama7b_generate_details.json").source) == NO_MODEL
    assert stored_unpriced_reason(_priced("gemini/gemini_embedding_count_tokens.json").source) == NO_USAGE  # not billed
