"""`r4u insights` on a seeded database whose answers are worked out by hand (tests/support/insights_seed.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.insights_seed import chat_body, seed

from r4u_proxy.cli import main
from r4u_proxy.pricing.prices import price
from r4u_proxy.reports.insights import collect_insights
from r4u_proxy.reports.insights.prefixes import cache_minimum
from r4u_proxy.reports.insights.repeats import body_fingerprint
from r4u_proxy.reports.insights.whatif import WHAT_IF_MODELS
from r4u_proxy.store.migrations import open_db


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("insights") / "traces.db"
    return path, seed(path)


def test_fingerprint_ignores_delivery_keys_and_key_order():
    plain = chat_body("m", "x")
    assert body_fingerprint(plain) == body_fingerprint(
        chat_body("m", "x", stream=True, user="u", metadata={})
    )
    assert body_fingerprint(plain) == body_fingerprint(json.dumps({"messages": [{"content": "x", "role": "user"}],
                                                                   "model": "m"}))  # fmt: skip
    assert body_fingerprint(plain) != body_fingerprint(chat_body("m", "x", temperature=0))
    assert body_fingerprint("not json") != body_fingerprint("not json ")


def test_repeated_requests_and_what_a_cache_would_save(seeded):
    path, ids = seeded
    repeats = collect_insights(path, "7d").repeats
    by_model = {g.model: g for g in repeats.groups}
    assert set(by_model) == {"gpt-4o-mini", "my-llama"}
    france = by_model["gpt-4o-mini"]
    assert france.count == 3  # the failed call and the other questions are not repeats
    assert france.saving_usd == pytest.approx(0.02 + 0.03)  # every call but the first
    assert france.example_trace_id == ids["repeat_first"]
    assert france.first_seen < france.last_seen
    llama = by_model["my-llama"]
    assert (llama.count, llama.saving_usd, llama.unpriced_repeats) == (2, None, 1)
    assert repeats.repeated_calls == 3
    assert repeats.saving_usd == pytest.approx(0.05)
    assert repeats.groups[0].model == "gpt-4o-mini"  # most saving first


def test_window_and_limit(seeded):
    path, _ = seeded
    everything = collect_insights(path, None).repeats
    assert everything.repeated_calls == 4  # the two old identical calls count too
    assert everything.saving_usd == pytest.approx(0.55)
    assert everything.groups[0].model == "gpt-4o"
    assert len(collect_insights(path, None, limit=1).repeats.groups) == 1


def test_stable_prefix_without_cache_reads_is_flagged_with_its_saving(seeded):
    path, _ = seeded
    prefixes = collect_insights(path, "7d").prefixes
    by_task = {f.task_id: f for f in prefixes}
    assert set(by_task) == {"support", "legacy"}  # "cached" reads the cache; "short" is under 1,024
    support = by_task["support"]
    assert support.prefix_chars == 4000
    assert support.prefix_tokens == 2000
    assert support.cache_minimum == 1024
    assert (support.calls, support.warm_calls) == (4, 2)
    # 2 warm calls x 2,000 tokens x ($3.00 - $0.30) per million
    assert support.saving_usd == pytest.approx(2 * 2000 * 2.70 / 1e6)
    assert "cache_control" in support.note
    legacy = by_task["legacy"]
    assert legacy.saving_usd is None and "no cache-read price" in legacy.note
    assert prefixes[0].task_id == "support"


def test_cache_minimums_by_provider_and_model():
    assert cache_minimum("openai", "gpt-4o") == 1024
    assert cache_minimum("anthropic", "claude-sonnet-4-20250514") == 1024
    assert cache_minimum("anthropic", "claude-3-5-haiku-latest") == 2048
    assert cache_minimum("anthropic", "claude-haiku-4-5") == 4096
    assert cache_minimum("gemini", "gemini-2.5-pro") == 2048
    assert cache_minimum("gemini", "gemini-2.5-flash") == 1024


def test_what_if_prices_the_same_tokens_at_other_models(seeded):
    path, _ = seeded
    what_if = collect_insights(path, "7d").what_if
    assert "not a quality comparison" in what_if.label
    top = what_if.tasks[0]
    assert top.task_id == "summaries" and top.template == "Summarise {doc}"
    assert (top.calls, top.actual_usd, top.input_tokens, top.output_tokens) == (3, 3.0, 3000, 1000)
    # gpt-4.1: 2 x (1,000 x 2.00 + 500 x 8.00) + 1,000 cached x 0.50, per million
    assert top.cost_at["gpt-4.1"] == pytest.approx((2 * (2000 + 4000) + 500) / 1e6)
    # gpt-4.1-mini: 2 x (1,000 x 0.40 + 500 x 1.60) + 1,000 cached x 0.10
    assert top.cost_at["gpt-4.1-mini"] == pytest.approx((2 * (400 + 800) + 100) / 1e6)
    # claude-sonnet-4: 2 x (1,000 x 3.00 + 500 x 15.00) + 1,000 cached x 0.30
    assert top.cost_at["claude-sonnet-4"] == pytest.approx((2 * (3000 + 7500) + 300) / 1e6)
    assert [t.task_id for t in what_if.tasks] == ["summaries", "support", "cached", "short", "legacy"]


def test_every_what_if_model_has_a_price():
    tiers = {m.tier for m in WHAT_IF_MODELS}
    assert tiers == {"frontier", "mid", "small"}
    for m in WHAT_IF_MODELS:
        result = price(m.provider, m.model, {"input_tokens": 1000, "output_tokens": 1000})
        assert result.cost_usd and result.cost_usd > 0, (m, result.source)


def test_cli_prints_the_three_sections(seeded):
    path, ids = seeded
    result = CliRunner().invoke(main, ["insights", "--db", str(path), "--since", "7d"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "3 repeated calls, $0.0500" in out
    france = next(line for line in out.splitlines() if ids["repeat_first"] in line)
    assert france.split()[:4] == ["gpt-4o-mini", ids["repeat_first"], "3", "$0.0500"]
    support = next(line for line in out.splitlines() if line.startswith("support"))
    assert support.split()[:7] == ["support", "claude-sonnet-4", "4", "2", "2,000", "0%", "$0.0108"]
    assert "price arithmetic on the same token counts — not a quality comparison" in out
    summaries = next(line for line in out.splitlines() if line.startswith("summaries"))
    assert "$3.0000" in summaries and "$0.0125" in summaries  # actual, and gpt-4.1's figure


def test_cli_json_and_errors(seeded, tmp_path):
    path, _ = seeded
    result = CliRunner().invoke(main, ["insights", "--db", str(path), "--json", "--limit", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["since"] is None
    assert data["repeats"]["repeated_calls"] == 4 and len(data["repeats"]["groups"]) == 1
    assert data["prefixes"][0]["task_id"] == "support"
    assert data["what_if"]["tasks"][0]["cost_at"]["gpt-4.1"] == pytest.approx(0.0125)

    bad = CliRunner().invoke(main, ["insights", "--db", str(path), "--since", "yesterday-ish"])
    assert bad.exit_code == 2 and "--since" in bad.output
    missing = CliRunner().invoke(main, ["insights", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "no traces yet" in missing.output


def test_empty_database_says_so(tmp_path):
    path = tmp_path / "traces.db"
    open_db(path).close()
    result = CliRunner().invoke(main, ["insights", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "none: no two successful calls sent the same request" in result.output
    assert "none: no tasks yet" in result.output
