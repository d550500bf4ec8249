"""AWS Bedrock: every recorded Converse / InvokeModel body and stream, the AWS event-stream framing under
damage (bad CRC, cut-off, exception frames), stream bodies against the non-streamed shape, and prices.

Expectations are read off the recordings by hand (usage lines, stop reasons, the text's first words); prices
are the per-million figures of the `aws` entries in r4u's price snapshot.
"""

from __future__ import annotations

import json
import sys

import pytest
from support.upstream import manifest

from r4u_proxy import pricing
from r4u_proxy.ingest.parse import analyze
from r4u_proxy.pricing import snapshot
from r4u_proxy.pricing.prices import price_row
from r4u_proxy.providers import bedrock_converse, route
from r4u_proxy.reports.metrics import NO_PRICE, NO_USAGE, stored_unpriced_reason
from r4u_proxy.simulator.bedrock_api import encode_message
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

pytestmark = pytest.mark.usefixtures("no_price_overrides")

HOST = "bedrock-runtime.us-east-1.amazonaws.com"
M = 1_000_000
MANIFEST = {row["file"]: row for row in manifest() if row["file"].startswith("bedrock/")}

# file -> (finish_reason, input, output, cache_read, cache_write, text starts, text ends, response_model)
EXPECTED = {
    "nova_micro_converse_stream_text.eventstream": (
        "end_turn", 13, 82, None, None, "The capital of France is Paris.", '"The City of Love."', None),
    "nova_micro_converse_stream_tool_use.eventstream": (
        "tool_use", 415, 202, None, None, "<thinking>", 'get_current_weather({"location":"San Francisco"})', None),
    "claude_sonnet4_converse_stream_reasoning.eventstream": (
        "end_turn", 36, 73, None, None, "Hello! It's nice to meet you.", "help you today?", None),
    "titan_lite_converse_stream_max_tokens.eventstream": (
        "max_tokens", 8, 10, None, None, "I am here and ready to assist", "assist", None),
    "titan_lite_converse.json": ("max_tokens", 8, 10, None, None, "Hi, how can I help you", "help you", None),
    "claude_sonnet45_converse_cache_write.json": ("end_turn", 1324, 5, 0, 1322, "21", "21", None),
    "claude_sonnet45_converse_cache_read.json": ("end_turn", 1324, 5, 1322, 0, "21", "21", None),
    "claude_sonnet4_converse_reasoning.json": (
        "end_turn", 42, 313, 0, 0, "Here are the basic steps for crossing the street safely", None, None),
    "application_inference_profile_converse.json": ("end_turn", 8, 2, None, None, "Hello", "Hello", None),
    "claude_v2_invoke_stream.eventstream": (
        "max_tokens", 14, 10, None, None, "Okay, I will repeat: This is a test", None, "claude-2.0"),
    "claude35_sonnet_invoke_stream_tool_use.eventstream": (
        "tool_use", 392, 134, None, None, "Certainly! I'll use the get_current_weather", None,
        "claude-3-5-sonnet-20240620"),
    "claude_sonnet45_invoke_stream_emoji.eventstream": (
        "end_turn", 10, 15, 0, 0, "Hi! 👋 How are you doing today?", "today?", "claude-sonnet-4-5-20250929"),
    "nova_micro_invoke_stream.eventstream": (
        "max_tokens", 5, 10, None, None, "It sounds like you're initiating a message or", "message or", None),
    "titan_lite_invoke_stream.eventstream": (
        "LENGTH", 5, 10, None, None, "\nHello! I am a computer program designed to", "designed to", None),
    "claude_v2_invoke.json": ("max_tokens", 14, 10, None, None, 'Okay, I said "This is a test"', None, "claude-2.0"),
    "nova_micro_invoke.json": ("max_tokens", 5, 10, None, None, "Certainly, here's a test:", "**", None),
    "titan_lite_invoke.json": ("LENGTH", 5, 10, None, None, " comment\nHello! I am writing this as a", None, None),
    "llama31_70b_invoke.json": ("length", 5, 10, None, None, " post. This is a test post. This is", None, None),
    # Mistral's and Cohere's InvokeModel bodies carry no usage: it comes from response headers (below).
    "mistral_7b_invoke.json": ("length", None, None, None, None, "\n\nA man stands before a crowd of people", None,
                               None),
    "cohere_command_r_invoke.json": ("MAX_TOKENS", None, None, None, None, "This is a test. How are you doing today",
                                     None, None),
    "cohere_command_light_invoke.json": ("MAX_TOKENS", None, None, None, None, " Let it be a test of knowledge",
                                         None, None),
    "titan_embed_v2_invoke.json": (None, 5, None, None, None, "[1 embedding(s)]", None, None),
    "cohere_embed_v4_regional_invoke.json": (None, None, None, None, None, "[1 embedding(s)]", None, None),
}  # fmt: skip


def _endpoint(name: str) -> tuple[str, str]:
    url = MANIFEST[f"bedrock/{name}"]["endpoint"].split()[1]
    host, _, path = url.partition("://")[2].partition("/")
    return host, "/" + path


def analysed(name: str, data: bytes | None = None, headers: list | None = None, status: int = 200) -> dict:
    host, path = _endpoint(name)
    data = (RECORDINGS_DIR / "bedrock" / name).read_bytes() if data is None else data
    content_type = "application/json" if name.endswith(".json") else "application/vnd.amazon.eventstream"
    exchange = {"path": path, "status_code": status, "chunks": [(1.0, data)],
                "response_headers": [("content-type", content_type), *(headers or [])]}  # fmt: skip
    return analyze(route(host, path), exchange)


def test_every_bedrock_recording_has_an_expectation():
    assert {f"bedrock/{n}" for n in EXPECTED} | {"bedrock/invalid_model_invoke_400.json"} == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_recording_gives_its_columns(name):
    finish, input_tokens, output_tokens, cache_read, cache_write, starts, ends, model = EXPECTED[name]
    result = analysed(name)
    assert result.get("finish_reason") == finish
    assert (result.get("input_tokens"), result.get("output_tokens")) == (input_tokens, output_tokens)
    assert (result.get("cache_read_tokens"), result.get("cache_write_tokens")) == (cache_read, cache_write)
    assert result["completion_text"].startswith(starts)
    assert ends is None or result["completion_text"].endswith(ends)
    assert result.get("response_model") == model
    assert result["stream"] is name.endswith(".eventstream")
    assert "parse_note" not in result
    assert result["request_model"] == bedrock_converse.model_id(_endpoint(name)[1])


def test_model_ids_come_from_the_url_decoded():
    assert bedrock_converse.model_id("/model/us.amazon.nova-micro-v1%3A0/converse-stream") == "us.amazon.nova-micro-v1:0"
    arn = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fmi1dadi0g15f"
    assert bedrock_converse.model_id(f"/model/{arn}/converse") == (
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/mi1dadi0g15f"
    )


def test_tool_inputs_are_rebuilt_from_their_fragments():
    body = json.loads(analysed("nova_micro_converse_stream_tool_use.eventstream")["response_body"])
    tools = [b["toolUse"] for b in body["output"]["message"]["content"] if "toolUse" in b]
    assert [t["name"] for t in tools] == ["get_current_weather", "get_current_weather"]
    assert all(isinstance(t["input"], dict) and t["input"]["location"] for t in tools)
    anthropic_body = json.loads(analysed("claude35_sonnet_invoke_stream_tool_use.eventstream")["response_body"])
    tool_use = next(b for b in anthropic_body["content"] if b["type"] == "tool_use")
    assert tool_use["name"] == "get_current_weather" and isinstance(tool_use["input"], dict)


def test_reasoning_is_kept_apart_from_the_answer():
    streamed = json.loads(analysed("claude_sonnet4_converse_stream_reasoning.eventstream")["response_body"])
    first = streamed["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
    assert first["text"] and first["signature"]
    result = analysed("claude_sonnet4_converse_stream_reasoning.eventstream")
    assert first["text"][:20] not in result["completion_text"]


def _shape(value, prefix=""):
    """Every key path of a JSON value (lists by their items), for comparing body shapes."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in {prefix + k} | _shape(v, prefix + k + ".")}
    if isinstance(value, list):
        return set().union(*(_shape(v, prefix) for v in value)) if value else set()
    return set()


@pytest.mark.parametrize(
    ("streamed", "plain", "extra", "unsent"),
    [
        ("titan_lite_converse_stream_max_tokens.eventstream", "titan_lite_converse.json", set(), set()),
        ("titan_lite_invoke_stream.eventstream", "titan_lite_invoke.json", {"amazon-bedrock-invocationMetrics"},
         set()),
        ("claude_v2_invoke_stream.eventstream", "claude_v2_invoke.json", {"amazon-bedrock-invocationMetrics"},
         set()),
        # Nova's InvokeModel stream reports no usage total; the rebuilt body cannot have one.
        ("nova_micro_invoke_stream.eventstream", "nova_micro_invoke.json",
         {"amazon-bedrock-invocationMetrics", "metrics", "trace"}, {"usage.totalTokens"}),
    ],
)  # fmt: skip
def test_a_stream_is_rebuilt_into_the_non_streamed_shape(streamed, plain, extra, unsent):
    stream_body = json.loads(analysed(streamed)["response_body"])
    plain_body = json.loads(analysed(plain)["response_body"])
    assert _shape(plain_body) - unsent <= _shape(stream_body)  # what the non-streamed body has, the rebuilt has
    assert {k for k in _shape(stream_body) - _shape(plain_body) if "." not in k} <= extra


def test_a_bad_crc_is_a_note_and_what_came_before_is_kept():
    data = bytearray((RECORDINGS_DIR / "bedrock/nova_micro_converse_stream_text.eventstream").read_bytes())
    whole = analysed("nova_micro_converse_stream_text.eventstream")
    at = data.index(b"capital") + 2  # inside the payload of an early contentBlockDelta message
    data[at] ^= 0x01
    result = analysed("nova_micro_converse_stream_text.eventstream", bytes(data))
    assert "ChecksumMismatch" in result["parse_note"] and "not decoded" in result["parse_note"]
    assert result["completion_text"] and whole["completion_text"].startswith(result["completion_text"])
    assert result["completion_text"] != whole["completion_text"]


def test_a_stream_cut_inside_a_message_says_so():
    data = (RECORDINGS_DIR / "bedrock/claude_v2_invoke_stream.eventstream").read_bytes()
    result = analysed("claude_v2_invoke_stream.eventstream", data[: len(data) - 40])
    assert "AWS event stream ended" in result["parse_note"] and "bytes into a message" in result["parse_note"]
    assert result["completion_text"].startswith("Okay")


def test_without_botocore_a_bedrock_stream_is_a_note_and_other_calls_still_parse(monkeypatch):
    # botocore comes with the proxy extra; an install without it must not stop the writer (it once did:
    # the import at the top of ingest/eventstream.py failed the writer's start, so nothing was recorded).
    monkeypatch.setitem(sys.modules, "botocore.eventstream", None)  # `import` of it raises ImportError
    result = analysed("nova_micro_converse_stream_text.eventstream")
    assert "botocore is not installed" in result["parse_note"] and result["stream"] is True
    assert analysed("claude_v2_invoke.json")["completion_text"]


def test_an_exception_frame_is_the_calls_error():
    data = (RECORDINGS_DIR / "bedrock/titan_lite_converse_stream_max_tokens.eventstream").read_bytes()
    frame = encode_message(
        {":message-type": "exception", ":exception-type": "throttlingException", ":content-type": "application/json"},
        b'{"message":"Too many requests, please wait before trying again."}',
    )
    first_message = int.from_bytes(data[:4], "big")
    result = analysed("titan_lite_converse_stream_max_tokens.eventstream", data[:first_message] + frame)
    assert result["error"] == "throttlingException: Too many requests, please wait before trying again."
    assert "event: exception" in result["response_raw"]


def test_usage_from_the_response_headers_when_the_body_has_none():
    # The Mistral recording's cassette answered with X-Amzn-Bedrock-Input-Token-Count 6, -Output- 10.
    headers = [("X-Amzn-Bedrock-Input-Token-Count", "6"), ("X-Amzn-Bedrock-Output-Token-Count", "10")]
    result = analysed("mistral_7b_invoke.json", headers=headers)
    assert (result["input_tokens"], result["output_tokens"]) == (6, 10)


def test_an_error_body_gives_the_services_message():
    result = analysed("invalid_model_invoke_400.json", status=400)
    assert result["error"] == "The provided model identifier is invalid."


# ---- prices ---------------------------------------------------------------------------------------------
def _aws_price(model_id: str) -> dict:
    data = json.loads(snapshot.SNAPSHOT_FILE.read_text())
    aws = next(p for p in data["providers"] if p["id"] == "aws")
    prices = next(m for m in aws["models"] if m["id"] == model_id)["prices"]
    return {k: float(v) for k, v in (prices if isinstance(prices, dict) else prices[-1]["prices"]).items()}


def _priced(name: str, headers: list | None = None) -> pricing.Price:
    result = analysed(name, headers=headers)
    row = {"provider": "bedrock", "host": HOST, "started_at": "2026-11-27T04:00:00.000Z", **result}
    return price_row(row)




def test_cross_region_profiles_are_priced_as_such():
    # us.amazon.nova-micro-v1:0: 13 in, 82 out at Nova Micro's price.
    nova = _aws_price("amazon.nova-micro-v1:0")
    quote = _priced("nova_micro_converse_stream_text.eventstream")
    assert quote.cost_usd == pytest.approx((13 * nova["input_mtok"] + 82 * nova["output_mtok"]) / M)
    # global. is priced at the global rate, us. at the regional one (10% more), whatever the body calls the model.
    global_sonnet = _aws_price("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    emoji = _priced("claude_sonnet45_invoke_stream_emoji.eventstream")
    assert emoji.priced_model == "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert emoji.cost_usd == pytest.approx((10 * global_sonnet["input_mtok"] + 15 * global_sonnet["output_mtok"]) / M)


def test_cache_reads_and_writes_pay_their_own_rates():
    regional = _aws_price("regional.anthropic.claude-sonnet-4-5-20250929-v1:0")
    write = _priced("claude_sonnet45_converse_cache_write.json")
    read = _priced("claude_sonnet45_converse_cache_read.json")
    assert write.cost_usd == pytest.approx(
        (2 * regional["input_mtok"] + 1322 * regional["cache_write_mtok"] + 5 * regional["output_mtok"]) / M
    )
    assert read.cost_usd == pytest.approx(
        (2 * regional["input_mtok"] + 1322 * regional["cache_read_mtok"] + 5 * regional["output_mtok"]) / M
    )


def test_vendor_bodies_are_priced_from_their_own_usage_fields():
    llama = _aws_price("meta.llama3-1-70b-instruct-v1:0")
    assert _priced("llama31_70b_invoke.json").cost_usd == pytest.approx((5 + 10) * llama["input_mtok"] / M)
    titan = _aws_price("amazon.titan-text-lite-v1")
    assert _priced("titan_lite_invoke_stream.eventstream").cost_usd == pytest.approx(
        (5 * titan["input_mtok"] + 10 * titan["output_mtok"]) / M
    )
    mistral = _aws_price("mistral.mistral-7b-instruct-v0:2")
    headers = [("x-amzn-bedrock-input-token-count", "6"), ("x-amzn-bedrock-output-token-count", "10")]
    assert _priced("mistral_7b_invoke.json", headers).cost_usd == pytest.approx(
        (6 * mistral["input_mtok"] + 10 * mistral["output_mtok"]) / M
    )
    embed = _aws_price("amazon.titan-embed-text-v2:0")
    assert _priced("titan_embed_v2_invoke.json").cost_usd == pytest.approx(5 * embed["input_mtok"] / M)


def test_unpriced_bedrock_calls_say_why():
    # An application inference profile names no model; Command R on Bedrock has no price in the data;
    # a Mistral body without its usage headers reported no usage.
    assert stored_unpriced_reason(_priced("application_inference_profile_converse.json").source) == NO_PRICE
    headers = [("x-amzn-bedrock-input-token-count", "6"), ("x-amzn-bedrock-output-token-count", "10")]
    assert stored_unpriced_reason(_priced("cohere_command_r_invoke.json", headers).source) == NO_PRICE
    assert stored_unpriced_reason(_priced("mistral_7b_invoke.json").source) == NO_USAGE
