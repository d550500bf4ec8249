"""Cost per call: known usage bodies priced against figures worked out by hand.

Every expected figure below is arithmetic on the per-million-token prices in the installed
genai-prices data (the release r4u's snapshot was taken from), written out in the test so a reader can check it; none comes
from calling the function under test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from r4u_proxy import pricing
from r4u_proxy.pricing.overrides import PricesFileError, load_overrides
from r4u_proxy.pricing.prices import data_source, price, price_row
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

pytestmark = pytest.mark.usefixtures("no_price_overrides")

STREAMS = RECORDINGS_DIR
M = 1_000_000
GENAI_PRICES = data_source()  # the source recorded with each cost: the data in force




# --- provider usage -> r4u's normalised columns (the rules in docs/architecture.md) -------------


def openai_chat_usage(usage: dict) -> dict:
    return {
        "input_tokens": usage["prompt_tokens"],  # already includes cached tokens
        "cache_read_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
        "output_tokens": usage["completion_tokens"],  # already includes reasoning
        "reasoning_tokens": (usage.get("completion_tokens_details") or {}).get("reasoning_tokens"),
    }


def openai_responses_usage(usage: dict) -> dict:
    return {
        "input_tokens": usage["input_tokens"],
        "cache_read_tokens": usage["input_tokens_details"]["cached_tokens"],
        "output_tokens": usage["output_tokens"],
        "reasoning_tokens": usage["output_tokens_details"]["reasoning_tokens"],
    }


def anthropic_usage(usage: dict) -> dict:
    read = usage.get("cache_read_input_tokens") or 0
    write = usage.get("cache_creation_input_tokens") or 0
    return {
        "input_tokens": usage["input_tokens"] + read + write,  # Anthropic reports cache beside input
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": usage["output_tokens"],
    }


def gemini_usage(meta: dict) -> dict:
    return {
        "input_tokens": meta["promptTokenCount"],
        "cache_read_tokens": meta.get("cachedContentTokenCount"),
        "output_tokens": meta.get("candidatesTokenCount", 0) + meta.get("thoughtsTokenCount", 0),
        "reasoning_tokens": meta.get("thoughtsTokenCount"),
    }


# --- each provider, each token class --------------------------------------------------------------


# Per provider, usage with every token class it reports, and its cost worked out by hand from genai-prices'
# per-million prices (then that figure to the digit, and the model genai-prices priced it as).
@pytest.mark.parametrize(
    ("provider", "model", "usage", "expected", "figure", "priced_model"),
    [
        # o4-mini: $1.10 input, $0.275 cached input, $4.40 output per million.
        # Cached tokens are inside prompt_tokens, reasoning inside completion_tokens: neither is added.
        pytest.param(
            "openai", "o4-mini-2025-04-16",
            openai_chat_usage({"prompt_tokens": 2000, "completion_tokens": 800,
                               "prompt_tokens_details": {"cached_tokens": 1024},
                               "completion_tokens_details": {"reasoning_tokens": 512}}),
            ((2000 - 1024) * 1.10 + 1024 * 0.275 + 800 * 4.40) / M, 0.0048752, "o4-mini",
            id="openai_chat_cached_and_reasoning_tokens",
        ),
        # gpt-5: $1.25 input, $0.125 cached input, $10 output per million.
        pytest.param(
            "openai", "gpt-5-2025-08-07",
            openai_responses_usage({"input_tokens": 5000, "input_tokens_details": {"cached_tokens": 4096},
                                    "output_tokens": 1500,
                                    "output_tokens_details": {"reasoning_tokens": 1024},
                                    "total_tokens": 6500}),
            ((5000 - 4096) * 1.25 + 4096 * 0.125 + 1500 * 10) / M, 0.016642, "gpt-5",
            id="openai_responses_cached_and_reasoning_tokens",
        ),
        # claude-sonnet-4: $3 input, $3.75 cache write, $0.30 cache read, $15 output per million.
        pytest.param(
            "anthropic", "claude-sonnet-4-20250514",
            anthropic_usage({"input_tokens": 50, "cache_creation_input_tokens": 2000,
                             "cache_read_input_tokens": 10000, "output_tokens": 300}),
            (50 * 3 + 2000 * 3.75 + 10000 * 0.30 + 300 * 15) / M, 0.01515, "claude-sonnet-4-0",
            id="anthropic_cache_read_and_write_are_priced_beside_input",
        ),
        # gemini-2.5-flash: $0.30 input, $0.03 cached input, $2.50 output (thinking included) per million.
        pytest.param(
            "gemini", "models/gemini-2.5-flash",
            gemini_usage({"promptTokenCount": 1200, "cachedContentTokenCount": 1000,
                          "candidatesTokenCount": 100, "thoughtsTokenCount": 400}),
            (200 * 0.30 + 1000 * 0.03 + (100 + 400) * 2.50) / M, 0.00134, "gemini-2.5-flash",
            id="gemini_thoughts_tokens_billed_as_output_and_cache_reads_discounted",
        ),
    ],
)  # fmt: skip
def test_each_token_class_is_priced(provider, model, usage, expected, figure, priced_model):
    result = price(provider, model, usage)
    assert expected == pytest.approx(figure)
    assert result.cost_usd == pytest.approx(expected, abs=1e-9)
    assert result.priced_model == priced_model
    assert result.source == GENAI_PRICES


def test_openai_chat_plain_gpt4o_dated_snapshot_matches_family_price():
    result = price("openai", "gpt-4o-2024-08-06", openai_chat_usage({"prompt_tokens": 1000, "completion_tokens": 500}))
    assert result.cost_usd == pytest.approx((1000 * 2.50 + 500 * 10.00) / M, abs=1e-9)  # $0.0075
    assert result.priced_model == "gpt-4o"


def test_gemini_pro_long_prompt_pays_the_higher_tier_on_every_token():
    short = price("gemini", "gemini-2.5-pro", {"input_tokens": 200_000, "output_tokens": 1000})
    long = price("gemini", "gemini-2.5-pro", {"input_tokens": 200_001, "output_tokens": 1000})
    # <= 200k prompt tokens: $1.25 in / $10 out; above: $2.50 in / $15 out, for all tokens.
    assert short.cost_usd == pytest.approx((200_000 * 1.25 + 1000 * 10) / M, abs=1e-9)  # $0.26
    assert long.cost_usd == pytest.approx((200_001 * 2.50 + 1000 * 15) / M, abs=1e-9)  # $0.5150025


def test_price_depends_on_when_the_call_happened():
    # deepseek-chat in genai-prices: $0.27/$1.10 between 00:30 and 16:30 UTC, $0.135/$0.55 outside.
    usage = {"input_tokens": 10_000, "output_tokens": 2000}
    peak = price("openai_compatible", "deepseek-chat", usage, host="api.deepseek.com",
                 at=datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
    night = price("openai_compatible", "deepseek-chat", usage, host="api.deepseek.com",
                  at=datetime(2026, 11, 1, 20, 0, tzinfo=UTC))
    assert peak.cost_usd == pytest.approx((10_000 * 0.27 + 2000 * 1.10) / M, abs=1e-9)
    assert night.cost_usd == pytest.approx((10_000 * 0.135 + 2000 * 0.55) / M, abs=1e-9)


# --- openai-compatible hosts map to their own price lists ----------------------------------------


def test_openai_compatible_host_picks_the_sellers_prices():
    usage = {"input_tokens": 1000, "output_tokens": 500}
    groq = price("openai_compatible", "llama-3.3-70b-versatile", usage, host="api.groq.com")
    assert groq.cost_usd == pytest.approx((1000 * 0.59 + 500 * 0.79) / M, abs=1e-9)
    router = price("openai_compatible", "openai/gpt-4o-mini", usage, host="openrouter.ai")
    assert router.cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / M, abs=1e-9)
    assert router.priced_model == "openai/gpt-4o-mini"


def test_unknown_host_or_model_is_null_never_zero():
    usage = {"input_tokens": 1000, "output_tokens": 500}
    local = price("openai_compatible", "llama-3.3-70b-versatile", usage, host="localhost:8000")
    assert local.cost_usd is None and local.priced_model is None
    unknown = price("openai", "my-finetune-that-does-not-exist", usage)
    assert unknown.cost_usd is None
    assert "unpriced" in unknown.source
    assert price("openai", None, usage).cost_usd is None


def test_missing_usage_is_unpriced_but_zero_usage_is_free():
    assert price("openai", "gpt-4o", {}).cost_usd is None
    assert price("openai", "gpt-4o", {"input_tokens": None, "output_tokens": None}).cost_usd is None
    assert price("openai", "gpt-4o", {"input_tokens": 0, "output_tokens": 0}).cost_usd == 0


def test_impossible_usage_is_reported_not_raised():
    # More cache reads than input tokens: a parser bug upstream. The writer process must survive it.
    result = price("openai", "gpt-4o", {"input_tokens": 10, "cache_read_tokens": 100, "output_tokens": 5})
    assert result.cost_usd is None
    assert "unpriced" in result.source


# --- batch, flex, priority -----------------------------------------------------------------------


def test_flex_and_batch_are_half_price():
    usage = {"input_tokens": 1000, "output_tokens": 500}
    standard = (1000 * 2.50 + 500 * 10) / M
    flex = price("openai", "gpt-4o", usage, request={"model": "gpt-4o", "service_tier": "flex"})
    assert flex.cost_usd == pytest.approx(standard / 2, abs=1e-9)
    assert "flex" in flex.source
    # Anthropic's Message Batches results report the tier inside usage.
    batch = price("anthropic", "claude-3-5-haiku-20241022", {"input_tokens": 1000, "output_tokens": 500},
                  response={"usage": {"service_tier": "batch"}})
    assert batch.cost_usd == pytest.approx((1000 * 0.80 + 500 * 4.00) / M / 2, abs=1e-9)
    # Vertex reports flex traffic as usageMetadata.trafficType.
    vertex = price("gemini", "gemini-2.5-flash", {"input_tokens": 1000, "output_tokens": 500},
                   response={"usageMetadata": {"trafficType": "ON_DEMAND_FLEX"}})
    assert vertex.cost_usd == pytest.approx((1000 * 0.30 + 500 * 2.50) / M / 2, abs=1e-9)


def test_response_tier_wins_over_the_request():
    usage = {"input_tokens": 1000, "output_tokens": 500}
    # Asked for "flex" but the response says it ran on the default tier: full price.
    result = price("openai", "gpt-4o", usage, request={"service_tier": "flex"}, response={"service_tier": "default"})
    assert result.cost_usd == pytest.approx((1000 * 2.50 + 500 * 10) / M, abs=1e-9)
    assert result.source == GENAI_PRICES


def test_a_tier_without_a_known_price_is_billed_standard_and_says_so():
    # Groq's flex tier costs the same as on-demand: the first-party half-price rule must not apply,
    # and the data has no Groq tier prices. llama-3.3-70b-versatile: $0.59 in / $0.79 out per million.
    usage = {"input_tokens": 1000, "output_tokens": 500}
    for tier in ("flex", "priority"):
        result = price("openai_compatible", "llama-3.3-70b-versatile", usage, host="api.groq.com",
                       request={"service_tier": tier})
        assert result.cost_usd == pytest.approx((1000 * 0.59 + 500 * 0.79) / M, abs=1e-12)
        assert tier in result.source and "standard price" in result.source


# --- a stream costs what its non-streamed twin costs ---------------------------------------------


def _sse_events(path: Path) -> list[dict]:
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            events.append(json.loads(line[5:]))
    return events


def test_anthropic_stream_priced_like_its_non_streamed_twin():
    events = _sse_events(STREAMS / "anthropic_messages/sdk_tool_use_get_weather.sse")
    start = next(e for e in events if e["type"] == "message_start")["message"]
    final_delta = [e for e in events if e["type"] == "message_delta"][-1]
    # In a stream, input and cache counts come in message_start; output_tokens in message_delta is cumulative.
    streamed_usage = {**start["usage"], **{k: v for k, v in final_delta["usage"].items() if v is not None}}
    streamed = price("anthropic", start["model"], anthropic_usage(streamed_usage))
    # The non-streamed twin's usage, from the fixture's MANIFEST (expected_final).
    twin = price("anthropic", start["model"], anthropic_usage(
        {"input_tokens": 377, "output_tokens": 65, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}))
    assert streamed == twin
    assert twin.cost_usd == pytest.approx((377 * 3 + 65 * 15) / M, abs=1e-9)  # claude-sonnet-4: $0.002106


def test_openai_chat_stream_priced_like_its_non_streamed_twin():
    events = _sse_events(STREAMS / "openai_chat/gpt5_text_then_moderation_chunk.sse")
    usage_chunk = next(e for e in events if e.get("usage"))
    streamed = price("openai", usage_chunk["model"], openai_chat_usage(usage_chunk["usage"]),
                     response={"service_tier": usage_chunk["service_tier"]})
    twin_body = {"model": "gpt-5-2025-08-07", "service_tier": "default",
                 "usage": {"prompt_tokens": 13, "completion_tokens": 11,
                           "prompt_tokens_details": {"cached_tokens": 0},
                           "completion_tokens_details": {"reasoning_tokens": 0}}}
    twin = price("openai", twin_body["model"], openai_chat_usage(twin_body["usage"]), response=twin_body)
    assert streamed == twin
    assert twin.cost_usd == pytest.approx((13 * 1.25 + 11 * 10) / M, abs=1e-12)  # gpt-5: $0.00012625


# --- overrides (R4U_HOME/prices.toml) -----------------------------------------------------------


def write_prices(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_override_prices_a_private_model_by_host(tmp_path):
    pricing.configure(write_prices(tmp_path, """
[[model]]
match = "llama-3.1-70b*"
host = "llm.internal.example"
name = "internal-llama-70b"
input = 0.60
output = 0.80
cache_read = 0.06
"""))
    usage = {"input_tokens": 3000, "cache_read_tokens": 1000, "output_tokens": 400}
    hit = price("openai_compatible", "Llama-3.1-70B-Instruct", usage, host="llm.internal.example")
    assert hit.cost_usd == pytest.approx((2000 * 0.60 + 1000 * 0.06 + 400 * 0.80) / M, abs=1e-12)
    assert hit.priced_model == "internal-llama-70b"
    assert hit.source == f"override:{tmp_path / 'prices.toml'}"
    # Same model name on another host: not this override, and unknown to genai-prices.
    assert price("openai_compatible", "llama-3.1-70b-instruct", usage, host="other.example").cost_usd is None


def test_override_wins_over_genai_prices_and_can_target_a_tier(tmp_path):
    pricing.configure(write_prices(tmp_path, """
[[model]]
match = "gpt-4o"
service_tier = "priority"
input = 4.25
output = 17.00
"""))
    usage = {"input_tokens": 1000, "output_tokens": 500}
    priority = price("openai", "gpt-4o", usage, response={"service_tier": "priority"})
    assert priority.cost_usd == pytest.approx((1000 * 4.25 + 500 * 17) / M, abs=1e-12)
    standard = price("openai", "gpt-4o", usage, response={"service_tier": "default"})
    assert standard.cost_usd == pytest.approx((1000 * 2.50 + 500 * 10) / M, abs=1e-12)
    assert standard.source == GENAI_PRICES


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("[[model]]\nmatch = 'x'\noutput = 1\n", "`input` is required"),
        ("[[model]]\nmatch = 'x'\ninput = -1\noutput = 1\n", "negative"),
        ("[[model]]\nmatch = 'x'\ninput = 1\noutput = 1\ninptu = 2\n", "unknown keys"),
        ("[[model]\n", "prices.toml"),
    ],
)
def test_broken_prices_file_is_refused_with_a_reason(tmp_path, text, complaint):
    with pytest.raises(PricesFileError, match=complaint):
        load_overrides(write_prices(tmp_path, text))


def test_missing_prices_file_means_no_overrides(tmp_path):
    assert load_overrides(tmp_path / "prices.toml").entries == ()


# --- a stored trace row ---------------------------------------------------------------------------


def test_price_row_falls_back_to_the_request_model_and_reads_the_tier_from_bodies():
    row = {
        "provider": "openai", "host": "api.openai.com",
        "response_model": "gpt-4o-internal-alias", "request_model": "gpt-4o",
        "input_tokens": 1000, "output_tokens": 500,
        "request_body": json.dumps({"model": "gpt-4o", "service_tier": "flex"}),
        "response_body": json.dumps({"service_tier": "flex"}),
        "started_at": "2026-11-27T04:17:14.123Z",
    }
    result = price_row(row)
    assert result.priced_model == "gpt-4o"
    assert result.cost_usd == pytest.approx((1000 * 2.50 + 500 * 10) / M / 2, abs=1e-12)


def test_price_row_survives_a_truncated_body():
    row = {"provider": "openai", "request_model": "gpt-4o", "input_tokens": 10, "output_tokens": 1,
           "request_body": '{"model": "gpt-4o", "messa', "response_body": None, "started_at": "garbage"}
    assert price_row(row).cost_usd == pytest.approx((10 * 2.50 + 1 * 10) / M, abs=1e-12)


# --- every recorded stream vs its reassembled non-streamed twin, through r4u's own parsers ---------

_ENDPOINTS = {
    "openai_chat": ("api.openai.com", "/v1/chat/completions"),
    "openai_responses": ("api.openai.com", "/v1/responses"),
    "anthropic_messages": ("api.anthropic.com", "/v1/messages"),
    "gemini": ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:{method}"),
}


def _exchange(host: str, path: str, request: dict, content_type: str, body: bytes) -> dict:
    now = datetime.now(tz=UTC).timestamp()
    return {
        "id": "t", "project": None, "client": "127.0.0.1:1", "method": "POST", "scheme": "https", "host": host,
        "port": 443, "path": path, "query": "", "request_headers": [("content-type", "application/json")],
        "request_body": json.dumps(request).encode(), "t_sent": now, "status_code": 200,
        "response_headers": [("content-type", content_type)], "chunks": [(now + 0.1, body)],
        "response_bytes": len(body), "truncated": False, "t_end": now + 0.2, "error": None,
    }


def _priced(route, host: str, request: dict, parsed: dict) -> pricing.Price:
    row = {"provider": route.provider, "host": host, "request_body": json.dumps(request),
           "started_at": "2026-11-27T04:00:00.000Z", **parsed}
    return price_row(row)


def test_every_fixture_stream_costs_what_its_non_streamed_twin_costs():
    from r4u_proxy.ingest.parse import analyze
    from r4u_proxy.providers import route as find_route

    compared = priced = 0
    for fixture in sorted(STREAMS.glob("*/*.sse")):
        if fixture.parent.name not in _ENDPOINTS:
            continue
        host, path = _ENDPOINTS[fixture.parent.name]
        request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        stream_path = path.format(method="streamGenerateContent")
        streamed = analyze(find_route(host, stream_path), _exchange(
            host, stream_path, {**request, "stream": True}, "text/event-stream", fixture.read_bytes()))
        if not streamed.get("response_body") or streamed.get("input_tokens") is None:
            continue  # a stream that ended before reporting usage has no twin to compare
        twin_path = path.format(method="generateContent")
        twin_route = find_route(host, twin_path)
        twin = analyze(twin_route, _exchange(
            host, twin_path, request, "application/json", streamed["response_body"].encode()))
        stream_price = _priced(twin_route, host, request, streamed)
        assert stream_price == _priced(twin_route, host, request, twin), fixture.name
        compared += 1
        priced += stream_price.cost_usd is not None
    # Guards against a vacuous pass: most fixtures report usage for models genai-prices knows.
    assert compared >= 60 and priced >= 55, (compared, priced)


def test_anthropic_one_hour_cache_writes_cost_twice_the_input_price():
    usage = {"input_tokens": 100, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 0,
             "output_tokens": 200, "cache_creation": {"ephemeral_5m_input_tokens": 1000,
                                                      "ephemeral_1h_input_tokens": 2000}}
    row = {"provider": "anthropic", "host": "api.anthropic.com", "response_model": "claude-sonnet-4-20250514",
           **anthropic_usage(usage), "response_body": json.dumps({"usage": usage})}
    # claude-sonnet-4: $3 input, $3.75 5-minute cache write (1.25x), 1-hour write 2 x $3 = $6, $15 output.
    expected = (100 * 3 + 1000 * 3.75 + 2000 * 6 + 200 * 15) / M
    assert expected == pytest.approx(0.01905)
    assert price_row(row).cost_usd == pytest.approx(expected, abs=1e-12)
