"""Prices are current on every supported Python, and every unpriced call says why.

On Python 3.11 genai-prices is held at 0.0.61; r4u loads the newest release's data (its snapshot) into it.
tests/data/genai_prices_reference.json holds what that newest release itself charges for every model
(written by `make update-prices` on 3.12 with that release): the same suite on 3.11 and on 3.12 must
price every model exactly so. Hand-worked figures below use the per-million prices in the snapshot.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
import pytest
from support.proxy import REPO

from r4u_proxy.pricing import snapshot
from r4u_proxy.pricing.prices import data_source, price, price_row
from r4u_proxy.reports.metrics import (
    NO_MODEL,
    NO_PRICE,
    NO_USAGE,
    PRICING_FAILED,
    stored_unpriced_reason,
    unpriced_source,
)

pytestmark = pytest.mark.usefixtures("no_price_overrides")

REFERENCE = json.loads((REPO / "tests" / "data" / "genai_prices_reference.json").read_text())
SNAPSHOT = json.loads(snapshot.SNAPSHOT_FILE.read_text())
M = 1_000_000
AT = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)




@pytest.fixture
def snapshot_in_force():
    """The snapshot's data whatever genai-prices is installed, so the comparison does not move when a newer
    release appears on PyPI."""
    snapshot.install_raw(SNAPSHOT["providers"], SNAPSHOT["genai_prices_version"], "r4u snapshot")
    yield
    snapshot.reset()


def _snapshot_prices(provider_id: str, model_id: str) -> dict:
    provider = next(p for p in SNAPSHOT["providers"] if p["id"] == provider_id)
    return next(m for m in provider["models"] if m["id"] == model_id)


def test_every_model_is_priced_as_the_newest_genai_prices_prices_it(snapshot_in_force):
    assert REFERENCE["genai_prices_version"] == SNAPSHOT["genai_prices_version"]
    at = datetime.fromisoformat(REFERENCE["priced_at"])
    compared, differ = 0, []
    for key, expected in REFERENCE["prices"].items():
        provider_id, model_id = key.split("/", 1)
        for usage, want in zip(REFERENCE["usages"], expected, strict=True):
            if want is None:
                continue
            calc = genai_prices.calc_price(
                genai_prices.Usage(**usage), model_id, provider_id=provider_id, genai_request_timestamp=at
            )
            compared += 1
            if calc.model.id != model_id or calc.total_price != Decimal(want):
                differ.append((key, usage["input_tokens"], want, str(calc.total_price), calc.model.id))
    assert not differ, (
        f"{len(differ)} prices differ from genai-prices {REFERENCE['genai_prices_version']}: {differ[:5]}"
    )
    assert compared > 4000, compared  # every model of the data, not a handful


def test_the_data_in_force_is_never_older_than_the_snapshot():
    data = snapshot.current()
    key = snapshot._version_key
    assert key(data.version) >= key(SNAPSHOT["genai_prices_version"])
    if key(genai_prices.__version__) < key(SNAPSHOT["genai_prices_version"]):  # Python 3.11: 0.0.61
        assert (
            data.origin == "r4u snapshot"
            and data_source() == f"genai-prices {SNAPSHOT['genai_prices_version']}"
        )


@pytest.mark.parametrize(
    ("provider", "model"),
    [("anthropic", "claude-opus-4-8"), ("gemini", "gemini-3.5-flash-lite")],  # today's agents' defaults
)
def test_todays_agent_defaults_are_priced(provider, model):
    entry = _snapshot_prices({"anthropic": "anthropic", "gemini": "google"}[provider], model)["prices"]
    usage = {"input_tokens": 12_000, "cache_read_tokens": 10_000, "output_tokens": 800}
    expected = (
        2_000 * float(entry["input_mtok"])
        + 10_000 * float(entry["cache_read_mtok"])
        + 800 * float(entry["output_mtok"])
    ) / M
    result = price(provider, model, usage, at=AT)
    assert result.cost_usd == pytest.approx(expected)
    assert result.priced_model == model and result.source == data_source()


def test_a_flex_call_pays_the_datas_flex_price_on_every_python():
    # gpt-5-mini's flex variant (from 2026-10-12): $0.125 in, $0.0125 cache read, $1 out per million.
    result = price(
        "openai", "gpt-5-mini", {"input_tokens": 10_000, "output_tokens": 1_000}, tier="flex", at=AT
    )
    assert result.cost_usd == pytest.approx((10_000 * 0.125 + 1_000 * 1) / M)
    assert result.source == f"{data_source()} (flex price)"
    priority = price(
        "openai", "gpt-5-mini", {"input_tokens": 10_000, "output_tokens": 1_000}, tier="priority", at=AT
    )
    assert priority.cost_usd == pytest.approx((10_000 * 0.45 + 1_000 * 3.6) / M)


def test_a_batch_call_pays_the_datas_batch_price():
    # claude-opus-4-8 batch (from 2026-10-14): $2.5 in, $12.5 out.
    result = price(
        "anthropic", "claude-opus-4-8", {"input_tokens": 1_000, "output_tokens": 100}, tier="batch", at=AT
    )
    assert result.cost_usd == pytest.approx((1_000 * 2.5 + 100 * 12.5) / M)
    assert result.source == f"{data_source()} (batch price)"


def test_every_unpriced_call_says_why():
    no_model = price_row({"provider": "openai", "input_tokens": 10, "output_tokens": 5})
    no_usage = price("openai", "gpt-4o", {})
    unknown = price(
        "openai_compatible", "my-private-llama", {"input_tokens": 10, "output_tokens": 5}, host="localhost"
    )
    unknown_without_usage = price("openai_compatible", "my-private-llama", {}, host="localhost")
    failed = price("openai", "gpt-4o", {"input_tokens": 10, "output_tokens": 5, "cache_read_tokens": 50})
    assert (no_model.cost_usd, no_model.source) == (None, unpriced_source(NO_MODEL))
    assert (no_usage.cost_usd, no_usage.priced_model, no_usage.source) == (None, "gpt-4o", unpriced_source(NO_USAGE))
    assert unknown.cost_usd is None and unknown.source.startswith(unpriced_source(NO_PRICE))
    assert "'my-private-llama'" in unknown.source and data_source() in unknown.source
    assert unknown_without_usage.source == unpriced_source(NO_USAGE)  # nothing to price comes first
    assert failed.cost_usd is None and failed.source.startswith(unpriced_source(PRICING_FAILED))
    assert [stored_unpriced_reason(p.source) for p in (no_model, no_usage, unknown, failed)] == [
        NO_MODEL, NO_USAGE, NO_PRICE, PRICING_FAILED]  # fmt: skip
    assert stored_unpriced_reason(price("openai", "gpt-4o", {"input_tokens": 1, "output_tokens": 1}).source) is None


def test_a_model_with_no_token_price_is_unpriced_not_free():
    # Models the data prices only per request, image or search: tokens are not free, their price is unknown.
    model = next(
        (p["id"], m["id"])
        for p in SNAPSHOT["providers"]
        for m in p["models"]
        if isinstance(m["prices"], dict)
        and m["prices"]
        and not {"input_mtok", "output_mtok"} & set(m["prices"])
        and p["id"] == "openai"
    )
    calc_price = price("openai", model[1], {"input_tokens": 1000, "output_tokens": 1000}, at=AT)
    assert calc_price.cost_usd is None and stored_unpriced_reason(calc_price.source) == NO_PRICE
